"""The web archive in a real headless Chromium: navigation down to a highlighted log line, the
live view fed by a real bot on a real ngircd, the hostile meeting inert, no console errors."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.botproc import BotProcess, wait_for
from tests.browser import (
    LAPTOP,
    PHONE,
    chromium,
    config_file,
    console_errors,
    page_kinds,
    viewport,
    web_process,
)
from tests.ircserver import Ngircd, RawClient
from tests.talkers import meeting_ids
from tests.webkit import Archive

CHANNEL = "#web-live"


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chrome = chromium(tmp_path_factory.mktemp("profile"))
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="module")
def site(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("web")
    with web_process(config_file(archive.settings, work), work / "web.log") as base:
        yield base


def click(driver: webdriver.Chrome, css: str) -> None:
    driver.find_element(By.CSS_SELECTOR, css).click()


def same_origin_only(driver: webdriver.Chrome, base: str) -> list[str]:
    """Every resource the page loaded that did not come from `base`'s origin."""
    loaded: list[str] = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);"
    )
    origin = urlsplit(base)
    return [
        u
        for u in loaded
        if not u.startswith("data:") and urlsplit(u)[:2] != (origin.scheme, origin.netloc)
    ]


def test_home_to_a_highlighted_log_line(
    driver: webdriver.Chrome, site: str, archive: Archive
) -> None:
    viewport(driver, LAPTOP)
    console_errors(driver)
    driver.get(site + "/")
    click(driver, 'table.series a[href="/series/net/heat"]')
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith("/series/net/heat"))
    click(driver, f'ul.meetings a.title[href="/meeting/{archive.heat[1]}"]')
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith(f"/meeting/{archive.heat[1]}"))
    ref = driver.find_element(By.CSS_SELECTOR, "ol.items li a.ref")
    target = ref.get_attribute("href")
    assert target is not None and "/log#l-" in target
    ref.click()
    WebDriverWait(driver, 10).until(lambda d: "/log#l-" in d.current_url)
    anchor = target.rsplit("#", 1)[1]
    targeted = driver.execute_script("return document.querySelector(':target').id")
    assert targeted == anchor
    line = driver.find_element(By.ID, anchor)
    other = driver.find_element(By.ID, "l-1")
    assert "bob to write docs 1" in line.text
    assert line.value_of_css_property("background-color") != other.value_of_css_property(
        "background-color"
    )
    assert console_errors(driver) == []


def test_search_with_a_filter_to_the_highlighted_line(
    driver: webdriver.Chrome, site: str, archive: Archive
) -> None:
    viewport(driver, LAPTOP)
    console_errors(driver)
    driver.get(site + "/")
    box = driver.find_element(By.CSS_SELECTOR, "form.search input[name=q]")
    box.send_keys("docs series:nova sort:old")
    box.submit()
    WebDriverWait(driver, 10).until(lambda d: "/search?q=" in d.current_url)
    results = driver.find_elements(By.CSS_SELECTOR, "ol.results li.result")
    assert len(results) == 2
    assert (
        "bob to write docs 90" in results[0].text
        and "docs" in results[0].find_element(By.TAG_NAME, "mark").text
    )
    link = results[0].find_element(By.CSS_SELECTOR, "a.permalink")
    target = link.get_attribute("href")
    assert target is not None and f"/meeting/{archive.nova[0]}/log#l-" in target
    link.click()
    WebDriverWait(driver, 10).until(lambda d: "/log#l-" in d.current_url)
    anchor = target.rsplit("#", 1)[1]
    assert driver.execute_script("return document.querySelector(':target').id") == anchor
    line = driver.find_element(By.ID, anchor)
    assert "bob to write docs 90" in line.text
    assert line.value_of_css_property("background-color") != driver.find_element(
        By.ID, "l-1"
    ).value_of_css_property("background-color")
    assert console_errors(driver) == []


def test_every_page_kind_without_console_errors(
    driver: webdriver.Chrome, site: str, archive: Archive, tmp_path: Path
) -> None:
    for name, url in page_kinds(archive).items():
        for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
            viewport(driver, size)
            console_errors(driver)
            driver.get(site + url)
            WebDriverWait(driver, 10).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )
            errors = console_errors(driver)
            if name == "missing":  # the 404 itself is reported by the console, nothing else
                errors = [e for e in errors if "404" not in e["message"]]
            assert errors == [], (name, label, errors)
            assert driver.find_element(By.CSS_SELECTOR, "form.search input[name=q]")
            # Nothing is wider than the screen: a phone never scrolls sideways.
            width = driver.execute_script("return document.documentElement.scrollWidth")
            assert width <= size[0], (name, label, width)
            shot = tmp_path / f"{name}-{label}.png"
            driver.save_screenshot(str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hostile_meeting_runs_no_script_and_loads_nothing_foreign(
    driver: webdriver.Chrome, site: str, archive: Archive
) -> None:
    viewport(driver, LAPTOP)
    # A #success said in the hostile meeting shows its payload on /successes too.
    for path in (f"/meeting/{archive.hostile}", f"/meeting/{archive.hostile}/log", "/successes"):
        console_errors(driver)
        driver.get(f"{site}{path}")
        WebDriverWait(driver, 10).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        time.sleep(0.3)  # an onerror or onload payload would have run by now
        assert driver.execute_script("return typeof window.__pwned") == "undefined"
        assert driver.execute_script("return document.scripts.length") == 0
        assert driver.find_elements(By.CSS_SELECTOR, "main img, main iframe, main svg") == []
        assert same_origin_only(driver, site) == []
        assert console_errors(driver) == []
        assert (
            "<script>window.__pwned = 1</script>" in driver.find_element(By.TAG_NAME, "main").text
        )


async def _say_and_wait(
    people: dict[str, RawClient], observer: RawClient, nick: str, text: str
) -> float:
    await people[nick].say(CHANNEL, text)
    await observer.expect(f":{nick}!", timeout=5)
    return time.monotonic()


async def test_live_view_follows_a_real_meeting(
    driver: webdriver.Chrome, ircd: Ngircd, tmp_path: Path
) -> None:
    people: dict[str, RawClient] = {}
    for nick in ("alice", "bob", "observer"):
        people[nick] = await RawClient.connect(ircd.host, ircd.port, nick)
        await people[nick].join(CHANNEL)
    observer = people["observer"]
    bot = BotProcess(tmp_path / "bot", ircd.port, channels=[CHANNEL])
    bot.start()
    try:
        await observer.expect(re.compile(rf"^:{bot.nick}!\S+ JOIN :?{CHANNEL}"), timeout=20)
        await _say_and_wait(people, observer, "alice", "#startmeeting webtest")
        await observer.expect(f":{bot.nick}!", timeout=10)
        assert wait_for(lambda: bot.database.exists() and meeting_ids(bot.database) != [], 10)
        (meeting_id,) = meeting_ids(bot.database)
        settings_dir = tmp_path / "web"
        settings_dir.mkdir()
        config = settings_dir / "web.toml"
        config.write_text(bot.config.read_text(encoding="utf-8"), encoding="utf-8")
        with web_process(config, settings_dir / "web.log") as base:
            viewport(driver, LAPTOP)
            console_errors(driver)
            driver.get(f"{base}/meeting/{meeting_id}/live")
            WebDriverWait(driver, 10).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )
            time.sleep(0.5)  # the event stream is open
            said = await _say_and_wait(people, observer, "bob", "hello from a real IRC client")
            WebDriverWait(driver, 2, poll_frequency=0.05).until(
                lambda d: "hello from a real IRC client" in d.find_element(By.ID, "log").text
            )
            seen_after = time.monotonic() - said
            print(f"live view: line shown {seen_after:.3f} s after the channel saw it")
            assert seen_after < 2.0
            await _say_and_wait(people, observer, "bob", "#action bob to try the live view")
            WebDriverWait(driver, 2, poll_frequency=0.05).until(
                lambda d: "bob to try the live view" in d.find_element(By.ID, "live-items").text
            )
            await _say_and_wait(people, observer, "alice", "#endmeeting")
            WebDriverWait(driver, 10, poll_frequency=0.1).until(
                lambda d: d.current_url == f"{base}/meeting/{meeting_id}"
            )
            WebDriverWait(driver, 5).until(lambda d: d.find_elements(By.CSS_SELECTOR, "ol.summary"))
            assert "bob to try the live view" in driver.find_element(By.TAG_NAME, "main").text
            assert console_errors(driver) == []
    finally:
        for client in people.values():
            await client.close()
        bot.stop()

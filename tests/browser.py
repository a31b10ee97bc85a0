"""Browser-test helpers: a real headless Chromium (Debian's `chromium` and `chromium-driver`)
driven by Selenium, and `gavel web` as a separate process on a free loopback port.

Chromium starts with a fresh profile in a temporary directory and with its background
networking off, so the only requests it makes are the pages' own. Every wait is bounded;
only the processes started here are stopped, by pid.

`python -m tests.browser DIR` writes screenshots of every page kind, at a laptop's and a
phone's width, of the test archive into DIR (how docs/screenshots were made).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from bot.settings import Settings
from tests.botproc import ROOT
from tests.ircserver import free_port, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LAPTOP = (1280, 800)
PHONE = (390, 844)


def chromium(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={LAPTOP[0]},{LAPTOP[1]}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    return driver


def viewport(driver: webdriver.Chrome, size: tuple[int, int]) -> None:
    """Show pages at exactly `size` CSS pixels; a phone's width also as a mobile viewport."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def console_errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The console's errors since the last call."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def config_file(settings: Settings, directory: Path) -> Path:
    """A configuration file for `gavel web` reading `settings`' database and output."""
    table: dict[str, list[str]] = {}
    for alias, series in settings.archive.aliases.canonical_of.items():
        table.setdefault(series, []).append(alias)
    alias_lines = ", ".join(
        f"{series} = [{', '.join(repr(a) for a in names)}]" for series, names in table.items()
    )
    network = settings.networks[0]
    channels = ", ".join(
        f'{{ name = "{c.name}"{", private = true" if c.private else ""} }}'
        for c in network.channels
    )
    private_dir = settings.output.private_dir or (directory / "private")
    text = f"""[[networks]]
name = "{network.name}"
host = "127.0.0.1"
channels = [{channels}]
[output]
dir = "{settings.output.dir}"
private_dir = "{private_dir}"
url_prefix = "{settings.output.url_prefix}"
[storage]
path = "{settings.storage.path}"
[archive]
aliases = {{ {alias_lines} }}
[web]
title = "{settings.web.title}"
[logging]
format = "json"
"""
    path = directory / "web.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def web_server(config: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`gavel web --config CONFIG` on a free port; yields its base URL and its process."""
    port = free_port()
    argv = [sys.executable, "-m", "bot", "web", "--config", str(config)]
    process = start_server(
        [*argv, "--listen", f"127.0.0.1:{port}"], port, log, "gavel web", timeout=20
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextmanager
def web_process(config: Path, log: Path) -> Iterator[str]:
    """`gavel web --config CONFIG` on a free port; yields its base URL."""
    with web_server(config, log) as (base, _process):
        yield base


def page_kinds(archive: Any) -> dict[str, str]:
    """One URL of every page kind of the test archive, by a short name."""
    return {
        "home": "/",
        "series": "/series/net/heat",
        "meeting": f"/meeting/{archive.heat[1]}",
        "log": f"/meeting/{archive.heat[1]}/log#l-5",
        "live": f"/meeting/{archive.running}/live",
        "channel": "/channel/net/%23chan",
        "day": "/date/2024-05-02",
        "month": "/date/2024-05",
        "person": "/person/net/bob",
        "search": "/search?q=docs",
        "successes": "/successes",
        "thanks": "/thanks",
        "hostile": f"/meeting/{archive.hostile}",
        "missing": "/meeting/999999",
    }


def screenshots(out: Path) -> None:
    from tests.webkit import build_archive

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        archive = asyncio.run(build_archive(work, heat_count=3))
        config = config_file(archive.settings, work)
        driver = chromium(work / "profile")
        try:
            with web_process(config, work / "web.log") as base:
                for name, url in page_kinds(archive).items():
                    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
                        viewport(driver, size)
                        driver.get(base + url)
                        driver.save_screenshot(str(out / f"{name}-{label}.png"))
                viewport(driver, LAPTOP)
                for name in ("meeting", "log"):
                    driver.execute_cdp_cmd(
                        "Emulation.setEmulatedMedia",
                        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
                    )
                    driver.get(base + page_kinds(archive)[name])
                    driver.save_screenshot(str(out / f"{name}-dark.png"))
        finally:
            driver.quit()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    screenshots(Path(sys.argv[1]))

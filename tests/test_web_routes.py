"""Every URL of `gavel web` against a real SQLite archive filled through the core and the store:
content, status codes, pagination edges, redirects, 404 for what is not public, headers."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import aiosqlite
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.core.record import Gap
from bot.store import SCHEMA_VERSION, Store, StoreError
from bot.store.archive_reads import PER_PAGE, ArchiveReader
from bot.store.schema import MIGRATIONS, migrate
from bot.web.app import CACHE, CSP, make_app
from bot.web.cache import Cached
from bot.web.views import open_reader
from tests.corekit import Room
from tests.webkit import Archive, build_archive, page, record_gaps, well_formed


async def test_home_lists_running_latest_and_every_series(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    text = await page(client, "/")
    well_formed(text)
    assert "Running now" in text and f'href="/meeting/{archive.running}/live"' in text
    for mid in archive.heat:
        assert f'href="/meeting/{mid}"' in text
    assert 'href="/series/net/heat"' in text and 'href="/series/net/nova"' in text
    assert "nova_team" not in re.sub(r"<title>.*?</title>", "", text).split("Every series")[1]
    assert 'action="/search"' in text and 'name="q"' in text
    assert "cabal" not in text and "hidden" not in text


async def test_series_merges_aliases_newest_first(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    text = await page(client, "/series/net/nova")
    first, second = (text.index(f'href="/meeting/{mid}"') for mid in reversed(archive.nova))
    assert first < second  # newest first
    assert "also named nova_team" in text
    response = await client.get("/series/net/nova_team", allow_redirects=False)
    assert response.status == 301 and response.headers["Location"] == "/series/net/nova"


async def test_series_pagination_edges(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    body = json.loads(await page(client, "/api/v1/series/net/heat/meetings?per_page=2"))
    assert body["total"] == len(archive.heat) + 1 and body["pages"] == 2
    assert [m["id"] for m in body["meetings"]] == [archive.running, archive.heat[-1]]
    last = json.loads(await page(client, "/api/v1/series/net/heat/meetings?per_page=2&page=2"))
    assert [m["id"] for m in last["meetings"]] == [archive.heat[1], archive.heat[0]]
    await page(client, "/api/v1/series/net/heat/meetings?per_page=2&page=3", 404)
    for bad in ("page=0", "page=-1", "page=x", "per_page=101", "per_page=0"):
        error = json.loads(await page(client, f"/api/v1/series/net/heat/meetings?{bad}", 400))
        assert error["error"].endswith(".")
    html = await page(client, "/series/net/heat?page=1")
    assert "Page 1 of" not in html  # one page of 50: no pager
    text = await page(client, "/series/net/heat?page=abc", 400)
    assert "page must be a whole number from 1 to" in text
    await page(client, "/series/net/heat?page=2", 404)
    await page(client, "/series/net/nosuch", 404)


async def test_latest_redirects_to_the_newest(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    response = await client.get("/series/net/heat/latest", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == f"/meeting/{archive.running}"
    response = await client.get("/series/net/nova_team/latest", allow_redirects=False)
    assert response.headers["Location"] == f"/meeting/{archive.nova[-1]}"
    await page(client, "/series/net/hidden/latest", 404)


async def test_feeds_are_atom_of_finished_meetings(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    response = await client.get("/series/net/heat/feed.atom")
    assert response.content_type == "application/atom+xml"
    tree = ET.fromstring(await response.text())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = [e.findtext("a:id", namespaces=ns) for e in tree.findall("a:entry", ns)]
    assert [i.rsplit("/", 1)[1] for i in ids if i] == [str(m) for m in reversed(archive.heat)]
    everything = ET.fromstring(await page(client, "/feed.atom"))
    titles = " ".join(e.findtext("a:title", namespaces=ns) or "" for e in everything.iter())
    assert "nova" in titles and "cabal" not in titles and "hidden" not in titles
    await page(client, "/series/net/cabal/feed.atom", 404)


async def test_a_feed_never_gives_one_visitors_host_to_another(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """With no `[web] base_url` the feed's links come from the request's Host header, so
    such a feed is not kept for the next reader."""
    first = await client.get("/feed.atom", headers={"Host": "evil.example"})
    assert "http://evil.example/" in await first.text()
    second = await (await client.get("/feed.atom")).text()
    assert "evil.example" not in second


async def test_channel_page(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    text = await page(client, "/channel/net/%23chan")
    assert f'href="/meeting/{archive.nova[0]}"' in text
    assert f'href="/meeting/{archive.restricted}"' not in text
    await page(client, "/channel/net/%23CHAN")  # channel names are case-insensitive
    await page(client, "/channel/net/%23secret", 404)  # only private meetings there


async def test_day_and_month(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    text = await page(client, "/date/2024-05-01")
    assert f'href="/meeting/{archive.heat[0]}"' in text
    assert f'href="/meeting/{archive.heat[1]}"' not in text
    assert 'href="/date/2024-04-30"' in text and 'href="/date/2024-05-02"' in text
    month = await page(client, "/date/2024-05")
    well_formed(month)
    assert "May 2024" in month and 'href="/date/2024-04"' in month
    assert f'href="/meeting/{archive.hostile}"' in month
    assert f'href="/meeting/{archive.private}"' not in month
    assert "No meetings here." in await page(client, "/date/1999-01-01")
    for bad in ("2024-13", "2024-02-30", "20240501", "yesterday", "2024-5"):
        assert "is not a date" in await page(client, f"/date/{bad}", 400)


async def test_meeting_minutes(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    first, middle, last = archive.heat
    text = await page(client, f"/meeting/{middle}")
    well_formed(text)
    assert f'rel="prev" href="/meeting/{first}"' in text
    assert f'rel="next" href="/meeting/{last}"' in text
    assert "bob to write docs 1" in text
    # Every item links to its line in the log page.
    anchors = re.findall(rf'href="/meeting/{middle}/log#l-(\d+)"', text)
    assert len(anchors) >= 6
    log = await page(client, f"/meeting/{middle}/log")
    for n in anchors:
        assert f'id="l-{n}"' in log
    for ext in (".html", ".txt", ".log.html", ".log.txt", ".json"):
        assert (
            f'href="http://127.0.0.1:8080/meetings/heat/2024/heat.2024-05-02-14.00{ext}"'
            not in text
        )
    assert "People present" in text and 'href="/person/net/bob"' in text
    oldest = await page(client, f"/meeting/{first}")
    assert 'rel="prev"' not in oldest


async def test_meeting_links_its_five_files_once_published(tmp_path: Path) -> None:
    built = await build_archive(tmp_path, heat_count=1)
    store = await Store.open(built.path)
    base = await store.reserve_file_base(built.heat[0], "heat/2024/heat.2024-05-01-14.00")
    await store.mark_published(built.heat[0], datetime.now(UTC))
    assert base == "heat/2024/heat.2024-05-01-14.00"
    await store.close()
    reader = await open_reader(built.settings)
    async with TestClient(TestServer(make_app(built.settings, reader))) as test_client:
        text = await page(test_client, f"/meeting/{built.heat[0]}")
    await reader.close()
    for ext in (".html", ".txt", ".log.html", ".log.txt", ".json"):
        url = f"http://127.0.0.1:8080/meetings/heat/2024/heat.2024-05-01-14.00{ext}"
        assert f'href="{url}"' in text


async def test_log_has_an_anchor_per_line(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    text = await page(client, f"/meeting/{archive.heat[0]}/log")
    well_formed(text)
    numbers = [int(n) for n in re.findall(r'id="l-(\d+)"', text)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 10
    assert '<span class="cmd">#action</span>' in text
    assert '<span class="hi">alice:</span>' in text


AWAY = Gap(
    datetime(2024, 5, 1, 14, 0, 4, 500000, tzinfo=UTC),
    datetime(2024, 5, 1, 14, 3, 20, tzinfo=UTC),
    "restart",
)
LATE = Gap(
    datetime(2024, 5, 1, 14, 0, 10, 500000, tzinfo=UTC),
    datetime(2024, 5, 1, 14, 5, tzinfo=UTC),
    "kicked",
)


async def test_log_and_minutes_show_the_gaps_in_recording(tmp_path: Path) -> None:
    """Each gap is a line of its own at its place in the log, between the lines recorded
    before and after it, and a note in the minutes that links to it."""
    built = await build_archive(tmp_path, heat_count=2)
    gapped, whole = built.heat
    await record_gaps(built.path, gapped, LATE, AWAY)  # kept in any order, shown in time's
    reader = await open_reader(built.settings)
    async with TestClient(TestServer(make_app(built.settings, reader))) as test_client:
        log = await page(test_client, f"/meeting/{gapped}/log")
        minutes = await page(test_client, f"/meeting/{gapped}")
        whole_log = await page(test_client, f"/meeting/{whole}/log")
        whole_minutes = await page(test_client, f"/meeting/{whole}")
    await reader.close()
    well_formed(log)
    well_formed(minutes)
    away = (
        '<div class="line gap" id="gap-1"><a class="tm" href="#gap-1">14:00:04</a> '
        '<span class="gp">*** Gavel was not connected from 14:00:04 to 14:03:20; lines said '
        "meanwhile are missing</span></div>\n"
    )
    late = (
        '<div class="line gap" id="gap-2"><a class="tm" href="#gap-2">14:00:10</a> '
        '<span class="gp">*** Gavel was not connected from 14:00:10 to 14:05:00; lines said '
        "meanwhile are missing</span></div>\n"
    )
    # 14:00:04 is line 7's second, 14:00:05 line 8's; line 13 is the last, at 14:00:10.
    assert log.index('id="l-7"') < log.index(away) < log.index('id="l-8"')
    assert log.index('id="l-13"') < log.index(late) and late + "\n</div>" in log  # the last
    # The recorded lines keep their numbers: the minutes and search link to them.
    assert re.findall(r'id="l-(\d+)"', log) == [str(n) for n in range(1, 14)]
    notes = re.findall(r'<p class="notice gap">(.*?)</p>', minutes)
    assert notes == [
        f"Gavel was not connected from {span} UTC; lines said meanwhile are missing from the "
        f'log. <a href="/meeting/{gapped}/log#gap-{k}">See where in the log</a>.'
        for k, span in ((1, "14:00:04 to 14:03:20"), (2, "14:00:10 to 14:05:00"))
    ]
    assert minutes.index("<h2>Summary</h2>") < minutes.index(notes[0])
    assert minutes.index(notes[1]) < minutes.index("<h2>Action items</h2>")
    for text in (whole_log, whole_minutes):
        assert "not connected" not in text and "gap-" not in text


async def test_not_public_is_404_like_missing(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    missing = await page(client, "/meeting/999999", 404)
    for mid in (archive.restricted, archive.private, archive.legacy_private):
        for suffix in ("", "/log", "/live", "/events"):
            assert await page(client, f"/meeting/{mid}{suffix}", 404) == missing
        await page(client, f"/api/v1/meeting/{mid}", 404)
    await page(client, "/meeting/abc", 404)
    await page(client, "/series/net/hidden", 404)
    await page(client, "/series/net/cabal", 404)
    series = json.loads(await page(client, "/api/v1/series"))
    assert {s["name"] for s in series["series"]} == {"heat", "nova", "hostile"}
    person = await page(client, "/person/net/bob")
    assert "cabal" not in person and "secret plans" not in person


async def test_a_channel_configured_private_hides_its_older_meetings(archive: Archive) -> None:
    unconfigured = await ArchiveReader.open(archive.path, archive.settings.archive.aliases)
    configured = await open_reader(archive.settings)
    try:
        assert (await unconfigured.meeting(archive.legacy_private)) is not None
        assert (await configured.meeting(archive.legacy_private)) is None
        assert (await configured.meeting(archive.private)) is None
        assert (await configured.meeting(archive.heat[0])) is not None
    finally:
        await unconfigured.close()
        await configured.close()


async def test_live_page_and_events(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    text = await page(client, f"/meeting/{archive.running}/live")
    well_formed(text)
    assert '<script src="/static/live.js" defer></script>' in text
    assert "still going" in text and "Live topic" in text
    finished = await client.get(f"/meeting/{archive.heat[0]}/live", allow_redirects=False)
    assert finished.status == 302 and finished.headers["Location"] == f"/meeting/{archive.heat[0]}"
    # A finished meeting's stream sends what is new, then the end, and closes.
    response = await client.get(f"/meeting/{archive.heat[0]}/events?line=3&item=0")
    assert response.content_type == "text/event-stream"
    body = await asyncio.wait_for(response.text(), 5)
    events = re.findall(r"event: (\w+)\n(?:id: \d+\n)?data: (.*)\n\n", body)
    names = [name for name, _ in events]
    assert names[0] == "line" and names[-1] == "end"
    first = json.loads(events[0][1])
    assert first["n"] == 4 and re.fullmatch(r"\d\d:\d\d:\d\d", first["clock"])
    assert events[-1][1] == f"/meeting/{archive.heat[0]}"
    assert "item" in names and names.count("items") == 1
    ids = [int(n) for n in re.findall(r"event: line\nid: (\d+)\n", body)]
    assert ids == list(range(4, 4 + len(ids))) and len(ids) >= 5
    await page(client, f"/meeting/{archive.running}/events?line=x", 400)


async def test_person_page(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    text = await page(client, "/person/net/bob")
    assert "bob to write docs 0" in text and "bob to write docs 2" in text
    assert f'href="/meeting/{archive.heat[0]}/log#l-' in text
    await page(client, "/person/net/nobody", 404)


async def test_person_page_lists_indexed_and_running_meetings_alike(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    """The meetings are found through the search index's nicks, and a meeting not in the
    index yet (running) through its lines: both are listed, by the nick in any case."""
    for nick in ("bob", "BOB"):
        text = await page(client, f"/person/net/{nick}")
        for meeting in (archive.running, archive.heat[0], archive.heat[-1], archive.nova[1]):
            assert f'href="/meeting/{meeting}"' in text
        assert f'href="/meeting/{archive.restricted}"' not in text
    assert f'href="/meeting/{archive.running}"' not in await page(client, "/person/net/carol")
    # A nick with nothing the index can look up is still answered, from the lines.
    await page(client, "/person/net/%5B%5D", 404)
    await page(client, "/person/net/%22%5E%2A", 404)


async def test_api_meeting_is_the_json_record(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    response = await client.get(f"/api/v1/meeting/{archive.heat[0]}")
    assert response.content_type == "application/json"
    record = await response.json()
    assert record["format"] == "gavel-meeting/1" and record["id"] == archive.heat[0]
    assert any(i["kind"] == "action" for i in record["items"])
    series = json.loads(await page(client, "/api/v1/series"))
    heat = next(s for s in series["series"] if s["name"] == "heat")
    assert heat["meetings"] == len(archive.heat) + 1 and heat["url"] == "/series/net/heat"


async def test_headers_and_read_only(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    for url in (
        "/",
        f"/meeting/{archive.heat[0]}",
        "/api/v1/series",
        "/nosuch",
        "/static/gavel.css",
        "/static/live.js",
        f"/meeting/{archive.heat[0]}/events",
        "/date/x",
    ):
        response = await client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert policy == CSP
        assert "'unsafe-inline'" not in policy and "script-src 'self'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    for method in ("POST", "PUT", "DELETE"):
        response = await client.request(method, "/")
        assert response.status == 405 and response.headers["Allow"] == "GET, HEAD"
    response = await client.get("/?" + "x" * 3000)
    assert response.status == 400 and "too long" in await response.text()
    assert "longer than 500" in await page(client, "/search?q=" + "a" * 501, 400)


async def test_kept_pages_go_gzip_compressed_to_readers_that_take_it(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    url = f"/meeting/{archive.heat[0]}/log"
    async with aiohttp.ClientSession(auto_decompress=False) as raw:
        compressed = []
        for _ in range(2):  # rendered, then answered from what was kept: the same both times
            async with raw.get(client.make_url(url), headers={"Accept-Encoding": "gzip, br"}) as r:
                assert r.status == 200 and r.headers["Content-Encoding"] == "gzip"
                assert r.headers["Vary"] == "Accept-Encoding"
                assert r.headers["Content-Security-Policy"] == CSP
                assert r.headers["Content-Type"] == "text/html; charset=utf-8"
                compressed.append(await r.read())
        async with raw.get(client.make_url("/nosuch"), headers={"Accept-Encoding": "gzip"}) as r:
            assert r.status == 404 and "Content-Encoding" not in r.headers  # never kept
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    body = await plain.read()
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(compressed[0]) == gzip.decompress(compressed[1]) == body
    assert len(compressed[0]) < len(body) / 3 and b"l-5" in body


class HeldExecutor(ThreadPoolExecutor):
    """asyncio's default executor that holds the first work it is given until `release` is
    set (and tells it has been given it with `given`); later work runs at once."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.given = threading.Event()
        self.release = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.given.is_set():
            return super().submit(fn, *args, **kwargs)
        self.given.set()

        def held() -> Any:
            self.release.wait(10)
            return fn(*args, **kwargs)

        return super().submit(held)


@pytest.mark.parametrize(
    ("path", "shown"),
    [("/log", 'id="l-1"'), ("", "People present"), ("/live", 'id="live-status"'), ("api", '"id"')],
)
async def test_a_meeting_is_rendered_off_the_loop_while_others_are_answered(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
    path: str,
    shown: str,
) -> None:
    """A meeting's pages grow with the meeting; while one is being made (held, here, in the
    worker thread it is made in) the loop goes on answering other readers."""
    mid = archive.running if path == "/live" else archive.heat[0]
    url = f"/api/v1/meeting/{mid}" if path == "api" else f"/meeting/{mid}{path}"
    loop = asyncio.get_running_loop()
    held = HeldExecutor()
    loop.set_default_executor(held)
    try:
        slow = asyncio.ensure_future(page(client, url))
        deadline = loop.time() + 10
        while not held.given.is_set():  # the page's work has gone to a worker thread
            assert not slow.done() and loop.time() < deadline, "rendered on the event loop"
            await asyncio.sleep(0.01)
        home = await asyncio.wait_for(page(client, "/"), 10)
        assert "Running now" in home and not slow.done()
        held.release.set()
        text = await asyncio.wait_for(slow, 10)
        assert shown in text
    finally:
        held.release.set()


async def test_search_page_keeps_the_query(client: TestClient) -> None:  # type: ignore[type-arg]
    text = await page(client, "/search?q=%3Cb%3Eping")
    assert 'value="&lt;b&gt;ping"' in text


async def test_hostile_meeting_is_inert(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    for suffix in ("", "/log"):
        text = await page(client, f"/meeting/{archive.hostile}{suffix}")
        well_formed(text)
        assert "<script>window" not in text and "<img" not in text and "<svg" not in text
        assert 'href="javascript' not in text.lower()
        assert len(re.findall(r"<script", text)) == 0


async def test_files_are_served_safely(tmp_path: Path) -> None:
    built = await build_archive(tmp_path, heat_count=1)
    out = built.settings.output.dir
    (out / "heat" / "2024").mkdir(parents=True)
    (out / "heat" / "2024" / "m.html").write_text("minutes")
    (out / "index.html").write_text("every series")
    (out / "heat" / "index.html").write_text("heat's meetings")
    restricted = out / "heat" / "2024" / "r.html"
    restricted.write_text("owner only")
    os.chmod(restricted, 0o600)
    (out / ".gavel-1-x.tmp").write_text("half")
    (tmp_path / "outside.txt").write_text("not yours")
    os.symlink(tmp_path / "outside.txt", out / "link.txt")
    reader = await open_reader(built.settings)
    async with TestClient(TestServer(make_app(built.settings, reader))) as test_client:
        assert await page(test_client, "/meetings/heat/2024/m.html") == "minutes"
        assert await page(test_client, "/meetings/") == "every series"
        assert await page(test_client, "/meetings/heat/") == "heat's meetings"
        for bad in (
            "/meetings/heat/2024/r.html",
            "/meetings/.gavel-1-x.tmp",
            "/meetings/link.txt",
            "/meetings/../outside.txt",
            "/meetings/%2e%2e/outside.txt",
            "/meetings/heat/../../outside.txt",
            "/meetings/heat",
        ):
            response = await test_client.get(bad)
            assert response.status == 404, bad
    await reader.close()


async def test_the_reader_refuses_a_database_it_cannot_read(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    async with aiosqlite.connect(old, isolation_level=None) as conn:
        await migrate(conn, MIGRATIONS[:1])
    with pytest.raises(StoreError) as info:
        await ArchiveReader.open(old)
    assert str(info.value) == (
        f"database schema version 1 is older than this Gavel ({SCHEMA_VERSION}); "
        "start the bot (gavel run) once to bring it up to date"
    )
    with pytest.raises(StoreError, match="no database at"):
        await ArchiveReader.open(tmp_path / "none.sqlite3")
    # One migration short (a database the bot of an earlier release kept): refused too.
    almost = tmp_path / "almost.sqlite3"
    async with aiosqlite.connect(almost, isolation_level=None) as conn:
        assert await migrate(conn, MIGRATIONS[:-1]) == SCHEMA_VERSION - 1
    with pytest.raises(StoreError, match=f"version {SCHEMA_VERSION - 1} is older"):
        await ArchiveReader.open(almost)
    async with aiosqlite.connect(almost, isolation_level=None) as conn:
        assert await migrate(conn) == SCHEMA_VERSION
    await (await ArchiveReader.open(almost)).close()


async def test_every_html_page_parses_strictly(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    for url, status in (
        ("/series/net/nova", 200),
        ("/channel/net/%23chan", 200),
        ("/date/2024-05-02", 200),
        ("/person/net/carol", 200),
        ("/search?q=docs", 200),
        ("/successes", 200),
        ("/thanks", 200),
        (f"/meeting/{archive.nova[0]}", 200),
        ("/meeting/999999", 404),
        ("/date/nope", 400),
    ):
        well_formed(await page(client, url, status))


async def test_api_names_the_series_for_an_alias(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    body = json.loads(await page(client, "/api/v1/series/net/nova_team/meetings"))
    assert body["series"] == "nova"
    assert [m["id"] for m in body["meetings"]] == list(reversed(archive.nova))
    assert [m["name"] for m in body["meetings"]] == ["nova", "nova_team"]


async def test_successes_and_thanks_newest_first_none_private(
    client: TestClient,  # type: ignore[type-arg]
    archive: Archive,
) -> None:
    text = await page(client, "/successes")
    well_formed(text)
    said = ["elsewhere, it worked", "a quiet summer release", "restricted work went well"]
    said.append("the gate is green again")
    positions = [text.index(s) for s in said]
    assert positions == sorted(positions)  # newest first
    # Linked to the log of the meeting it was said in, or of that day's meeting in the channel.
    assert f'href="/meeting/{archive.heat[0]}/log">carol (on #chan)</a>' in text
    assert f'href="/meeting/{archive.hostile}/log">mallory (on #chan)</a>' in text
    assert "erin (on #chan)</span>" in text and "frank (on #other)</span>" in text
    # Said in a #restrictlogs meeting: shown, never linked to that meeting.
    assert "bob (on #chan)</span>" in text and f"/meeting/{archive.restricted}" not in text
    assert "cabal" not in text and "private channel" not in text  # #secret, now or then
    assert "<img" not in text and "&lt;img src=x onerror=" in text
    assert 'href="/thanks"' in text and "5 said with" in text
    thanks = await page(client, "/thanks")
    well_formed(thanks)
    assert f'href="/meeting/{archive.heat[1]}/log">dave (on #chan)</a>' in thanks
    assert "bob for the docs" in thanks and "the gate is green" not in thanks
    assert "old cabal" not in thanks and 'href="/successes"' in thanks
    assert 'href="/successes"' in await page(client, "/")
    await page(client, "/successes?page=2", 404)
    assert "page must be a whole number" in await page(client, "/thanks?page=x", 400)


async def test_successes_api_pages(client: TestClient, archive: Archive) -> None:  # type: ignore[type-arg]
    first = json.loads(await page(client, "/api/v1/successes?per_page=2"))
    assert (first["kind"], first["total"], first["pages"], first["page"]) == ("success", 5, 3, 1)
    assert [e["text"] for e in first["entries"]] == [
        "elsewhere, it worked",
        "a quiet summer release",
    ]
    last = json.loads(await page(client, "/api/v1/successes?per_page=2&page=3"))
    assert last["entries"] == [
        {
            "id": last["entries"][0]["id"],
            "kind": "success",
            "time": "2024-05-01T18:00:01+00:00",
            "network": "net",
            "channel": "#chan",
            "nick": "carol",
            "text": "the gate is green again",
            "meeting_id": archive.heat[0],
            "log_url": f"/meeting/{archive.heat[0]}/log",
        }
    ]
    assert first["entries"][0]["log_url"] is None and first["entries"][0]["meeting_id"] is None
    await page(client, "/api/v1/successes?per_page=2&page=4", 404)
    for bad in ("page=0", "per_page=101", "per_page=x"):
        error = json.loads(await page(client, f"/api/v1/successes?{bad}", 400))
        assert error["error"].endswith(".")
    thanks = json.loads(await page(client, "/api/v1/thanks"))
    assert [(e["nick"], e["kind"]) for e in thanks["entries"]] == [("dave", "thanks")]
    assert thanks["total"] == 1


async def test_successes_page_has_a_pager_past_fifty(tmp_path: Path) -> None:
    built = await build_archive(tmp_path, heat_count=1)
    room = Room(network="net", channel="#chan", now=datetime(2025, 1, 1, tzinfo=UTC))
    async with await Store.open(built.path) as store:
        for n in range(PER_PAGE):
            await store.apply(room.say(f"n{n}", f"#success number {n}", after=61))
    reader = await open_reader(built.settings)
    async with TestClient(TestServer(make_app(built.settings, reader))) as test_client:
        first = await page(test_client, "/successes")
        second = await page(test_client, "/successes?page=2")
        await page(test_client, "/successes?page=3", 404)
    await reader.close()
    total = PER_PAGE + 5
    assert f"{total} said with" in first and "Page 1 of 2" in first
    assert 'rel="next" href="/successes?page=2"' in first
    assert f"number {PER_PAGE - 1}<" in first and "the gate is green again" not in first
    assert 'rel="prev" href="/successes?page=1"' in second and "Page 2 of 2" in second
    assert second.count("<li id=") == total - PER_PAGE


async def test_a_kept_page_past_its_time_is_given_while_the_next_is_made(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Readers of a popular page never wait for it to be made again: the kept one, past its
    time but within its grace, is given at once, and one request makes the next."""
    cache = client.server.app[CACHE]
    past = time.monotonic() - 1
    cache.put("/", Cached(b"the page as kept", "text/html", "utf-8", past, None, 60.0))
    assert await page(client, "/") == "the page as kept"
    deadline = time.monotonic() + 5
    body = "the page as kept"
    while body == "the page as kept" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        body = await page(client, "/")
    assert "heat" in body  # made again from the archive
    assert cache.get("/", time.monotonic()) is not None

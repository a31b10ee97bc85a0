"""Static indexes: written at each publish, from the web's templates, listing public meetings."""

from __future__ import annotations

import asyncio
import re
import stat
from pathlib import Path

import html5lib
import structlog

from bot.config_loader import parse_settings
from bot.core.effects import Effect, Publish
from bot.core.events import ChannelSettings, FilesPublished
from bot.publishing import Publishing
from bot.settings import Settings
from bot.store import Store
from bot.web.static_index import IndexPage, write_pages
from tests.corekit import Room


def settings(tmp_path: Path) -> Settings:
    return parse_settings(
        {
            "networks": [
                {
                    "name": "net",
                    "host": "127.0.0.1",
                    "channels": ["#open", {"name": "#secret", "private": True}],
                }
            ],
            "output": {"dir": str(tmp_path / "public"), "private_dir": str(tmp_path / "private")},
            "storage": {"path": str(tmp_path / "db.sqlite3")},
            "web": {"title": "Our <meetings>", "base_url": "https://meetings.example.org"},
        }
    )


async def meeting(
    store: Store, channel: str, name: str, *said: str, private: bool = False
) -> Publish:
    room = Room(channel=channel, network="net", settings=ChannelSettings(private=private))
    effects: list[Effect] = []
    effects += room.say("alice", f"#startmeeting {name}")
    for text in said:
        effects += room.say("alice", text)
    effects += room.say("alice", "#endmeeting")
    await store.apply(effects)
    (publish,) = [e for e in effects if isinstance(e, Publish)]
    return publish


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


async def test_each_publish_writes_the_top_and_series_indexes(tmp_path: Path) -> None:
    config = settings(tmp_path)
    public = tmp_path / "public"
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publisher = Publishing(config, store)
        first = await publisher.write(
            (await meeting(store, "#open", "plans", "#topic one")).meeting
        )
        await asyncio.wait_for(publisher.finish(), 30)  # the indexes follow the files
        assert (public / "index.html").is_file() and (public / "plans" / "index.html").is_file()
        await publisher.write((await meeting(store, "#open", "plans", "#topic two")).meeting)
        hidden = await meeting(store, "#open", "hush", "#restrictlogs")
        await publisher.write(hidden.meeting)
        await publisher.write((await meeting(store, "#secret", "cabal", private=True)).meeting)
        await asyncio.wait_for(publisher.finish(), 30)
        publisher.close()
    top = (public / "index.html").read_text()
    series = (public / "plans" / "index.html").read_text()
    for page in (top, series):
        html5lib.HTMLParser(strict=True).parse(page)
        assert "Our &lt;meetings&gt;" in page and "<style>" in page
        assert page.endswith("</html>\n")
        assert 'action="https://meetings.example.org/search"' in page
    assert 'href="plans/index.html"' in top
    assert "hush" not in top and "cabal" not in top
    assert not (public / "hush" / "index.html").exists()
    # Every link of the series index reaches a file that exists; newest first.
    targets = [link for link in links(series) if not link.startswith("http")]
    minutes = [
        t for t in targets if t.endswith(".html") and not t.endswith((".log.html", "index.html"))
    ]
    assert len(minutes) == 2
    for target in targets:
        assert (public / "plans" / target).resolve().is_file(), target
    assert minutes[0] != first.paths[2].relative_to(public).as_posix()
    assert stat.S_IMODE((public / "index.html").stat().st_mode) == 0o644
    assert not list(public.rglob(".gavel-*"))  # written atomically: no temporaries left


async def test_an_index_failure_does_not_fail_publishing(tmp_path: Path) -> None:
    config = settings(tmp_path)
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publisher = Publishing(config, store)
        (tmp_path / "public").mkdir()
        (tmp_path / "public" / "index.html").mkdir()  # a directory where the index would go
        with structlog.testing.capture_logs() as logs:
            files = await publisher.write((await meeting(store, "#open", "plans")).meeting)
            await asyncio.wait_for(publisher.finish(), 30)
        publisher.close()
    assert all(p.is_file() for p in files.paths)
    (failed,) = [e for e in logs if e["event"] == "static_index_failed"]
    assert failed["series"] == [("net", "plans")]


async def test_the_live_publish_path_writes_the_indexes(tmp_path: Path) -> None:
    config = settings(tmp_path)
    public = tmp_path / "public"
    reported: list[FilesPublished] = []
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publishing = Publishing(config, store, report=reported.append)
        publishing.submit(await meeting(store, "#open", "standup", "#topic one"))
        await asyncio.wait_for(publishing.finish(), 30)
        publishing.close()
        assert await store.pending_publishes() == []
    (done,) = reported
    assert done.final and done.url_base
    series = (public / "standup" / "index.html").read_text(encoding="utf-8")
    assert done.url_base.rsplit("/", 1)[1] + ".html" in series
    assert 'href="standup/index.html"' in (public / "index.html").read_text(encoding="utf-8")


async def test_meetings_ending_together_have_their_indexes_written_once_after_them(
    tmp_path: Path,
) -> None:
    config = settings(tmp_path)
    public = tmp_path / "public"
    names = [f"team{k}" for k in range(6)]
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publishing = Publishing(config, store)
        ended = [await meeting(store, "#open", name, "#topic news") for name in names]
        for publish in ended:
            publishing.submit(publish)
        await asyncio.wait_for(publishing.finish(), 30)
        # The six publishes ran together: the indexes were owed by all of them at once.
        assert 1 <= publishing.index_writes < len(names)
        # One more, alone, later: its series is written too, with the top index.
        publishing.submit(await meeting(store, "#open", "late"))
        await asyncio.wait_for(publishing.finish(), 30)
        assert publishing.index_writes >= 2
        publishing.close()
    top = (public / "index.html").read_text(encoding="utf-8")
    for name in [*names, "late"]:
        assert f'href="{name}/index.html"' in top
        series = (public / name / "index.html").read_text(encoding="utf-8")
        minutes = [link for link in links(series) if link.endswith(".html")]
        assert any(not link.endswith((".log.html", "index.html")) for link in minutes)
    # Each series index is no older than its meeting's files: written after them.
    for name in names:
        (minutes_file,) = [
            p
            for p in (public / name).rglob("*.html")
            if not p.name.endswith(".log.html") and p.name != "index.html"
        ]
        index = public / name / "index.html"
        assert index.stat().st_mtime_ns >= minutes_file.stat().st_mtime_ns


def test_pages_written_unsynced_replace_the_old_ones_whole(tmp_path: Path) -> None:
    # The service writes the indexes without a sync of their own (derived again at every
    # publish); they are still replaced atomically, with no temporary file left behind.
    old = tmp_path / "index.html"
    old.write_text("old page")
    pages = [IndexPage("index.html", "<p>top</p>\n"), IndexPage("s/index.html", "<p>s</p>\n")]
    write_pages(tmp_path, pages, durable=False)
    assert old.read_text() == "<p>top</p>\n"
    assert (tmp_path / "s" / "index.html").read_text() == "<p>s</p>\n"
    assert stat.S_IMODE(old.stat().st_mode) == 0o644
    assert not [p for p in tmp_path.rglob(".gavel-*")]


def _stale_temporary(directory: Path) -> Path:
    """What a writer killed mid-write leaves: a hidden temporary named after a dead pid."""
    directory.mkdir(parents=True, exist_ok=True)
    stale = directory / ".gavel-4194305-index.html.tmp"  # above Linux's largest pid
    stale.write_text("half a page", encoding="utf-8")
    return stale


def test_index_and_success_pages_clear_what_a_killed_write_left(tmp_path: Path) -> None:
    from bot import followup
    from bot.web.static_index import IndexPage, write_pages

    series_stale = _stale_temporary(tmp_path / "heat")
    top_stale = _stale_temporary(tmp_path)
    write_pages(tmp_path, [IndexPage("heat/index.html", "<p>heat</p>\n")])
    assert not series_stale.exists()
    assert (tmp_path / "heat" / "index.html").read_text(encoding="utf-8") == "<p>heat</p>\n"
    assert top_stale.exists()  # nothing was written there yet
    followup.write_pages(tmp_path, "success", [], "http://example.org/successes.html")
    assert not top_stale.exists()
    assert (tmp_path / "successes.html").exists()

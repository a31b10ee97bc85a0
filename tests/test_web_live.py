"""The live view's one poller per running meeting: many viewers of `/meeting/ID/events` through
the real application and a real SQLite file, written to by the real store as the bot writes,
share one read a tick, each gets every new line once and in order from where it stands, the
poller stops with its last viewer or the meeting's end, and a viewer that stops reading is
dropped without holding up the others. The deciding parts of `bot.web.live` alone at the end."""

from __future__ import annotations

import asyncio
import html
import json
import re
import select
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.core.record import Item
from bot.settings import Settings
from bot.store import Store
from bot.store.archive_reads import ArchiveReader, LiveNews
from bot.web.app import LIVE, make_app
from bot.web.live import (
    TICK_SECONDS,
    Cursor,
    LiveHub,
    earliest,
    moved,
    news_after,
    worth_sending,
)
from bot.web.views import open_reader
from tests.corekit import Room
from tests.webkit import NETWORK, settings_for

Event = tuple[str, int | None, str]  # name, id, data


@dataclass
class Meeting:
    """A running meeting in a real database, said to through the real core and store."""

    store: Store
    room: Room
    id: int
    settings: Settings

    async def say(self, nick: str, text: str) -> None:
        await self.store.apply(self.room.say(nick, text))


@pytest.fixture
async def meeting(tmp_path: Path) -> AsyncIterator[Meeting]:
    db = tmp_path / "gavel.sqlite3"
    store = await Store.open(db)
    room = Room(network=NETWORK, channel="#chan", now=datetime(2024, 7, 1, 10, tzinfo=UTC))
    try:
        await store.apply(room.say("alice", "#startmeeting live"))
        assert room.meeting is not None
        running = Meeting(store, room, room.meeting.id, settings_for(db, tmp_path / "out"))
        await running.say("alice", "#topic Watching")
        await running.say("bob", "#info watched by many")
        yield running
    finally:
        await store.close()


@pytest.fixture
async def reader(meeting: Meeting) -> AsyncIterator[ArchiveReader]:
    opened = await open_reader(meeting.settings)
    yield opened
    await opened.close()


class AsDeployed(TestServer):
    """The application served as `gavel web` serves it. aiohttp's test server cancels a
    request's handler when its reader goes; aiohttp's default, and so `gavel web`, does not,
    and a stream then learns of it only by its poller (or at its next write)."""

    async def _make_runner(self, **kwargs: Any) -> web.AppRunner:
        return web.AppRunner(self.app, **{**kwargs, "handler_cancellation": False})


@pytest.fixture
async def client(meeting: Meeting, reader: ArchiveReader) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async with TestClient(AsDeployed(make_app(meeting.settings, reader))) as test_client:
        yield test_client


@dataclass
class Stream:
    """One viewer's event stream, read as a browser's EventSource reads it."""

    response: aiohttp.ClientResponse
    events: list[Event] = field(default_factory=list)
    _buffer: bytes = b""

    def lines(self) -> list[tuple[int, str]]:
        """The lines received: (number, JSON data)."""
        return [(n, data) for name, n, data in self.events if name == "line" and n is not None]

    async def until(self, done: Callable[[Stream], bool], seconds: float = 5.0) -> None:
        """Read until `done` says so; fails after `seconds` or at the stream's end."""
        async with asyncio.timeout(seconds):
            for _ in range(100_000):
                if done(self):
                    return
                chunk = await self.response.content.readany()
                assert chunk, f"the stream ended; got {self.events[-3:]}"
                *frames, self._buffer = (self._buffer + chunk).split(b"\n\n")
                self.events += [_parsed(frame.decode()) for frame in frames]
        raise AssertionError("read too many chunks")

    async def to_the_end(self, seconds: float = 5.0) -> None:
        """Read until the server ends the stream."""
        async with asyncio.timeout(seconds):
            for _ in range(100_000):
                chunk = await self.response.content.readany()
                if not chunk:
                    return
                *frames, self._buffer = (self._buffer + chunk).split(b"\n\n")
                self.events += [_parsed(frame.decode()) for frame in frames]
        raise AssertionError("read too many chunks")


def _parsed(frame: str) -> Event:
    fields = dict(line.split(": ", 1) for line in frame.split("\n") if not line.startswith(":"))
    number = fields.get("id")
    return fields.get("event", "comment"), int(number) if number else None, fields.get("data", "")


async def _cursors(client: TestClient, meeting_id: int) -> tuple[int, int]:  # type: ignore[type-arg]
    """The line and item the live page says it shows, as its script reads them."""
    response = await client.get(f"/meeting/{meeting_id}/live")
    page = await response.text()
    found = re.search(r'data-line="(\d+)"[^>]*data-item="(\d+)"', page)
    assert found is not None, page[:500]
    return int(found[1]), int(found[2])


async def _open(
    client: TestClient,  # type: ignore[type-arg]
    meeting_id: int,
    line: int,
    item: int,
    last_event_id: int | None = None,
) -> Stream:
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    response = await client.get(
        f"/meeting/{meeting_id}/events?line={line}&item={item}", headers=headers
    )
    assert response.status == 200 and response.content_type == "text/event-stream"
    stream = Stream(response)
    await stream.until(lambda s: any(name == "items" for name, _, _ in s.events))
    return stream


def _text(data: str) -> str:
    """A line's or an item's text as the page shows it."""
    return html.unescape(re.sub(r"<[^>]*>", "", json.loads(data)["html"]))


def _has_lines(count: int) -> Callable[[Stream], bool]:
    return lambda stream: len(stream.lines()) >= count


async def _gone(client: TestClient, meeting_id: int, seconds: float = 3.0) -> None:  # type: ignore[type-arg]
    """Wait (a bounded while) for the meeting's poller to stop."""
    hub = client.app[LIVE]  # type: ignore[index]
    deadline = time.monotonic() + seconds
    while meeting_id in hub.polling():
        assert time.monotonic() < deadline, "the poller is still running"
        await asyncio.sleep(0.02)


async def test_many_viewers_share_one_read_a_tick(client: TestClient, meeting: Meeting) -> None:  # type: ignore[type-arg]
    line, item = await _cursors(client, meeting.id)
    viewers = await asyncio.gather(*(_open(client, meeting.id, line, item) for _ in range(20)))
    hub = client.app[LIVE]  # type: ignore[index]
    assert hub.polling() == {meeting.id}
    reads, started = hub.reads, time.monotonic()
    said = [f"line {k} for everyone" for k in range(8)]
    for text in said:
        await meeting.say("carol", text)
        await asyncio.sleep(0.1)
    await asyncio.gather(*(v.until(_has_lines(len(said))) for v in viewers))
    elapsed = time.monotonic() - started
    made = hub.reads - reads
    # One read a tick whatever the number of viewers (twenty streams of their own would have
    # made twenty times as many); at least one, or nothing would have arrived.
    assert 1 <= made <= elapsed / TICK_SECONDS + 2, (made, elapsed)
    first = viewers[0].lines()
    assert [_text(data) for _, data in first] == said
    assert [n for n, _ in first] == list(range(line + 1, line + 1 + len(said)))
    for viewer in viewers[1:]:
        assert viewer.lines() == first


async def test_the_poller_stops_when_its_last_viewer_leaves(
    client: TestClient,  # type: ignore[type-arg]
    meeting: Meeting,
) -> None:
    line, item = await _cursors(client, meeting.id)
    viewers = [await _open(client, meeting.id, line, item) for _ in range(3)]
    hub = client.app[LIVE]  # type: ignore[index]
    for viewer in viewers[:2]:
        viewer.response.close()
    await asyncio.sleep(3 * TICK_SECONDS)
    assert hub.polling() == {meeting.id}  # one is still watching
    await meeting.say("carol", "for the one left")
    await viewers[2].until(_has_lines(1))
    viewers[2].response.close()
    await _gone(client, meeting.id)
    reads = hub.reads
    await asyncio.sleep(3 * TICK_SECONDS)
    assert hub.reads == reads
    # The next viewer starts a new poller, from where it stands.
    again = await _open(client, meeting.id, line, item)
    assert [_text(data) for _, data in again.lines()] == ["for the one left"]
    assert hub.polling() == {meeting.id}
    again.response.close()
    await _gone(client, meeting.id)


async def test_the_meeting_end_reaches_every_viewer_and_stops_the_poller(
    client: TestClient,  # type: ignore[type-arg]
    meeting: Meeting,
) -> None:
    line, item = await _cursors(client, meeting.id)
    viewers = [await _open(client, meeting.id, line, item) for _ in range(4)]
    await meeting.say("carol", "#action carol to close")
    await meeting.say("alice", "#endmeeting")
    for viewer in viewers:
        await viewer.to_the_end()
        names = [name for name, _, _ in viewer.events]
        assert names[-1] == "end" and names.count("end") == 1 and "item" in names
        assert viewer.events[-1][2] == f"/meeting/{meeting.id}"
        assert _text(viewer.lines()[0][1]) == "#action carol to close"
    await _gone(client, meeting.id)


async def test_a_late_viewer_resumes_from_where_it_stands(
    client: TestClient,  # type: ignore[type-arg]
    meeting: Meeting,
) -> None:
    line, item = await _cursors(client, meeting.id)
    early = await _open(client, meeting.id, line, item)
    said = [f"said before the late one {k}" for k in range(6)]
    for text in said:
        await meeting.say("carol", text)
    await meeting.say("carol", "#idea a late idea")
    await early.until(_has_lines(len(said) + 1))
    # A page rendered before the last four lines, and a browser reconnecting after the
    # second: each starts from its own place, while the poller serves the early viewer on.
    page = await _open(client, meeting.id, line + 3, item)
    reconnected = await _open(client, meeting.id, line, item, last_event_id=line + 2)
    assert [_text(d) for _, d in page.lines()] == [*said[3:], "#idea a late idea"]
    assert [_text(d) for _, d in reconnected.lines()] == [*said[2:], "#idea a late idea"]
    for late in (page, reconnected):
        items = [_text(data) for name, _, data in late.events if name == "item"]
        assert items == ["a late idea"]
    await meeting.say("dave", "after everyone came")
    for viewer in (early, page, reconnected):
        await viewer.until(lambda s: "after everyone came" in [_text(d) for _, d in s.lines()])
        numbers = [n for n, _ in viewer.lines()]
        assert numbers == sorted(set(numbers))  # each line once, in order
        assert numbers[-1] == line + len(said) + 2


async def test_a_viewer_that_stops_reading_holds_nobody_up_and_is_dropped(
    meeting: Meeting, reader: ArchiveReader
) -> None:
    # Enough to fill a loopback connection's buffers (about 3 MB here) several times over,
    # for a viewer that asks for the whole meeting and reads none of it.
    effects = []
    for k in range(8000):
        effects += meeting.room.say("bob", f"{k} " + "a long line & <b>bold</b> words " * 14)
    await meeting.store.apply(effects)
    backlog = 3
    app = make_app(meeting.settings, reader, live_backlog=backlog)
    with structlog.testing.capture_logs() as logs:
        async with TestClient(AsDeployed(app)) as client:
            line, item = await _cursors(client, meeting.id)
            readers = [await _open(client, meeting.id, line, item) for _ in range(3)]
            stuck = socket.socket()
            stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            stuck.setblocking(False)
            try:
                loop = asyncio.get_running_loop()
                await loop.sock_connect(stuck, (client.server.host, client.server.port))
                ask = f"GET /meeting/{meeting.id}/events?line=0&item=0 HTTP/1.1\r\nHost: x\r\n\r\n"
                await loop.sock_sendall(stuck, ask.encode())
                await _answered(stuck)
                for k in range(backlog + 4):  # more batches than the stuck viewer may have waiting
                    said = time.monotonic()
                    await meeting.say("carol", f"news {k}")
                    for viewer in readers:
                        await viewer.until(_has_lines(k + 1), seconds=3)
                    assert time.monotonic() - said < 3 * TICK_SECONDS + 1
                    await asyncio.sleep(TICK_SECONDS)
                assert any(e["event"] == "live_viewer_dropped" for e in logs), logs
                # What the stuck viewer finds when it reads again: a cut connection (its
                # browser reconnects from its last line, as `test_a_late_viewer_...` does).
                received = await _read_until_cut(loop, stuck)
                assert len(received) < 8000 * 400
            finally:
                stuck.close()
            for viewer in readers:
                expected = [f"news {k}" for k in range(backlog + 4)]
                assert [_text(d) for _, d in viewer.lines()] == expected
    dropped = [e for e in logs if e["event"] == "live_viewer_dropped"]
    assert len(dropped) == 1 and dropped[0]["meeting"] == meeting.id
    assert dropped[0]["behind"] == backlog


async def _answered(sock: socket.socket, seconds: float = 10.0) -> None:
    """Wait (a bounded while) until the server has begun to answer on `sock`."""
    deadline = time.monotonic() + seconds
    while not select.select([sock], [], [], 0)[0]:
        assert time.monotonic() < deadline, "no answer"
        await asyncio.sleep(0.02)


async def _read_until_cut(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes:
    """Read what the server sent until it closes or resets the connection: the bytes got."""
    received = bytearray()
    async with asyncio.timeout(10):
        for _ in range(1_000_000):
            try:
                chunk = await loop.sock_recv(sock, 65536)
            except ConnectionResetError:
                return bytes(received)
            if not chunk:
                return bytes(received)
            received += chunk
    raise AssertionError("the connection was not cut")


async def test_a_viewer_behind_is_sent_nothing_more_once_the_meeting_is_made_private(
    meeting: Meeting, reader: ArchiveReader
) -> None:
    """A viewer that has stopped reading, with the whole meeting written to it and news
    queued after it, is sent none of that news once the meeting is made private, though a
    viewer that kept reading was given it while the meeting was public."""
    effects = []
    for k in range(8000):  # as in the test above: more than the connection's buffers take
        effects += meeting.room.say("bob", f"{k} " + "a long line & <b>bold</b> words " * 14)
    await meeting.store.apply(effects)
    app = make_app(meeting.settings, reader, live_backlog=1000)  # never dropped for its lag
    said = [f"queued while public {k}" for k in range(5)]
    async with TestClient(AsDeployed(app)) as client:
        line, item = await _cursors(client, meeting.id)
        reading = await _open(client, meeting.id, line, item)
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.setblocking(False)
        try:
            loop = asyncio.get_running_loop()
            await loop.sock_connect(stuck, (client.server.host, client.server.port))
            ask = (
                f"GET /meeting/{meeting.id}/events?line=0&item=0 HTTP/1.1\r\n"
                "Host: x\r\nConnection: close\r\n\r\n"
            )
            await loop.sock_sendall(stuck, ask.encode())
            await _answered(stuck)
            for k, text in enumerate(said):  # a batch each, queued for the stuck viewer too
                await meeting.say("carol", text)
                await reading.until(_has_lines(k + 1), seconds=3)
            await meeting.say("alice", "#restrictlogs")
            await _gone(client, meeting.id)
            # The stuck viewer reads again: all it finds is part of what had been written to
            # its connection before the meeting was made private, and then the connection cut.
            received = await _read_until_cut(loop, stuck)
        finally:
            stuck.close()
    assert [_text(d) for _, d in reading.lines()] == said
    assert received.startswith(b"HTTP/1.1 200")
    assert b"queued while public" not in received
    assert b"restrictlogs" not in received
    # Cut, not ended: what was written to it and not yet taken went no further either.
    assert not received.endswith(b"\r\n0\r\n\r\n") and len(received) < 8000 * 400


async def test_a_viewer_is_told_to_come_back_when_the_read_fails(tmp_path: Path) -> None:
    """A read that fails (here the database's table of meetings is damaged on disk) stops the
    poller; its viewer is answered 200 with only when to ask again, so that its browser's
    EventSource comes back, not 500, on which it would give up for good."""
    db = tmp_path / "gavel.sqlite3"
    room = Room(network=NETWORK, channel="#chan", now=datetime(2024, 7, 1, 10, tzinfo=UTC))
    async with await Store.open(db) as store:
        await store.apply(room.say("alice", "#startmeeting live"))
    assert room.meeting is not None
    with closing(sqlite3.connect(db)) as conn:
        sql = "SELECT rootpage FROM sqlite_schema WHERE name = 'meetings'"
        (root,) = conn.execute(sql).fetchone()
        (size,) = conn.execute("PRAGMA page_size").fetchone()
    with db.open("r+b") as file:
        file.seek((root - 1) * size)
        file.write(b"\xff" * size)
    settings = settings_for(db, tmp_path / "out")
    reader = await open_reader(settings)
    try:
        with structlog.testing.capture_logs() as logs:
            async with TestClient(AsDeployed(make_app(settings, reader))) as client:
                async with asyncio.timeout(10):
                    path = f"/meeting/{room.meeting.id}/events?line=0&item=0"
                    response = await client.get(path)
                    body = await response.text()
    finally:
        await reader.close()
    assert response.status == 200 and response.content_type == "text/event-stream"
    assert body == "retry: 3000\n\n"
    failed = [e for e in logs if e["event"] == "live_poller_failed"]
    assert len(failed) == 1 and "malformed" in failed[0]["error"], logs
    assert [e["meeting"] for e in logs if e["event"] == "live_stream_retry"] == [room.meeting.id]


async def test_a_viewer_takes_no_news_read_before_it_came(
    meeting: Meeting, reader: ArchiveReader
) -> None:
    """A page made while a read was under way shows more than that read found: its viewer
    waits for the next read, or the read's older list of standing items would take off the
    page an item it shows (and nothing would bring it back)."""
    read_done, go_on = asyncio.Event(), asyncio.Event()
    go_on.set()

    async def held_read(meeting_id: int, after_line: int, after_item: int) -> LiveNews | None:
        news = await reader.live_news(meeting_id, after_line, after_item)
        read_done.set()
        await go_on.wait()  # handed out only when the test says
        return news

    hub = LiveHub(held_read)
    try:
        async with asyncio.timeout(5):
            now = await reader.live_news(meeting.id, 0, 0)
            assert now is not None
            at = Cursor(now.lines[-1][0], now.items[-1].id)
            with hub.watch(meeting.id, at, lambda: True, lambda: None) as early:
                await early.first()
                go_on.clear()
                read_done.clear()
                await read_done.wait()  # a read has found what there is, and is held
                await meeting.say("carol", "#idea said while a read was under way")
                page = await reader.live_news(meeting.id, 0, 0)  # as the live page reads it
                assert page is not None
                idea = page.items[-1].id
                with hub.watch(
                    meeting.id, Cursor(page.lines[-1][0], idea), lambda: True, lambda: None
                ) as late:
                    go_on.set()
                    first = await late.first()
                    assert idea in first.item_ids and first.lines == () and first.items == ()
                    while True:  # (bounded by the timeout above)
                        news = await early.next(None)
                        assert news is not None
                        if news.items:
                            break
                    assert [i.id for i in news.items] == [idea] and idea in news.item_ids
    finally:
        await hub.close()


# The deciding parts, alone.


def _news(lines: range, items: tuple[int, ...], standing: tuple[int, ...]) -> LiveNews:
    at = datetime(2024, 7, 1, 10, tzinfo=UTC)
    return LiveNews(
        lines=tuple((n, at, "bob", "message", f"line {n}") for n in lines),
        items=tuple(Item(i, "info", f"item {i}", "bob", at, 1) for i in items),
        item_ids=standing,
        ended=False,
        timezone="UTC",
    )


def test_a_read_starts_where_the_furthest_behind_viewer_stands() -> None:
    assert earliest([Cursor(9, 2), Cursor(4, 5), Cursor(7, 1)]) == Cursor(4, 1)


def test_each_viewer_gets_only_what_it_lacks() -> None:
    news = _news(range(5, 11), (3, 4), (1, 3, 4))
    assert news_after(news, Cursor(4, 2)) is news  # where the read began: all of it, shared
    part = news_after(news, Cursor(8, 3))
    assert [line[0] for line in part.lines] == [9, 10] and [i.id for i in part.items] == [4]
    assert part.item_ids == (1, 3, 4)
    ahead = news_after(news, Cursor(20, 9))
    assert ahead.lines == () and ahead.items == ()
    assert moved(Cursor(4, 2), news) == Cursor(10, 4)
    assert moved(Cursor(20, 9), ahead) == Cursor(20, 9)


def test_only_news_that_makes_an_event_is_queued() -> None:
    quiet = _news(range(0), (), (1, 3))
    assert not worth_sending(quiet, (1, 3))
    assert worth_sending(quiet, None)  # a new viewer is always told the standing items
    assert worth_sending(quiet, (1, 3, 4))  # an #undo took one away
    assert worth_sending(_news(range(2, 3), (), (1, 3)), (1, 3))

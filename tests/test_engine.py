"""The engine with a real store: persist, then reply; one bad event never stops it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import engine as engine_module
from bot import publishing as publishing_module
from bot.config_loader import parse_settings
from bot.core.effects import Say, SetTopic
from bot.core.events import Event, MessageSeen
from bot.core.state import World
from bot.engine import Engine
from bot.publishing import Publishing
from bot.settings import Settings
from bot.store import Store

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class RecordingSender:
    """The IRC side as the engine sees it: it remembers what it was asked to send and,
    at that moment, how many lines the database already held."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.sent: list[tuple[str, int]] = []

    def perform(self, effect: Say | SetTopic) -> None:
        with sqlite3.connect(self.database) as db:
            stored = db.execute("SELECT COUNT(*) FROM lines").fetchone()[0]
        self.sent.append((effect.text, stored))


def message(n: int, text: str, nick: str = "alice") -> MessageSeen:
    return MessageSeen("net", START + timedelta(seconds=n), n, "#chan", nick, text, "gavel")


def settings(tmp_path: Path) -> Settings:
    output = {"dir": str(tmp_path / "out"), "url_prefix": "http://example.org/"}
    return parse_settings(
        {
            "networks": [{"name": "net", "host": "127.0.0.1", "channels": ["#chan"]}],
            "output": output,
        }
    )


def engine_for(tmp_path: Path, store: Store, sender: RecordingSender | None) -> Engine:
    """The engine as the service composes it: real store, real publishing into tmp_path."""
    queue: asyncio.Queue[Event] = asyncio.Queue()
    publishing = Publishing(settings(tmp_path), store, report=queue.put_nowait)
    return Engine(World(), queue, store, {} if sender is None else {"net": sender}, publishing)


async def run_engine(tmp_path: Path, events: list[object]) -> tuple[Engine, RecordingSender]:
    database = tmp_path / "db.sqlite3"
    async with await Store.open(database) as store:
        sender = RecordingSender(database)
        engine = engine_for(tmp_path, store, sender)
        queue = engine.queue
        for event in events:
            queue.put_nowait(event)  # type: ignore[arg-type]
        await engine.drain()
    return engine, sender


async def test_replies_are_sent_only_after_their_lines_are_stored(tmp_path: Path) -> None:
    _, sender = await run_engine(
        tmp_path, [message(1, "#startmeeting test"), message(2, "hello"), message(3, "#chair")]
    )
    texts = [text for text, _ in sender.sent]
    assert texts[0].startswith("Meeting started")
    assert texts[-1] == "Current chairs: alice"
    # when the first reply went out, the #startmeeting line and the replies were stored
    assert sender.sent[0][1] >= 1
    assert sender.sent[-1][1] >= 6


async def test_one_failing_event_is_logged_and_the_engine_goes_on(tmp_path: Path) -> None:
    not_an_event = object()  # the core has no handler for it: step raises
    engine, sender = await run_engine(
        tmp_path, [message(1, "#startmeeting test"), not_an_event, message(3, "#chair")]
    )
    assert engine.stats.failures == 1
    assert engine.stats.events == 3
    assert sender.sent[-1][0] == "Current chairs: alice"


async def test_end_of_meeting_announces_the_files_after_publishing(tmp_path: Path) -> None:
    _, sender = await run_engine(
        tmp_path, [message(1, "#startmeeting test"), message(2, "#endmeeting")]
    )
    texts = [text for text, _ in sender.sent]
    assert texts[-4].startswith("Meeting ended ")
    assert texts[-3:] == [
        "Minutes:        http://example.org/test/2024/test.2024-05-01-12.00.html",
        "Minutes (text): http://example.org/test/2024/test.2024-05-01-12.00.txt",
        "Log:            http://example.org/test/2024/test.2024-05-01-12.00.log.html",
    ]
    assert (tmp_path / "out" / "test" / "2024" / "test.2024-05-01-12.00.html").exists()


async def test_a_save_is_journalled_so_a_crash_before_its_files_is_made_good(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output directory should be")  # the files fail
    await run_engine(tmp_path, [message(1, "#startmeeting test"), message(2, "#save")])
    blocker.unlink()
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        assert await store.pending_publishes() == [1]
        await Publishing(settings(tmp_path), store).finish_interrupted()  # the next start
        assert await store.pending_publishes() == []
    assert (tmp_path / "out" / "test" / "2024" / "test.2024-05-01-12.00.html").exists()


async def test_files_refused_for_a_passing_reason_are_written_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(publishing_module, "RETRY_SECONDS", 0.05)
    database = tmp_path / "db.sqlite3"
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output directory should be")  # mkdir fails
    async with await Store.open(database) as store:
        sender = RecordingSender(database)
        engine = engine_for(tmp_path, store, sender)
        publishing = engine.publisher
        assert isinstance(publishing, Publishing)
        engine.queue.put_nowait(message(1, "#startmeeting test"))
        engine.queue.put_nowait(message(2, "#endmeeting"))
        task = asyncio.create_task(engine.run())
        try:
            async with asyncio.timeout(5):
                while not publishing.unpublished:
                    await asyncio.sleep(0.01)
                assert not sender.sent[-1][0].startswith("Log:")  # nothing announced yet
                blocker.unlink()  # room again
                while not sender.sent[-1][0].startswith("Log:"):
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert not publishing.unpublished
        assert await store.pending_publishes() == []
    assert sender.sent[-1][0].endswith("/test/2024/test.2024-05-01-12.00.log.html")
    assert (tmp_path / "out" / "test" / "2024" / "test.2024-05-01-12.00.log.html").exists()


async def test_an_effect_refused_for_good_is_quarantined_and_recording_goes_on(
    tmp_path: Path,
) -> None:
    database = tmp_path / "db.sqlite3"
    async with await Store.open(database) as store:
        sender = RecordingSender(database)
        engine = engine_for(tmp_path, store, sender)
        queue = engine.queue
        queue.put_nowait(message(1, "#startmeeting test"))
        await engine.drain()
        with sqlite3.connect(database) as db:
            (meeting,), (last,) = (
                db.execute("SELECT id FROM meetings"),
                db.execute("SELECT MAX(n) FROM lines"),
            )
            # The number the third line below will get is taken already: its LineRecorded
            # violates the primary key, as two lines with one number would.
            db.execute(
                "INSERT INTO lines VALUES (?, ?, '2024-05-01T12:00:00.000000+00:00', 'x', "
                "'message', 'taken')",
                (meeting[0], last[0] + 3),
            )
        said = ["one", "two", "three", "four", "five"]
        for n, text in enumerate(said, start=10):
            queue.put_nowait(message(n, text))
        queue.put_nowait(message(20, "#chair"))
        await engine.drain()  # one batch holding the bad line among good ones
        for n, text in enumerate(["six", "seven"], start=30):
            queue.put_nowait(message(n, text))
        await engine.drain()  # the next batch is not held back by the bad one

    assert engine.stats.quarantined == 1
    assert not engine.backlog
    with sqlite3.connect(database) as db:
        stored = [r[0] for r in db.execute("SELECT text FROM lines WHERE nick = 'alice'")]
        quarantined = db.execute("SELECT effect, meeting_id, content, error FROM quarantine")
        (effect, meeting_id, content, error), *others = quarantined.fetchall()
    assert stored == ["#startmeeting test", "one", "two", "four", "five", "#chair", "six", "seven"]
    assert not others
    assert (effect, meeting_id) == ("LineRecorded", meeting[0])
    assert '"text":"three"' in content and f'"n":{last[0] + 3}' in content
    assert error.startswith("IntegrityError: UNIQUE constraint failed: lines.meeting_id, lines.n")
    # the bot still replied, after the line that asked was stored
    assert sender.sent[-1][0] == "Current chairs: alice"


async def test_files_of_an_unsafe_path_are_not_tried_again(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    (tmp_path / "out").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "out" / "test").symlink_to(tmp_path / "outside")  # leads out of the dir
    async with await Store.open(database) as store:
        engine = engine_for(tmp_path, store, RecordingSender(database))
        engine.queue.put_nowait(message(1, "#startmeeting test"))
        engine.queue.put_nowait(message(2, "#endmeeting"))
        await engine.drain()
        publishing = engine.publisher
        assert isinstance(publishing, Publishing)
        assert not publishing.unpublished  # given up: no retry can make the path safe
        assert await store.pending_publishes() == [1]
    assert list((tmp_path / "outside").iterdir()) == []

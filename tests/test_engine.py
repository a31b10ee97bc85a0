"""The engine with a real store: persist, then reply; one bad event never stops it."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import engine as engine_module
from bot.core.effects import Publish, Say, SetTopic
from bot.core.events import Event, MessageSeen
from bot.core.state import World
from bot.engine import Engine
from bot.store import Store
from bot.writers.paths import UnsafePathError

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


async def run_engine(tmp_path: Path, events: list[object]) -> tuple[Engine, RecordingSender]:
    database = tmp_path / "db.sqlite3"
    published: list[Publish] = []

    async def publish(effect: Publish) -> str:
        published.append(effect)
        return "http://example.org/x"

    async with await Store.open(database) as store:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        sender = RecordingSender(database)
        engine = Engine(World(), queue, store, {"net": sender}, publish)
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
        "Minutes:        http://example.org/x.html",
        "Minutes (text): http://example.org/x.txt",
        "Log:            http://example.org/x.log.html",
    ]


async def test_a_save_is_journalled_so_a_crash_before_its_files_is_made_good(
    tmp_path: Path,
) -> None:
    await run_engine(tmp_path, [message(1, "#startmeeting test"), message(2, "#save")])
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        assert len(await store.pending_publishes()) == 1


@pytest.mark.parametrize(
    "first_failure",
    [OSError(28, "No space left on device"), ValueError("a failure nobody foresaw")],
)
async def test_files_refused_for_a_passing_reason_are_written_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_failure: Exception
) -> None:
    monkeypatch.setattr(engine_module, "RETRY_SECONDS", 0.05)
    database = tmp_path / "db.sqlite3"
    calls: list[Publish] = []

    async def publish(effect: Publish) -> str:
        calls.append(effect)
        if len(calls) == 1:
            raise first_failure
        return "http://example.org/x"

    async with await Store.open(database) as store:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        sender = RecordingSender(database)
        engine = Engine(World(), queue, store, {"net": sender}, publish)
        queue.put_nowait(message(1, "#startmeeting test"))
        queue.put_nowait(message(2, "#endmeeting"))
        task = asyncio.create_task(engine.run())
        try:
            async with asyncio.timeout(5):
                while len(calls) < 2 or engine.publishing:
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert calls[1] is calls[0] and calls[0].final
    assert not engine.unpublished
    assert sender.sent[-1][0] == "Log:            http://example.org/x.log.html"


async def test_an_effect_refused_for_good_is_quarantined_and_recording_goes_on(
    tmp_path: Path,
) -> None:
    database = tmp_path / "db.sqlite3"
    async with await Store.open(database) as store:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        sender = RecordingSender(database)

        async def publish(effect: Publish) -> str:
            return "http://example.org/x"

        engine = Engine(World(), queue, store, {"net": sender}, publish)
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
    calls: list[Publish] = []

    async def publish(effect: Publish) -> str:
        calls.append(effect)
        raise UnsafePathError("the pattern climbs out of the output directory")

    database = tmp_path / "db.sqlite3"
    async with await Store.open(database) as store:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        engine = Engine(World(), queue, store, {"net": RecordingSender(database)}, publish)
        queue.put_nowait(message(1, "#startmeeting test"))
        queue.put_nowait(message(2, "#endmeeting"))
        await engine.drain()
    assert len(calls) == 1
    assert not engine.unpublished

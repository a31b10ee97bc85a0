"""Effects the database refuses for good: told apart from passing failures, kept whole."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.effects import LineRecorded, MeetingStarted
from bot.core.events import MessageSeen
from bot.core.record import LogLine
from bot.store import Store, StoreError
from bot.store import store as store_module
from bot.store.errors import refused_for_good
from tests.recordkit import T0, blank_record
from tests.test_engine import engine_for


async def test_what_is_refused_for_good_and_what_passes(tmp_path: Path) -> None:
    record = blank_record(id=3)
    line = LineRecorded(3, LogLine(1, T0, "alice", "message", "hi"))
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        await store.apply([MeetingStarted(record), line])
        with pytest.raises(sqlite3.IntegrityError) as duplicate:
            await store.apply([line])
        with pytest.raises(sqlite3.IntegrityError) as orphan:  # no such meeting
            await store.apply([LineRecorded(99, LogLine(1, T0, "bob", "message", "x"))])
        with pytest.raises(StoreError) as naive:
            await store.apply([LineRecorded(3, LogLine(2, T0.replace(tzinfo=None), "a", "", ""))])
    assert refused_for_good(duplicate.value)
    assert refused_for_good(orphan.value)
    assert refused_for_good(naive.value)

    holder = sqlite3.connect(tmp_path / "db.sqlite3", timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError) as busy:
            sqlite3.connect(tmp_path / "db.sqlite3", timeout=0).execute("BEGIN IMMEDIATE")
    finally:
        holder.rollback()
        holder.close()
    assert not refused_for_good(busy.value)
    assert not refused_for_good(OSError(28, "No space left on device"))


async def test_the_quarantine_keeps_the_whole_effect_whatever_it_holds(tmp_path: Path) -> None:
    bad = LineRecorded(3, LogLine(7, T0.replace(tzinfo=None), "al\udcffce", "message", "x"))
    when = datetime(2024, 5, 2, tzinfo=UTC)
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        await store.quarantine(bad, "StoreError: naive datetime", when)
        await store.quarantine(MeetingStarted(blank_record(id=4)), "IntegrityError: x", when)
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        rows = db.execute("SELECT time, meeting_id, effect, content, error FROM quarantine")
        first, second = rows.fetchall()
    assert first[:3] == ("2024-05-02T00:00:00.000000+00:00", 3, "LineRecorded")
    assert json.loads(first[3]) == {
        "type": "LineRecorded",
        "meeting_id": 3,
        "line": {
            "type": "LogLine",
            "n": 7,
            "time": "2024-05-01T12:00:00",
            "nick": "al\udcffce",
            "kind": "message",
            "text": "x",
        },
    }
    assert first[4] == "StoreError: naive datetime"
    assert second[1:3] == (4, "MeetingStarted")
    assert json.loads(second[3])["meeting"]["chairs"] == [
        {"type": "Chair", "nick": "alice", "account": None}
    ]


async def test_a_database_busy_for_a_while_keeps_the_effects_and_quarantines_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 50)
    database = tmp_path / "db.sqlite3"

    def said(n: int, text: str) -> MessageSeen:
        return MessageSeen("net", T0, n, "#chan", "alice", text, "gavel")

    async with await Store.open(database) as store:
        engine = engine_for(tmp_path, store, None)
        queue = engine.queue
        queue.put_nowait(said(1, "#startmeeting busy"))
        await engine.drain()
        other = sqlite3.connect(database, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database
        queue.put_nowait(said(2, "while it is busy"))
        await engine.drain()
        assert engine.backlog and engine.stats.quarantined == 0
        other.rollback()
        other.close()
        queue.put_nowait(said(3, "once it is free"))
        await engine.drain()
    assert not engine.backlog and engine.stats.quarantined == 0
    with sqlite3.connect(database) as db:
        texts = [r[0] for r in db.execute("SELECT text FROM lines WHERE nick = 'alice'")]
    assert texts == ["#startmeeting busy", "while it is busy", "once it is free"]

"""The archive's read-only connections read a meeting exactly as the bot's store does."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from bot.store import Store
from bot.store.archive_reads import _load
from tests.corekit import Room


async def test_the_web_reads_the_same_record_as_the_store(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    room = Room()
    async with await Store.open(database) as store:
        room.topic_is("Welcome | agenda: https://example.org/agenda")
        await store.apply(room.say("alice", "#startmeeting heat"))
        assert room.meeting is not None
        meeting_id = room.meeting.id
        await store.apply(room.say("bob", "#action bob to write docs"))
        await store.apply(room.say("alice", "#endmeeting"))
        stored = await store.load(meeting_id)
    assert stored is not None and stored.saved_topic and not stored.private
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        assert _load(conn, meeting_id) == stored

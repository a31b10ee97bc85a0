"""Load meetings back from the database as `MeetingRecord`s.

Read-only: nothing here writes, and nothing here starts a transaction (the caller decides
whether several reads must see one snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from bot.core.linelog import LineLog
from bot.core.record import (
    Chair,
    Gap,
    Item,
    MeetingRecord,
    Named,
    Presence,
    VoteRecord,
)
from bot.store.codec import json_to_ballots, json_to_options, opt_text_to_dt, text_to_dt
from bot.store.db import Row, run

SELECT_MEETING = """
SELECT id, network, channel, name, topic, owner, owner_account, timezone, started_at, ended_at,
    length_minutes, info_url, bot_nick, casemapping, restricted, lurking, saved_topic,
    private
FROM meetings WHERE id = ? AND redacted_at IS NULL
"""
SELECT_CHAIRS = "SELECT nick, account FROM chairs WHERE meeting_id = ? ORDER BY position"
SELECT_LINES = "SELECT n, time, nick, kind, text FROM lines WHERE meeting_id = ? ORDER BY n"
SELECT_ITEMS = """
SELECT id, kind, text, nick, time, line, url FROM items
WHERE meeting_id = ? AND removed = 0 ORDER BY id
"""
SELECT_VOTES = """
SELECT id, question, options, ballots, opened_by, opened_at, opened_line, closed_at, closed_line
FROM votes WHERE meeting_id = ? ORDER BY id
"""
SELECT_NAMED = "SELECT nick, line FROM named WHERE meeting_id = ? ORDER BY id"
SELECT_PRESENCE = """
SELECT time, kind, nick, detail FROM presence WHERE meeting_id = ? ORDER BY id
"""
SELECT_GAPS = "SELECT started_at, ended_at, reason FROM gaps WHERE meeting_id = ? ORDER BY id"


# What a whole meeting is read from besides its header row, in `record_from_rows`'s order.
MEETING_PARTS = (
    SELECT_CHAIRS,
    SELECT_LINES,
    SELECT_ITEMS,
    SELECT_VOTES,
    SELECT_NAMED,
    SELECT_PRESENCE,
    SELECT_GAPS,
)


async def load_meeting(conn: aiosqlite.Connection, meeting_id: int) -> MeetingRecord | None:
    """The whole meeting `meeting_id` (live items only), or None if there is no such meeting
    (or it was redacted)."""
    headers = await run(conn, SELECT_MEETING, (meeting_id,))
    if not headers:
        return None
    return record_from_rows(headers[0], [await run(conn, q, (meeting_id,)) for q in MEETING_PARTS])


def record_from_rows(h: Row, parts: Sequence[list[Row]]) -> MeetingRecord:
    """A meeting from its `SELECT_MEETING` row and the rows of `MEETING_PARTS`: one reading
    of those columns for the bot's connection and the archive's read-only ones."""
    chairs, lines, items, votes, named, presence, gaps = parts
    return MeetingRecord(
        id=h[0],
        network=h[1],
        channel=h[2],
        name=h[3],
        topic=h[4],
        owner=h[5],
        owner_account=h[6],
        timezone=h[7],
        start=text_to_dt(h[8]),
        end=opt_text_to_dt(h[9]),
        length_minutes=h[10],
        info_url=h[11],
        bot_nick=h[12],
        casemapping=h[13],
        restricted=bool(h[14]),
        lurking=bool(h[15]),
        saved_topic=h[16],
        private=bool(h[17]),
        chairs=tuple(Chair(nick=r[0], account=r[1]) for r in chairs),
        lines=to_lines(lines),
        items=tuple(to_item(r) for r in items),
        votes=tuple(to_vote(r) for r in votes),
        named=tuple(Named(nick=r[0], line=r[1]) for r in named),
        presence=tuple(to_presence(r) for r in presence),
        gaps=tuple(to_gap(r) for r in gaps),
    )


def to_lines(rows: list[Row]) -> LineLog:
    lines = LineLog()
    for r in rows:
        lines.add(r[0], text_to_dt(r[1]), r[2], r[3], r[4])
    return lines


def to_item(r: Row) -> Item:
    return Item(
        id=r[0], kind=r[1], text=r[2], nick=r[3], time=text_to_dt(r[4]), line=r[5], url=r[6]
    )


def to_vote(r: Row) -> VoteRecord:
    return VoteRecord(
        id=r[0],
        question=r[1],
        options=json_to_options(r[2]),
        ballots=json_to_ballots(r[3]),
        opened_by=r[4],
        opened_at=text_to_dt(r[5]),
        opened_line=r[6],
        closed_at=opt_text_to_dt(r[7]),
        closed_line=r[8],
    )


def to_presence(r: Row) -> Presence:
    return Presence(time=text_to_dt(r[0]), kind=r[1], nick=r[2], detail=r[3])


def to_gap(r: Row) -> Gap:
    return Gap(start=text_to_dt(r[0]), end=text_to_dt(r[1]), reason=r[2])

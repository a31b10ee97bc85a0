"""Searching the archive: a `SearchPlan` run as one parameterised query on a read-only
connection.

The reader never writes and never shares the bot's connection: SQLite's WAL lets it read
while the bot writes. Every query is stopped after `TIME_LIMIT` seconds by a progress
handler. Results come in the index's rowid order (newest first, see bot/store/schema.py), so
"newest first", "oldest first" and date limits need no sort; relevance ranks the
`RANK_WINDOW` newest matches, so a common word costs no more than a rare one.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import aiosqlite

from bot.archive.query import SearchPlan, rank
from bot.core.casemap import irc_lower
from bot.store.archive import ascii_fold_suffices, rowid_boundary, sql_irc_lower
from bot.store.codec import text_to_dt
from bot.store.db import in_thread, run
from bot.store.errors import StoreError
from bot.store.schema import PREFIX_INDEX, SCHEMA_VERSION

TIME_LIMIT = 2.0
TOTAL_CAP = 1000  # matches counted at most; beyond, the answer says "more than"
RANK_WINDOW = 300  # the newest matches ranked by relevance
PROGRESS_STEPS = 1000  # SQLite virtual machine steps between two looks at the clock


class SearchTimeout(StoreError):
    """The search ran past the time limit and was stopped."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One matching line and the meeting it belongs to."""

    meeting_id: int
    network: str
    channel: str
    series: str
    start: datetime
    timezone: str
    file_base: str | None
    line: int
    time: datetime
    nick: str
    kind: str  # "line", or the kind of the item the line made
    text: str


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    hits: list[Hit]
    total: int  # matches counted, up to TOTAL_CAP
    capped: bool  # there are more than `total`


# One statement shape; the optional filters are fixed fragments chosen by the plan. The
# index is the outer loop (CROSS JOIN keeps it there), walked in rowid order, so LIMIT stops
# the walk early. A series is a few hundred meetings at most: then the meetings are the
# outer loop and the index is asked about each meeting's rowid range, so a common word in
# a small series does not walk every match of the word.
_FROM_INDEX = """
FROM search AS s
CROSS JOIN archive AS a ON a.key = s.rowid >> 20
WHERE search MATCH :match AND s.rowid >= :low AND s.rowid < :high
"""
_FROM_SERIES = """
FROM archive AS a
CROSS JOIN search AS s ON s.rowid >= (a.key << 20) AND s.rowid < ((a.key + 1) << 20)
WHERE a.name IN (SELECT value FROM json_each(:series))
    AND a.key >= (:low >> 20) AND a.key < (:high >> 20) AND search MATCH :match
"""
_SERIES = " AND a.name IN (SELECT value FROM json_each(:series))"
_LINES = " AND EXISTS (SELECT 1 FROM lines AS l WHERE l.meeting_id = a.meeting_id"
_FILTERS = {
    "networks": " AND a.network IN (SELECT value FROM json_each(:networks))",
    "channels": " AND a.channel IN (SELECT value FROM json_each(:channels))",
    "nicks": (
        _LINES + " AND l.n = 1048575 - (s.rowid & 1048575)"
        " AND lower(l.nick) IN (SELECT value FROM json_each(:nicks)))"
    ),
    "hidden": (
        " AND (a.network || ' ' || a.channel) NOT IN (SELECT value FROM json_each(:hidden))"
    ),
}
# The `hidden` filter when a private channel's name has one of the brackets RFC 1459 folds:
# `archive.channel` is folded by ASCII only, so each row's is folded again. Without such a
# name (`ascii_fold_suffices`, asked of the whole key: a bracket in a network's name only
# costs the fold), `_FILTERS["hidden"]` is exact and costs no more than it did.
_HIDDEN_FOLDED = (
    f" AND (a.network || ' ' || {sql_irc_lower('a.channel')})"
    " NOT IN (SELECT value FROM json_each(:hidden))"
)
_MATCHES = "SELECT s.rowid AS rowid {where} ORDER BY {order} {direction} LIMIT :cap"
# Meeting by meeting, the index is read forwards within each meeting's range and the few
# matches are sorted afterwards: FTS5 reads a term backwards only by loading its whole
# doclist, once per meeting (`+ 0` keeps the order from being handed to the index).
_ORDER_INDEX, _ORDER_MEETINGS = "s.rowid", "(s.rowid + 0)"
_TEXTS = """
SELECT h.value, l.nick, l.text FROM json_each(:ids) AS h
CROSS JOIN archive AS a ON a.key = h.value >> 20
CROSS JOIN lines AS l ON l.meeting_id = a.meeting_id AND l.n = 1048575 - (h.value & 1048575)
"""
_SELECT_HITS = """
SELECT m.id, m.network, m.channel, a.name, m.started_at, m.timezone, m.file_base,
    l.n, l.time, l.nick, COALESCE(k.kind, 'line'), l.text
FROM json_each(:page) AS h
CROSS JOIN archive AS a ON a.key = h.value >> 20
CROSS JOIN meetings AS m ON m.id = a.meeting_id
CROSS JOIN lines AS l ON l.meeting_id = a.meeting_id AND l.n = 1048575 - (h.value & 1048575)
LEFT JOIN search_kinds AS k ON k.id = h.value
ORDER BY h.key
"""


def _where(plan: SearchPlan, hidden: list[str]) -> tuple[str, dict[str, object], str]:
    params: dict[str, object] = {
        "match": plan.match,
        "low": _boundary(plan.before) if plan.before else 0,
        "high": _boundary(plan.after) if plan.after else 1 << 62,
    }
    # A prefix the index has no prefix table for is expanded in full by each query of the
    # index, so it is expanded once, walking the index, rather than once per meeting.
    by_meeting = bool(plan.series) and all(
        not t.prefix or len(t.tokens[-1]) == PREFIX_INDEX for t in plan.terms
    )
    sql = _FROM_SERIES if by_meeting else _FROM_INDEX
    if plan.series:
        params["series"] = json.dumps(list(plan.series))
        if not by_meeting:
            sql += _SERIES
    values = {
        "networks": list(plan.networks),
        "channels": list(plan.channels),
        "nicks": list(plan.nicks),
        "hidden": hidden,
    }
    filters = _FILTERS
    if not all(map(ascii_fold_suffices, hidden)):
        filters = _FILTERS | {"hidden": _HIDDEN_FOLDED}
    for name, value in values.items():
        if value:
            sql += filters[name]
            params[name] = json.dumps(value)
    return sql, params, _ORDER_MEETINGS if by_meeting else _ORDER_INDEX


def _boundary(day: date) -> int:
    return rowid_boundary(datetime(day.year, day.month, day.day, tzinfo=UTC))


def hidden_key(network: str, channel: str) -> str:
    """How a private channel is named in the `hidden` filter: its channel folded by
    `irc_lower` (RFC 1459), as the bot compares channel names."""
    return f"{network} {irc_lower(channel)}"


def search_lines(
    conn: sqlite3.Connection,
    plan: SearchPlan,
    *,
    limit: int = 20,
    offset: int = 0,
    hidden: list[str] | None = None,
    time_limit: float = TIME_LIMIT,
    progress_steps: int = PROGRESS_STEPS,
) -> SearchAnswer:
    """The matching lines of public meetings, in the plan's order: the one search of
    `gavel search` and `gavel web`, run on the caller's read-only connection (in its thread),
    stopped after `time_limit` seconds. `hidden`: channels (`hidden_key`) never to show,
    whatever the database says about them."""
    where, params, order = _where(plan, hidden or [])
    params["cap"] = TOTAL_CAP + 1
    direction = "DESC" if plan.sort == "old" else "ASC"  # rowids count down in time
    # One walk of the index: the first TOTAL_CAP + 1 matches in time order give the
    # count and the page; for relevance the newest RANK_WINDOW are ranked (here rather
    # than by FTS5's bm25, whose statistics cost a walk of every doclist each time).
    matches = _MATCHES.format(where=where, order=order, direction=direction)
    deadline = time.monotonic() + time_limit

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0

    try:
        conn.execute("BEGIN")
        # Only for this search: the connection may serve other reads (the web's pages).
        conn.set_progress_handler(past_deadline, progress_steps)
        try:
            ids = [int(r[0]) for r in conn.execute(matches, params)]
            if plan.sort == "relevance" and plan.terms:
                window = {"ids": json.dumps(ids[:RANK_WINDOW])}
                found = conn.execute(_TEXTS, window).fetchall()
                ranked = rank(plan.terms, [(int(r[0]), str(r[1]), str(r[2])) for r in found])
                ids = ranked + ids[RANK_WINDOW:]
            page = ids[offset : offset + limit]
            rows = conn.execute(_SELECT_HITS, {"page": json.dumps(page)}).fetchall()
        finally:
            conn.set_progress_handler(None, 0)
            conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        # Interrupted: by the handler, which may stop FTS5 while it opens the index (then
        # SQLite says the virtual table failed, not that it was interrupted).
        if "interrupt" in str(exc) or time.monotonic() > deadline:
            raise SearchTimeout(
                f"The search took longer than {time_limit:g} seconds and was stopped; "
                "add words or filters to narrow it."
            ) from None
        raise StoreError(f"the search failed: {exc}") from exc
    hits = [_hit(tuple(row)) for row in rows]
    return SearchAnswer(hits, min(len(ids), TOTAL_CAP), len(ids) > TOTAL_CAP)


class ArchiveReader:
    """A read-only connection to the database for `gavel search`. `await ArchiveReader.open(p)`."""

    def __init__(self, conn: aiosqlite.Connection, progress_steps: int = PROGRESS_STEPS) -> None:
        self._conn = conn
        self._progress_steps = progress_steps

    @classmethod
    async def open(cls, path: Path, *, progress_steps: int = PROGRESS_STEPS) -> ArchiveReader:
        """Open the database at `path` read-only; the clock is checked every
        `progress_steps` steps of SQLite's virtual machine."""
        if not path.exists():
            raise StoreError(f"no database at {path}")
        conn = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        try:
            version = int((await run(conn, "PRAGMA user_version"))[0][0])
            if version < SCHEMA_VERSION:
                raise StoreError(
                    f"database schema version {version} is older than this Gavel's "
                    f"({SCHEMA_VERSION}); start the bot or run `gavel import` once to upgrade it"
                )
            if version > SCHEMA_VERSION:
                raise StoreError(f"database schema version {version} is newer than this Gavel")
        except BaseException:
            await conn.close()
            raise
        return cls(conn, progress_steps)

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def search(
        self,
        plan: SearchPlan,
        *,
        limit: int = 20,
        offset: int = 0,
        hidden: list[str] | None = None,
        time_limit: float = TIME_LIMIT,
    ) -> SearchAnswer:
        """`search_lines` on this reader's connection."""
        work = functools.partial(
            search_lines,
            plan=plan,
            limit=limit,
            offset=offset,
            hidden=hidden,
            time_limit=time_limit,
            progress_steps=self._progress_steps,
        )
        return await in_thread(self._conn, work)


def _hit(row: tuple[object, ...]) -> Hit:
    mid, network, channel, series, started, tz, base, n, when, nick, kind, text = row
    return Hit(
        meeting_id=int(str(mid)),
        network=str(network),
        channel=str(channel),
        series=str(series),
        start=text_to_dt(str(started)),
        timezone=str(tz),
        file_base=None if base is None else str(base),
        line=int(str(n)),
        time=text_to_dt(str(when)),
        nick=str(nick),
        kind=str(kind),
        text=str(text),
    )

"""The archive's reads: listings, one meeting, a running meeting's news, for `gavel web` and
the static indexes.

Read-only by construction: connections are opened with SQLite's `mode=ro` URI, so nothing
here can write, and the bot's single writer is never blocked (WAL lets readers and the
writer go on side by side). Each read runs as one read transaction in one trip to its
connection's thread, so a page sees one snapshot. Only public meetings (not `#restrictlogs`,
not from a private channel) are ever returned; for anything else a read answers None or
leaves it out, exactly as for a meeting that does not exist.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.archive.query import SearchPlan
from bot.archive.series import SeriesAliases
from bot.core.casemap import irc_lower
from bot.core.record import Item, MeetingRecord
from bot.store.archive import ascii_fold_suffices, sql_irc_lower
from bot.store.codec import opt_text_to_dt, text_to_dt
from bot.store.db import Row, in_thread
from bot.store.errors import StoreError
from bot.store.reads import MEETING_PARTS, SELECT_MEETING, record_from_rows, to_item
from bot.store.schema import SCHEMA_VERSION, check_version, user_version
from bot.store.search import PROGRESS_STEPS, TIME_LIMIT, SearchAnswer, hidden_key, search_lines

T = TypeVar("T")

PER_PAGE = 50
MAX_PER_PAGE = 100
MAX_PAGE = 100_000  # far beyond any archive; a bigger number is a bad request, not a scan
READERS = 4  # connections, each with its own thread: concurrent pages do not queue on one
BUSY_TIMEOUT_MS = 2000


def _hidden(network: str, channel: str) -> str:
    """SQL true when (`network`, `channel`) is a channel the configuration calls private:
    a row of `temp.hidden`, whose channel is folded by `irc_lower` (RFC 1459). Against a
    row whose name has none of RFC 1459's brackets, ASCII folding (lower()) is exact and
    cheaper (`ascii_fold_suffices`); against one with brackets, the whole fold is made only
    for a channel of the same length (folding keeps lengths), so others pay next to nothing."""
    return (
        f"EXISTS (SELECT 1 FROM temp.hidden AS h WHERE h.network = {network} AND h.channel = "
        f"CASE WHEN h.plain THEN lower({channel}) "
        f"WHEN length({channel}) = length(h.channel) THEN {sql_irc_lower(channel)} END)"
    )


def _shown(m: str) -> str:
    """What makes the meetings row named `m` one the archive may show at all: not
    restricted, not recorded in a private channel, and not in a channel the configuration
    now calls private (which also covers meetings recorded before meetings kept that)."""
    return (
        f"{m}.restricted = 0 AND {m}.private = 0 AND NOT {_hidden(f'{m}.network', f'{m}.channel')}"
    )


def _public(m: str) -> str:
    """The one definition of "public" every read uses: shown, and not redacted."""
    return f"{_shown(m)} AND {m}.redacted_at IS NULL"


PUBLIC = _public("m")
# A meeting that was public until it was redacted: its addresses answer 410 Gone. One that
# was never public stays as unknown as a meeting that does not exist.
SELECT_GONE = (
    f"SELECT 1 FROM meetings AS m WHERE m.id = ? AND m.redacted_at IS NOT NULL AND {_shown('m')}"
)

_MEETING_COLUMNS = """m.id, m.network, m.channel, m.name, m.topic, m.timezone, m.started_at,
    m.ended_at, (SELECT COALESCE(MAX(n), 0) FROM lines WHERE meeting_id = m.id), m.file_base"""


@dataclass(frozen=True, slots=True)
class MeetingRow:
    """One meeting in a listing."""

    id: int
    network: str
    channel: str
    name: str
    series: str  # the series the name belongs to (after aliases)
    topic: str | None
    timezone: str
    start: datetime
    end: datetime | None
    lines: int
    file_base: str | None

    @property
    def running(self) -> bool:
        return self.end is None


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """One series: its meetings' count, first and last start, and its newest meeting."""

    network: str
    name: str
    meetings: int
    first: datetime
    last: datetime
    last_id: int


class Paged:
    """Page arithmetic of a listing shown `per_page` at a time; `page` is 1-based. Shared
    by the archive's listings and the web's pages of search results."""

    __slots__ = ()
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@dataclass(frozen=True, slots=True)
class Page(Paged):
    """A page of a listing, newest first; `page` is 1-based."""

    rows: tuple[MeetingRow, ...]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True, slots=True)
class Home:
    running: tuple[MeetingRow, ...]
    latest: tuple[MeetingRow, ...]
    series: tuple[SeriesRow, ...]


@dataclass(frozen=True, slots=True)
class MeetingView:
    """One public meeting, whole, with its row and its neighbours in the series."""

    record: MeetingRecord
    row: MeetingRow
    previous: MeetingRow | None
    next: MeetingRow | None


@dataclass(frozen=True, slots=True)
class Month:
    """The public meetings of one month, by day of the month."""

    year: int
    month: int
    days: dict[int, tuple[MeetingRow, ...]]


@dataclass(frozen=True, slots=True)
class PersonAction:
    meeting: MeetingRow
    item: Item


@dataclass(frozen=True, slots=True)
class Person:
    network: str
    nick: str
    meetings: Page
    actions: tuple[PersonAction, ...]


@dataclass(frozen=True, slots=True)
class LiveNews:
    """What a running meeting recorded after line `after_line` and item `after_item`; the
    live items still standing (an `#undo` removes one); whether it has ended."""

    lines: tuple[tuple[int, datetime, str, str, str], ...]  # n, time, nick, kind, text
    items: tuple[Item, ...]
    item_ids: tuple[int, ...]
    ended: bool
    timezone: str


@dataclass(frozen=True, slots=True)
class SuccessRow:
    """A kept `#success` or `#thanks`; `meeting_id` is the public meeting whose log it links
    to (the one it was said in, else the channel's first public meeting of that UTC day)."""

    id: int
    kind: str
    time: datetime
    network: str
    channel: str
    nick: str
    text: str
    meeting_id: int | None


@dataclass(frozen=True, slots=True)
class SuccessPage(Paged):
    """A page of the successes (or the thanks), newest first; `page` is 1-based."""

    kind: str
    rows: tuple[SuccessRow, ...]
    total: int
    page: int
    per_page: int


class ArchiveReader:
    """Read-only access to the archive. Create with `await ArchiveReader.open(path, aliases)`;
    close with `close()`."""

    def __init__(
        self,
        conns: Sequence[aiosqlite.Connection],
        aliases: SeriesAliases,
        hidden: Iterable[tuple[str, str]] = (),
        search_seconds: float = TIME_LIMIT,
        search_steps: int = PROGRESS_STEPS,
    ) -> None:
        self._conns = list(conns)
        self._search_seconds = search_seconds
        self._search_steps = search_steps
        self._hidden_keys = sorted({hidden_key(network, channel) for network, channel in hidden})
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for conn in conns:
            self._idle.put_nowait(conn)
        self.aliases = aliases

    @classmethod
    async def open(
        cls,
        path: Path,
        aliases: SeriesAliases | None = None,
        readers: int = READERS,
        hidden: Iterable[tuple[str, str]] = (),
        search_seconds: float = TIME_LIMIT,
        search_steps: int = PROGRESS_STEPS,
    ) -> ArchiveReader:
        """Open `readers` read-only connections to the database at `path`; the meetings of
        the `hidden` (network, channel) pairs (the configured private channels) are never
        shown; a search is stopped after `search_seconds`. Raises `StoreError` when there is
        no database there."""
        hidden = list(hidden)
        # Folded as the bot folds channel names (RFC 1459): `#X[y]` hides `#x{y}` too.
        folded = {(network, irc_lower(channel)) for network, channel in hidden}
        private = sorted((n, c, int(ascii_fold_suffices(c))) for n, c in folded)
        if not path.is_file():
            raise StoreError(f"no database at {path}")
        uri = f"{path.resolve().as_uri()}?mode=ro"
        conns: list[aiosqlite.Connection] = []
        try:
            for _ in range(max(1, readers)):
                conn = await aiosqlite.connect(uri, uri=True, isolation_level=None)
                conns.append(conn)
                await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
                # The connection's own temporary table (in memory, not in the file).
                await conn.execute(
                    "CREATE TEMP TABLE hidden (network TEXT, channel TEXT, plain INTEGER)"
                )
                await conn.executemany("INSERT INTO temp.hidden VALUES (?, ?, ?)", private)
                await conn.execute("PRAGMA query_only = ON")
            await _check_schema(conns[0])
        except BaseException:
            for conn in conns:
                await conn.close()
            raise
        return cls(conns, aliases or SeriesAliases(), hidden, search_seconds, search_steps)

    async def close(self) -> None:
        for conn in self._conns:
            with suppress(Exception):
                await conn.close()

    async def _read(self, work: Callable[..., T], *args: object) -> T:
        conn = await self._idle.get()
        try:
            return await in_thread(conn, _snapshot, work, *args)
        finally:
            self._idle.put_nowait(conn)

    # The pages' reads. Each returns None (or an empty page) for what is not public.

    async def home(self, latest: int = 20) -> Home:
        return await self._read(_home, self.aliases, latest)

    async def series_list(self) -> tuple[SeriesRow, ...]:
        return await self._read(_series_list, self.aliases)

    async def series_page(
        self, network: str, name: str, page: int = 1, per_page: int = PER_PAGE
    ) -> Page:
        names = self.aliases.names_of(name)
        return await self._read(_series_page, self.aliases, network, names, page, per_page)

    async def series_all(self, network: str, name: str) -> tuple[MeetingRow, ...]:
        """Every public meeting of the series, newest first (for its static index)."""
        names = self.aliases.names_of(name)
        where = f"m.network = ? AND m.name IN ({_in(names)})"
        return await self._read(_listing, self.aliases, where, (network, *names))

    async def latest_in_series(self, network: str, name: str) -> MeetingRow | None:
        found = await self.series_page(network, name, 1, 1)
        return found.rows[0] if found.rows else None

    async def finished(
        self, network: str | None = None, name: str | None = None, limit: int = PER_PAGE
    ) -> tuple[MeetingRow, ...]:
        """The newest finished meetings (of one series, or of all), for the feeds."""
        names = self.aliases.names_of(name) if name is not None else None
        return await self._read(_finished, self.aliases, network, names, limit)

    async def channel_page(
        self, network: str, channel: str, page: int = 1, per_page: int = PER_PAGE
    ) -> Page:
        return await self._read(_channel_page, self.aliases, network, channel, page, per_page)

    async def day(self, day: date) -> tuple[MeetingRow, ...]:
        return await self._read(_day, self.aliases, day)

    async def month(self, year: int, month: int) -> Month:
        return await self._read(_month, self.aliases, year, month)

    async def meeting(self, meeting_id: int) -> MeetingView | None:
        return await self._read(_meeting, self.aliases, meeting_id)

    async def gone(self, meeting_id: int) -> bool:
        """Whether the meeting was public and has been redacted (its pages answer 410)."""
        return bool(await self._read(_rows, SELECT_GONE, (meeting_id,)))

    async def search(self, plan: SearchPlan, page: int, per_page: int) -> SearchAnswer:
        """One page of `gavel search`'s answer, by the same function, on one of these
        read-only connections; the configured private channels are left out as here
        everywhere. Raises `SearchTimeout` past the time limit."""
        work = functools.partial(
            search_lines,
            plan=plan,
            limit=per_page,
            offset=(page - 1) * per_page,
            hidden=self._hidden_keys,
            time_limit=self._search_seconds,
            progress_steps=self._search_steps,
        )
        conn = await self._idle.get()
        try:
            return await in_thread(conn, work)  # its own read transaction and time limit
        finally:
            self._idle.put_nowait(conn)

    async def live_news(self, meeting_id: int, after_line: int, after_item: int) -> LiveNews | None:
        return await self._read(_live_news, meeting_id, after_line, after_item)

    async def person(
        self, network: str, nick: str, page: int = 1, per_page: int = PER_PAGE
    ) -> Person:
        return await self._read(_person, self.aliases, network, nick, page, per_page)

    async def successes(self, kind: str, page: int = 1, per_page: int = PER_PAGE) -> SuccessPage:
        """The kept successes (`kind` "success") or thanks ("thanks"), newest first; none
        said in a private channel."""
        return await self._read(_successes, kind, page, per_page)


async def _check_schema(conn: aiosqlite.Connection) -> None:
    """A reader cannot migrate: the database must be at this Gavel's schema exactly."""
    found = await user_version(conn)
    check_version(found)
    if found < SCHEMA_VERSION:
        raise StoreError(
            f"database schema version {found} is older than this Gavel ({SCHEMA_VERSION}); "
            "start the bot (gavel run) once to bring it up to date"
        )


def _snapshot(conn: sqlite3.Connection, work: Callable[..., T], *args: object) -> T:
    """`work(conn, *args)` inside one read transaction: every SELECT sees the same moment."""
    conn.execute("BEGIN")
    try:
        return work(conn, *args)
    finally:
        with suppress(sqlite3.Error):
            conn.execute("COMMIT")


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[object] = ()) -> list[Row]:
    return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def _meeting_row(aliases: SeriesAliases, r: Row) -> MeetingRow:
    return MeetingRow(
        id=r[0],
        network=r[1],
        channel=r[2],
        name=r[3],
        series=aliases.canonical(r[3]),
        topic=r[4],
        timezone=r[5],
        start=text_to_dt(r[6]),
        end=opt_text_to_dt(r[7]),
        lines=int(r[8]),
        file_base=r[9],
    )


def _listing(
    conn: sqlite3.Connection,
    aliases: SeriesAliases,
    where: str,
    params: Sequence[object],
    order: str = "m.started_at DESC, m.id DESC",
    limit: int = -1,
    offset: int = 0,
) -> tuple[MeetingRow, ...]:
    sql = (
        f"SELECT {_MEETING_COLUMNS} FROM meetings AS m WHERE {PUBLIC} AND ({where}) "
        f"ORDER BY {order} LIMIT ? OFFSET ?"
    )
    return tuple(_meeting_row(aliases, r) for r in _rows(conn, sql, (*params, limit, offset)))


def _count(conn: sqlite3.Connection, where: str, params: Sequence[object]) -> int:
    sql = f"SELECT COUNT(*) FROM meetings AS m WHERE {PUBLIC} AND ({where})"
    return int(conn.execute(sql, params).fetchone()[0])


def _page(
    conn: sqlite3.Connection,
    aliases: SeriesAliases,
    where: str,
    params: Sequence[object],
    page: int,
    per_page: int,
) -> Page:
    page = min(max(1, page), MAX_PAGE)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    total = _count(conn, where, params)
    rows = _listing(conn, aliases, where, params, limit=per_page, offset=(page - 1) * per_page)
    return Page(rows, total, page, per_page)


def _in(names: Sequence[str]) -> str:
    return ", ".join("?" for _ in names)


def _home(conn: sqlite3.Connection, aliases: SeriesAliases, latest: int) -> Home:
    running = _listing(conn, aliases, "m.ended_at IS NULL", ())
    done = _listing(conn, aliases, "m.ended_at IS NOT NULL", (), limit=latest)
    return Home(running, done, _series_list(conn, aliases))


SERIES_GROUPS = f"""
SELECT m.network, m.name, COUNT(*), MIN(m.started_at), MAX(m.started_at),
    (SELECT x.id FROM meetings AS x WHERE x.network = m.network AND x.name = m.name
        AND {_public("x")} ORDER BY x.started_at DESC, x.id DESC LIMIT 1)
FROM meetings AS m WHERE {PUBLIC} GROUP BY m.network, m.name
"""


def _series_list(conn: sqlite3.Connection, aliases: SeriesAliases) -> tuple[SeriesRow, ...]:
    """Every series with public meetings, names merged by the aliases, by name."""
    merged: dict[tuple[str, str], SeriesRow] = {}
    for network, name, count, first, last, last_id in _rows(conn, SERIES_GROUPS):
        key = (network, aliases.canonical(name))
        row = SeriesRow(network, key[1], count, text_to_dt(first), text_to_dt(last), last_id)
        seen = merged.get(key)
        if seen is not None:
            newest = row if row.last > seen.last else seen
            row = SeriesRow(
                network,
                key[1],
                seen.meetings + row.meetings,
                min(seen.first, row.first),
                newest.last,
                newest.last_id,
            )
        merged[key] = row
    return tuple(sorted(merged.values(), key=lambda s: (s.name, s.network)))


def _series_page(
    conn: sqlite3.Connection,
    aliases: SeriesAliases,
    network: str,
    names: Sequence[str],
    page: int,
    per_page: int,
) -> Page:
    where = f"m.network = ? AND m.name IN ({_in(names)})"
    return _page(conn, aliases, where, (network, *names), page, per_page)


def _finished(
    conn: sqlite3.Connection,
    aliases: SeriesAliases,
    network: str | None,
    names: Sequence[str] | None,
    limit: int,
) -> tuple[MeetingRow, ...]:
    if network is None or names is None:
        return _listing(conn, aliases, "m.ended_at IS NOT NULL", (), limit=limit)
    where = f"m.ended_at IS NOT NULL AND m.network = ? AND m.name IN ({_in(names)})"
    return _listing(conn, aliases, where, (network, *names), limit=limit)


def _channel_page(
    conn: sqlite3.Connection,
    aliases: SeriesAliases,
    network: str,
    channel: str,
    page: int,
    per_page: int,
) -> Page:
    # Channel names are case-insensitive on IRC; ASCII folding covers every casemapping's
    # letters, and the few bracket characters that rfc1459 also folds are rare in names.
    where = "m.network = ? AND lower(m.channel) = lower(?)"
    return _page(conn, aliases, where, (network, channel), page, per_page)


# What the bot keeps (bot/store/followup.py), shown as its pages are: nothing from a channel
# the configuration calls private, nor said in a meeting recorded as private. A success said
# outside a meeting links to the channel's first public meeting of that UTC day (its
# `started_at` and the success's `time` are both stored in UTC, so the day is their first
# ten characters), found through the index on `started_at`.
_SHOWN_SUCCESS = f"""s.kind = ? AND NOT {_hidden("s.network", "s.channel")}
    AND NOT EXISTS (SELECT 1 FROM meetings AS p WHERE p.id = s.meeting_id AND p.private = 1)"""
SELECT_SUCCESSES = f"""
SELECT s.id, s.kind, s.time, s.network, s.channel, s.nick, s.text,
    CASE WHEN s.meeting_id IS NOT NULL THEN
        (SELECT m.id FROM meetings AS m WHERE m.id = s.meeting_id AND {PUBLIC})
    ELSE
        (SELECT m.id FROM meetings AS m
         WHERE m.started_at >= substr(s.time, 1, 10)
           AND m.started_at < date(substr(s.time, 1, 10), '+1 day')
           AND m.network = s.network AND lower(m.channel) = lower(s.channel) AND {PUBLIC}
         ORDER BY m.started_at, m.id LIMIT 1)
    END
FROM successes AS s
WHERE {_SHOWN_SUCCESS}
ORDER BY s.time DESC, s.id DESC
LIMIT ? OFFSET ?
"""
COUNT_SUCCESSES = f"SELECT COUNT(*) FROM successes AS s WHERE {_SHOWN_SUCCESS}"


def _successes(conn: sqlite3.Connection, kind: str, page: int, per_page: int) -> SuccessPage:
    page = min(max(1, page), MAX_PAGE)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    total = int(conn.execute(COUNT_SUCCESSES, (kind,)).fetchone()[0])
    found = _rows(conn, SELECT_SUCCESSES, (kind, per_page, (page - 1) * per_page))
    rows = tuple(
        SuccessRow(r[0], r[1], text_to_dt(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in found
    )
    return SuccessPage(kind, rows, total, page, per_page)


def _utc_text(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _between(start: datetime, end: datetime) -> tuple[str, tuple[str, str]]:
    return "m.started_at >= ? AND m.started_at < ?", (_utc_text(start), _utc_text(end))


def _day(conn: sqlite3.Connection, aliases: SeriesAliases, day: date) -> tuple[MeetingRow, ...]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    where, params = _between(start, start + timedelta(days=1))
    return _listing(conn, aliases, where, params, order="m.started_at, m.id")


def _month(conn: sqlite3.Connection, aliases: SeriesAliases, year: int, month: int) -> Month:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    where, params = _between(start, end)
    days: dict[int, list[MeetingRow]] = {}
    for row in _listing(conn, aliases, where, params, order="m.started_at, m.id"):
        days.setdefault(row.start.day, []).append(row)
    return Month(year, month, {d: tuple(rows) for d, rows in days.items()})


def _load(conn: sqlite3.Connection, meeting_id: int) -> MeetingRecord | None:
    """The whole meeting (live items only), as `reads.load_meeting` gives it."""
    headers = _rows(conn, SELECT_MEETING, (meeting_id,))
    if not headers:
        return None
    return record_from_rows(headers[0], [_rows(conn, q, (meeting_id,)) for q in MEETING_PARTS])


def _meeting(
    conn: sqlite3.Connection, aliases: SeriesAliases, meeting_id: int
) -> MeetingView | None:
    rows = _listing(conn, aliases, "m.id = ?", (meeting_id,))
    if not rows:
        return None
    row = rows[0]
    record = _load(conn, meeting_id)
    if record is None:
        return None
    names = aliases.names_of(row.series)
    series = f"m.network = ? AND m.name IN ({_in(names)})"
    at = _utc_text(row.start)
    before = (
        f"{series} AND (m.started_at < ? OR (m.started_at = ? AND m.id < ?))",
        (row.network, *names, at, at, row.id),
    )
    after = (
        f"{series} AND (m.started_at > ? OR (m.started_at = ? AND m.id > ?))",
        (row.network, *names, at, at, row.id),
    )
    previous = _listing(conn, aliases, *before, limit=1)
    following = _listing(conn, aliases, *after, order="m.started_at, m.id", limit=1)
    return MeetingView(
        record, row, previous[0] if previous else None, following[0] if following else None
    )


LIVE_HEADER = f"SELECT m.ended_at, m.timezone FROM meetings AS m WHERE m.id = ? AND {PUBLIC}"
LIVE_LINES = "SELECT n, time, nick, kind, text FROM lines WHERE meeting_id = ? AND n > ? ORDER BY n"
LIVE_ITEM_IDS = "SELECT id FROM items WHERE meeting_id = ? AND removed = 0 ORDER BY id"
LIVE_ITEMS = """
SELECT id, kind, text, nick, time, line, url FROM items
WHERE meeting_id = ? AND removed = 0 AND id > ? ORDER BY id
"""


def _live_news(
    conn: sqlite3.Connection, meeting_id: int, after_line: int, after_item: int
) -> LiveNews | None:
    header = _rows(conn, LIVE_HEADER, (meeting_id,))
    if not header:
        return None
    ended_at, timezone = header[0]
    lines = tuple(
        (r[0], text_to_dt(r[1]), r[2], r[3], r[4])
        for r in _rows(conn, LIVE_LINES, (meeting_id, after_line))
    )
    items = tuple(to_item(r) for r in _rows(conn, LIVE_ITEMS, (meeting_id, after_item)))
    ids = tuple(r[0] for r in _rows(conn, LIVE_ITEM_IDS, (meeting_id,)))
    return LiveNews(lines, items, ids, ended_at is not None, timezone)


PERSON_ACTIONS = f"""
SELECT i.meeting_id, i.id, i.kind, i.text, i.nick, i.time, i.line, i.url
FROM items AS i JOIN meetings AS m ON m.id = i.meeting_id
WHERE {PUBLIC} AND m.network = ? AND i.kind = 'action' AND i.removed = 0
    AND i.text LIKE ? ESCAPE '\\'
ORDER BY m.started_at DESC, i.id DESC LIMIT ?
"""
PERSON_ACTIONS_LIMIT = 200
MEETINGS_OF_NICK = (
    "SELECT a.meeting_id FROM search JOIN archive AS a ON a.key = search.rowid >> 20 "
    "WHERE search MATCH ?"
)
# Meetings whose lines may not all be in the index: running ones (a #save indexes the lines
# so far), ended ones whose files are still to be written, and those never indexed.
NOT_INDEXED = (
    "(m.ended_at IS NULL OR m.publish_pending = 1 OR m.id NOT IN (SELECT meeting_id FROM archive))"
)


def _nick_phrase(nick: str) -> str | None:
    """The index query for lines said by `nick`: its words as one phrase in the nick
    column; None when it has no letter or digit (nothing the index could look up)."""
    if not any(c.isalnum() for c in nick):
        return None
    return 'nick : "' + nick.replace('"', '""') + '"'


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def _names_nick(text: str, nick: str) -> bool:
    """Whether `nick` appears in `text` as a whole nick (not inside a longer one), the way
    the minutes assign actions to people."""
    chars = r"\w\[\]\\`^{}|-"
    pattern = rf"(?<![{chars}]){re.escape(nick)}(?![{chars}])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _person(
    conn: sqlite3.Connection,
    aliases: SeriesAliases,
    network: str,
    nick: str,
    page: int,
    per_page: int,
) -> Person:
    # Every meeting the person spoke in. Lines have no index by nick (the bot's recording
    # must not pay for one), but the search index has their nicks: only the meetings it
    # finds the nick in, and those not wholly in it (running, or not yet published), have
    # their lines looked through. The index folds more than NOCASE does (accents, punctuation),
    # so it finds every meeting the exact test below keeps, and some it drops.
    phrase = _nick_phrase(nick)
    spoke = (
        "EXISTS (SELECT 1 FROM lines AS l WHERE l.meeting_id = m.id AND l.nick = ? COLLATE NOCASE)"
    )
    params: tuple[str, ...]
    if phrase is None:  # no letter or digit to look up: every meeting's lines
        where, params = f"m.network = ? AND {spoke}", (network, nick)
    else:
        where = f"m.network = ? AND (m.id IN ({MEETINGS_OF_NICK}) OR {NOT_INDEXED}) AND {spoke}"
        params = (network, phrase, nick)
    meetings = _page(conn, aliases, where, params, page, per_page)
    found = _rows(conn, PERSON_ACTIONS, (network, _like(nick), PERSON_ACTIONS_LIMIT))
    wanted = [r for r in found if _names_nick(r[3], nick)]
    by_id = _meetings_by_id(conn, aliases, {r[0] for r in wanted})
    actions = tuple(PersonAction(by_id[r[0]], to_item(r[1:])) for r in wanted if r[0] in by_id)
    return Person(network, nick, meetings, actions)


def _meetings_by_id(
    conn: sqlite3.Connection, aliases: SeriesAliases, ids: Iterable[int]
) -> dict[int, MeetingRow]:
    wanted = sorted(ids)
    if not wanted:
        return {}
    rows = _listing(conn, aliases, f"m.id IN ({_in([str(i) for i in wanted])})", wanted)
    return {row.id: row for row in rows}

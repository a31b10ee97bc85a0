"""The store: one owned SQLite connection that persists recording effects and loads meetings.

Every recording effect is written before the engine acts on it (persist, then reply), one batch
per transaction. Rows are never deleted when a meeting ends; an `#undo` only marks an item
removed. The store decides nothing about meetings and never writes output files: it records
which meetings still need their files written (`publish_pending`), and it chooses, once, the
output base path each meeting owns (`reserve_file_base`): the one owner of file names.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import aiosqlite
import structlog

from bot.core.effects import Announce, Effect
from bot.core.record import MeetingRecord
from bot.store import archive, followup, redaction
from bot.store.bases import nowhere, reserve_base
from bot.store.codec import dt_to_text, effect_to_json, opt_text_to_dt, text_to_dt
from bot.store.db import Row, in_thread, rollback, run, scalar
from bot.store.errors import StoreError
from bot.store.importing import Imported, Prepared, import_batch, tune_for_import
from bot.store.reads import load_meeting
from bot.store.redaction import Redacted
from bot.store.schema import migrate
from bot.store.writes import Step, plan

T = TypeVar("T")
log = structlog.get_logger("gavel.store")

BUSY_TIMEOUT_MS = 5000
_EMPTY_LOG_WAIT_MS = 500  # how long emptying the log after a redaction waits for readers
CACHE_KIB = 512


@dataclass(frozen=True, slots=True)
class MeetingSummary:
    """One row of the meeting list: enough to pick a meeting without loading it."""

    id: int
    network: str
    channel: str
    name: str
    start: datetime
    end: datetime | None
    lines: int
    file_base: str | None


@dataclass(frozen=True, slots=True)
class MeetingHeader:
    """Where a meeting was held and where its files are (also for a redacted meeting)."""

    id: int
    network: str
    channel: str
    file_base: str | None
    redacted: bool
    name: str = ""


class Store:
    """The database of meetings. Create with `await Store.open(path)`; close with `close()`.

    Calls are serialised by a lock, so tasks sharing one store never see each other's
    half-done transactions."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if needed) the database at `path` and bring its schema up to date.
        Raises `StoreError` for a database written by a newer Gavel."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await _configure(conn)
            await migrate(conn)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    async def close(self) -> None:
        async with self._lock:
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

    async def apply(self, effects: Sequence[Effect]) -> None:
        """Persist every recording effect of `effects` in one transaction, in order.

        Other effects are ignored, except that `Publish` (like `MeetingEnded`) marks its meeting
        as having files to write. On any error nothing of the batch is kept and the error is
        re-raised: `StoreError` when an effect names an item or meeting that is not there,
        `sqlite3.Error` (e.g. `IntegrityError`, a full disk) from SQLite."""
        steps = plan(effects)
        if not steps:
            return
        # The whole transaction in one trip to the connection's thread: each await on
        # aiosqlite is a hand-off between threads, and a statement per await made the
        # hand-offs cost more than the commit itself on the way to every reply.
        await self._write_in_thread(_apply_steps, steps)

    async def quarantine(self, effect: Effect, error: str, when: datetime) -> None:
        """Set aside an effect the database refused for good, whole, with the error, so
        that recording goes on without it and nothing of it is lost."""
        meeting = getattr(effect, "meeting_id", None)
        record = getattr(effect, "meeting", None)  # MeetingStarted, Publish
        if isinstance(record, MeetingRecord):
            meeting = record.id
        row = (dt_to_text(when), meeting, type(effect).__name__, effect_to_json(effect), error)
        await self._write_in_thread(_insert, INSERT_QUARANTINE, row)

    async def load_running(self) -> list[MeetingRecord]:
        """Every meeting that has not ended, fully loaded, oldest id first."""
        async with self._read() as conn:
            rows = await run(conn, "SELECT id FROM meetings WHERE ended_at IS NULL ORDER BY id")
            return [await _must_load(conn, row[0]) for row in rows]

    async def load(self, meeting_id: int) -> MeetingRecord | None:
        async with self._read() as conn:
            return await load_meeting(conn, meeting_id)

    async def list_meetings(self, limit: int = 50) -> list[MeetingSummary]:
        """The `limit` most recently started meetings, newest first."""
        async with self._read() as conn:
            rows = await run(conn, SELECT_SUMMARIES, (limit,))
        return [_summary(row) for row in rows]

    async def all_meeting_ids(self) -> list[int]:
        async with self._read() as conn:
            sql = "SELECT id FROM meetings WHERE redacted_at IS NULL ORDER BY id"
            return [row[0] for row in await run(conn, sql)]

    async def max_id(self) -> int:
        """The largest meeting id in use (0 for an empty database), so new ids can start
        above it."""
        async with self._read() as conn:
            return int(await scalar(conn, "SELECT COALESCE(MAX(id), 0) FROM meetings"))

    async def reserve_file_base(
        self,
        meeting_id: int,
        candidate_base: str,
        *,
        taken_elsewhere: Callable[[str], bool] | None = None,
    ) -> str:
        """Choose and record the meeting's output base path (relative, no extension), once:
        the one place a meeting's file names are decided.

        A meeting keeps the base it already holds while `candidate_base` is unchanged (the base
        it holds is the candidate itself or the candidate with a `-N` suffix). Otherwise the
        first of `candidate`, `candidate-2`, `candidate-3`, ... that no other meeting holds and
        `taken_elsewhere` does not refuse (files of another meeting already on disk) is stored
        and returned, and the meeting's old base, if any, is released."""
        if not candidate_base:
            raise StoreError("an empty output base path cannot be reserved")
        elsewhere = taken_elsewhere or nowhere
        # Without waiting for the disk: a reservation lost to a crash of the machine belongs
        # to a publish not yet noted, which the next start makes again (choosing anew, and
        # finding its own files by their identity).
        return await self._write_in_thread(
            reserve_base, meeting_id, candidate_base, elsewhere, wait_for_disk=False
        )

    async def pending_publishes(self) -> list[int]:
        """Meetings whose files must still be written (ended or saved, not yet published)."""
        async with self._read() as conn:
            rows = await run(conn, "SELECT id FROM meetings WHERE publish_pending = 1 ORDER BY id")
            return [row[0] for row in rows]

    async def mark_published(
        self,
        meeting_id: int,
        when: datetime,
        upto_line: int | None = None,
        announce: Sequence[Announce] = (),
        *,
        index: bool = False,
        private: bool | None = None,
    ) -> None:
        """Record that the meeting's files were written at `when`, from a record holding its
        lines up to number `upto_line` (None: all of them).

        With `index`, the meeting is put into the search index in the same transaction, as
        `index_meeting` does (with its `private`): a meeting noted published is searchable,
        and a crash between the two cannot leave it out of search for good.

        The meeting stays pending when lines came after `upto_line`: a later `#save` or
        `#endmeeting` may have asked for files while these were being written, and a crash
        before those are written must leave them to the next start.

        `announce`: the announcements of the meeting's completion, queued in the outbox in
        the same transaction (a repeat of one already queued is ignored).

        The commit does not wait for the disk: the files are derived data, and a note lost
        to a crash of the machine only means the next start writes them again (and queues
        the same announcements again, which are then ignored as repeats). The next commit
        that does wait (the journal's) makes it durable too (WAL)."""

        def published(conn: sqlite3.Connection) -> None:
            _mark_published(conn, meeting_id, dt_to_text(when), upto_line)
            if announce:
                _apply_steps(conn, plan(announce))
            if index:
                _index_or_say_why(conn, meeting_id, private)

        await self._write_in_thread(published, wait_for_disk=False)

    async def index_meeting(self, meeting_id: int, *, private: bool | None = None) -> bool:
        """Put the meeting's lines into the search index (again), or take them out when it is
        not public; `private` (from the channel's configuration) is recorded first. Called
        after its files are published, never while it records. True when it is searchable."""
        return await self._write_in_thread(archive.index_meeting, meeting_id, private)

    async def import_meetings(
        self,
        records: Sequence[Prepared],
        bases: Sequence[str | None],
        private: Sequence[bool],
        *,
        replace: bool,
    ) -> list[Imported]:
        """Import whole meetings in one transaction (see `bot.store.importing`)."""
        return await self._write_in_thread(import_batch, records, bases, private, replace)

    async def tune_for_import(self) -> None:
        """This connection only: settings for a bulk import (see `bot.store.importing`)."""
        async with self._lock:
            await in_thread(self._conn, tune_for_import)

    async def redact_line(self, meeting_id: int, line: int, reason: str) -> Redacted:
        """Replace one line's text by `[redacted]` (see `bot.store.redaction`)."""
        at = dt_to_text(datetime.now(UTC))
        return await self._write_in_thread(
            _erasing, redaction.redact_line, meeting_id, line, reason, at
        )

    async def redact_meeting(self, meeting_id: int, reason: str) -> Redacted:
        """Remove everything said in a meeting; its header stays, marked redacted."""
        at = dt_to_text(datetime.now(UTC))
        return await self._write_in_thread(
            _erasing, redaction.redact_meeting, meeting_id, reason, at
        )

    async def redact_person(self, network: str, nick: str, reason: str) -> Redacted:
        """Replace a nick by a pseudonym in every meeting of the network."""
        at = dt_to_text(datetime.now(UTC))
        return await self._write_in_thread(
            _erasing, redaction.redact_person, network, nick, reason, at
        )

    async def purge_index(self, max_steps: int = 100_000) -> int:
        """Merge the index's segments until the bytes of deleted rows are gone, one short
        transaction per step so the bot is never held up for long. Returns the steps."""
        for steps in range(1, max_steps + 1):
            if not await self._write_in_thread(archive.purge_deleted):
                return steps
        return max_steps

    async def empty_log(self) -> bool:
        """Copy the write-ahead log into the database and empty it, so that no earlier
        version of a page (a redacted text as it was) stays in either file. False when a
        reader of an older snapshot (the bot's or the web's) kept it from finishing within
        `_EMPTY_LOG_WAIT_MS`; the log is then emptied at a later checkpoint. It holds up
        the bot's writes while it waits, hence the short wait."""
        async with self._lock:
            return await in_thread(self._conn, _empty_log)

    async def header(self, meeting_id: int) -> MeetingHeader | None:
        sql = "SELECT network, channel, file_base, redacted_at, name FROM meetings WHERE id = ?"
        async with self._read() as conn:
            rows = await run(conn, sql, (meeting_id,))
        if not rows:
            return None
        network, channel, base, redacted_at, name = rows[0]
        return MeetingHeader(meeting_id, network, channel, base, redacted_at is not None, name)

    async def redactions(self) -> list[Row]:
        """The audit trail: (at, what, network, meeting_id, line, pseudonym, reason)."""
        sql = "SELECT at, what, network, meeting_id, line, pseudonym, reason FROM redactions"
        async with self._read() as conn:
            return await run(conn, sql + " ORDER BY id")

    async def published_at(self, meeting_id: int) -> datetime | None:
        """When the meeting's files were last written, or None if never."""
        sql = "SELECT published_at FROM meetings WHERE id = ?"
        async with self._read() as conn:
            return opt_text_to_dt(await scalar(conn, sql, (meeting_id,)))

    async def file_base(self, meeting_id: int) -> str | None:
        """The output base path the meeting holds, or None if it holds none yet."""
        async with self._read() as conn:
            sql = "SELECT file_base FROM meetings WHERE id = ?"
            value: str | None = await scalar(conn, sql, (meeting_id,))
            return value

    async def last_activity(self, meeting_id: int) -> datetime:
        """The latest time the meeting is known to have been recording: its start, its last
        line, its last presence change or the end of its last gap. A restart's gap starts
        here."""
        async with self._read() as conn:
            if await scalar(conn, "SELECT 1 FROM meetings WHERE id = ?", (meeting_id,)) is None:
                raise StoreError(f"no meeting {meeting_id}")
            latest = await scalar(conn, SELECT_LAST_ACTIVITY, {"id": meeting_id})
        return text_to_dt(latest)

    async def integrity_check(self) -> str:
        """`PRAGMA integrity_check`: "ok", or the problems found, one per line."""
        async with self._read() as conn:
            rows = await run(conn, "PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)

    # --- between meetings (bot/store/followup.py) ------------------------------------

    async def successes(
        self,
        kind: str,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        limit: int = 1000,
        newest_first: bool = True,
    ) -> list[followup.StoredSuccess]:
        """Kept successes (`kind` "success") or thanks ("thanks"), `since <= time < until`."""
        return await self._read_in_thread(
            followup.successes, kind, since, until, limit, newest_first
        )

    async def previous_meeting(
        self,
        network: str,
        names: Sequence[str],
        before: datetime,
        exclude_id: int,
        private_channels: frozenset[str] = frozenset(),
    ) -> followup.PreviousRow | None:
        return await self._read_in_thread(
            followup.previous_meeting, network, names, before, exclude_id, private_channels
        )

    async def due_deliveries(self, now: datetime, limit: int = 20) -> list[followup.Delivery]:
        return await self._read_in_thread(followup.due_deliveries, now, limit)

    async def next_delivery_due(self) -> datetime | None:
        return await self._read_in_thread(followup.next_due)

    async def deliveries(self, states: Sequence[str]) -> list[followup.Delivery]:
        return await self._read_in_thread(followup.deliveries, states)

    async def delivery_sent(self, row_id: int, when: datetime) -> None:
        await self._write_in_thread(followup.mark_sent, row_id, when)

    async def delivery_failed(
        self, row_id: int, error: str, next_at: datetime, *, give_up: bool
    ) -> None:
        await self._write_in_thread(followup.mark_attempt_failed, row_id, error, next_at, give_up)

    async def retry_delivery(self, key: str, now: datetime) -> bool:
        return await self._write_in_thread(followup.retry_now, key, now)

    async def _read_in_thread(self, work: Callable[..., T], *args: object) -> T:
        """`work(connection, *args)` on the connection's thread, in one trip (reads only)."""
        async with self._lock:
            return await in_thread(self._conn, work, *args)

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction; taking the write lock at BEGIN avoids a late SQLITE_BUSY."""
        async with self._lock, _transaction(self._conn, "BEGIN IMMEDIATE"):
            yield self._conn

    async def _write_in_thread(
        self, work: Callable[..., T], *args: object, wait_for_disk: bool = True
    ) -> T:
        """`work(connection, *args)` in one write transaction, in one trip to the thread.
        With `wait_for_disk` False the commit is not synced (`synchronous = NORMAL` for
        this transaction): durable against a crash of the process, and against one of the
        machine once a later synced commit has run."""
        async with self._lock:
            if wait_for_disk:
                return await in_thread(self._conn, _in_transaction, work, *args)
            return await in_thread(self._conn, _unsynced_transaction, work, *args)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read transaction: several SELECTs see one snapshot."""
        async with self._lock, _transaction(self._conn, "BEGIN"):
            yield self._conn


SELECT_SUMMARIES = """
SELECT m.id, m.network, m.channel, m.name, m.started_at, m.ended_at,
    (SELECT COUNT(*) FROM lines AS l WHERE l.meeting_id = m.id), m.file_base
FROM meetings AS m ORDER BY m.started_at DESC, m.id DESC LIMIT ?
"""

INSERT_QUARANTINE = """
INSERT INTO quarantine (time, meeting_id, effect, content, error) VALUES (?, ?, ?, ?, ?)
"""
CLEAR_PENDING = "UPDATE meetings SET publish_pending = 0 WHERE id = ?"
CAUGHT_UP = " AND (SELECT COALESCE(MAX(n), 0) FROM lines WHERE meeting_id = ?) <= ?"

# Stored times are fixed-width UTC text, so MAX over text is MAX over time.
SELECT_LAST_ACTIVITY = """
SELECT MAX(t) FROM (
    SELECT started_at AS t FROM meetings WHERE id = :id
    UNION ALL SELECT MAX(time) FROM lines WHERE meeting_id = :id
    UNION ALL SELECT MAX(time) FROM presence WHERE meeting_id = :id
    UNION ALL SELECT MAX(ended_at) FROM gaps WHERE meeting_id = :id
)
"""


async def _configure(conn: aiosqlite.Connection) -> None:
    """Connection settings; they must be set outside any transaction."""
    mode = await scalar(conn, "PRAGMA journal_mode = WAL")
    if str(mode).lower() != "wal":
        raise StoreError(f"cannot use WAL journal mode here (got {mode!r})")
    await run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    await run(conn, "PRAGMA synchronous = FULL")
    # The bot appends and seldom reads: a small page cache (SQLite's default is 2 MB) keeps
    # the pages that appending touches and leaves the memory to the meetings.
    await run(conn, f"PRAGMA cache_size = -{CACHE_KIB:d}")
    await run(conn, "PRAGMA foreign_keys = ON")


@asynccontextmanager
async def _transaction(conn: aiosqlite.Connection, begin: str) -> AsyncIterator[None]:
    await run(conn, begin)
    try:
        yield
        await run(conn, "COMMIT")
    except BaseException:
        await rollback(conn)
        raise


def _index_or_say_why(conn: sqlite3.Connection, meeting_id: int, private: bool | None) -> None:
    """Index the meeting for search within the caller's transaction; if the index refuses
    it, take back only the index's part and log why: the meeting's files, and the
    announcements queued with their note, must not wait on search (`gavel regenerate`
    indexes it again)."""
    conn.execute("SAVEPOINT search_index")
    try:
        archive.index_meeting(conn, meeting_id, private)
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK TO search_index")
        log.warning("search_index_failed", meeting=meeting_id, error=str(exc))
    finally:
        conn.execute("RELEASE search_index")


def _in_transaction(conn: sqlite3.Connection, work: Callable[..., T], *args: object) -> T:
    """Run `work(conn, *args)` in one write transaction (on the connection's own thread);
    on any error roll back and re-raise it."""
    conn.execute("BEGIN IMMEDIATE")  # the write lock at BEGIN avoids a late SQLITE_BUSY
    try:
        result = work(conn, *args)
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):  # SQLite may have rolled back by itself already
            conn.execute("ROLLBACK")
        raise
    return result


def _unsynced_transaction(conn: sqlite3.Connection, work: Callable[..., T], *args: object) -> T:
    """`_in_transaction` with a commit that does not wait for the disk (WAL: the frames
    are written, the next synced commit syncs them too)."""
    # Back to what it was after: FULL for the bot, NORMAL on an import's own connection.
    before = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        return _in_transaction(conn, work, *args)
    finally:
        conn.execute(f"PRAGMA synchronous = {before:d}")


def _erasing(conn: sqlite3.Connection, work: Callable[..., T], *args: object) -> T:
    """`work(conn, *args)` with what it deletes or overwrites erased from the file, not only
    marked free (SQLite's `secure_delete`, whatever the build's default). It stays on for
    the connection: the index merges after a redaction must erase too."""
    conn.execute("PRAGMA secure_delete = ON")
    return work(conn, *args)


def _empty_log(conn: sqlite3.Connection) -> bool:
    conn.execute(f"PRAGMA busy_timeout = {_EMPTY_LOG_WAIT_MS:d}")
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    return int(busy) == 0


def _insert(conn: sqlite3.Connection, sql: str, row: tuple[object, ...]) -> None:
    conn.execute(sql, row)


def _apply_steps(conn: sqlite3.Connection, steps: list[Step]) -> None:
    for step in steps:
        changed = conn.executemany(step.sql, step.rows).rowcount
        if step.must_match and changed != len(step.rows):
            missed = len(step.rows) - changed
            raise StoreError(f"{step.what} ({missed} of {len(step.rows)} missed)")


def _mark_published(
    conn: sqlite3.Connection, meeting_id: int, when: str, upto_line: int | None
) -> None:
    sql = "UPDATE meetings SET published_at = ? WHERE id = ?"
    if conn.execute(sql, (when, meeting_id)).rowcount != 1:
        raise StoreError(f"no meeting {meeting_id} to mark published")
    if upto_line is None:
        conn.execute(CLEAR_PENDING, (meeting_id,))
    else:
        conn.execute(CLEAR_PENDING + CAUGHT_UP, (meeting_id, meeting_id, upto_line))


async def _must_load(conn: aiosqlite.Connection, meeting_id: int) -> MeetingRecord:
    record = await load_meeting(conn, meeting_id)
    if record is None:
        raise StoreError(f"meeting {meeting_id} vanished while loading")
    return record


def _summary(row: Row) -> MeetingSummary:
    mid, network, channel, name, start, end, lines, file_base = row
    return MeetingSummary(
        id=int(mid),
        network=str(network),
        channel=str(channel),
        name=str(name),
        start=text_to_dt(start),
        end=opt_text_to_dt(end),
        lines=int(lines),
        file_base=None if file_base is None else str(file_base),
    )

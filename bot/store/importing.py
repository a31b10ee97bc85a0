"""Writing imported meetings: whole meetings per transaction, indexed as they go in.

A batch of meetings is one transaction, so a crash or Ctrl-C leaves every meeting either
fully imported (with its index rows) or absent. A meeting already in the database (same
network, channel, meeting name and start) is skipped, or replaced when asked. Runs on a
plain `sqlite3.Connection` in the store's thread; decides nothing about meetings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.core.linelog import LineLog, from_epoch_micros
from bot.core.record import MeetingRecord
from bot.store.archive import index_meeting, unindex_meeting
from bot.store.bases import reserve_base
from bot.store.codec import dt_to_text
from bot.store.writes import INSERT_LINE, meeting_steps

SELECT_SAME = """
SELECT id FROM meetings WHERE network = ? AND channel = ? AND started_at = ? AND name = ?
"""
DELETE_PARTS = tuple(
    f"DELETE FROM {table} WHERE meeting_id = ?"
    for table in ("chairs", "lines", "items", "votes", "named", "presence", "gaps")
)
DELETE_MEETING = "DELETE FROM meetings WHERE id = ?"
SELECT_MAX_ID = "SELECT COALESCE(MAX(id), 0) FROM meetings"


# The import's own connection only (the live bot keeps synchronous = FULL and a small cache):
# - synchronous = NORMAL: in WAL mode a commit no longer waits for fsync; the WAL is still
#   synced at each checkpoint, so the database is never corrupted. A power cut may lose the
#   last batches committed, but each batch is whole meetings in one transaction, so they are
#   absent, never half there, and running the import again (it skips what is in) finishes
#   the job: all-or-nothing per meeting is kept, only the last seconds may need redoing.
# - a large page cache: a batch writes some 30 MB of rows and index segments, and FTS5 reads
#   its fresh segments back to merge them; with the bot's small cache those pages spill to
#   the WAL and are read back through it.
IMPORT_CACHE_KIB = 65_536
IMPORT_PRAGMAS = (
    "PRAGMA synchronous = NORMAL",
    f"PRAGMA cache_size = -{IMPORT_CACHE_KIB:d}",
    "PRAGMA temp_store = MEMORY",
)


def tune_for_import(conn: sqlite3.Connection) -> None:
    """Connection settings for a bulk import (outside any transaction)."""
    for pragma in IMPORT_PRAGMAS:
        conn.execute(pragma)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A meeting's rows made ready away from the writer (in a worker process): every
    statement with its parameter rows, the meeting id left out of each row."""

    identity: tuple[str, str, str, str]  # network, channel, started_at, name
    statements: tuple[tuple[str, list[tuple[object, ...]]], ...]


def prepare(record: MeetingRecord) -> Prepared:
    """The rows of `record` without its id (the writer gives it one). Every statement of
    `meeting_steps` takes the meeting id as its first parameter."""
    statements = []
    # The lines (nearly all the rows) are built apart, straight from the log's columns.
    for step in meeting_steps(replace(record, lines=LineLog())):
        if step.sql == INSERT_LINE:
            if record.lines:
                statements.append((INSERT_LINE, line_rows(record.lines)))
        elif step.rows:
            if _ID_FIRST not in step.sql:
                raise ValueError(f"statement does not start with the meeting id: {step.sql}")
            statements.append((step.sql, [row[1:] for row in step.rows]))
    identity = (record.network, record.channel, dt_to_text(record.start), record.name)
    return Prepared(identity, tuple(statements))


_ID_FIRST = "VALUES (?"


def line_rows(lines: LineLog) -> list[tuple[object, ...]]:
    """`writes.line_row` of every line without the meeting id, built from the log's columns: a
    meeting's lines share a few hundred distinct seconds, each formatted once."""
    texts: dict[int, str] = {}
    rows: list[tuple[object, ...]] = []
    for (n, nick, kind, text), micros in zip(lines.rows(), lines.micros(), strict=True):
        time = texts.get(micros)
        if time is None:
            time = texts[micros] = dt_to_text(from_epoch_micros(micros))
        rows.append((n, time, nick, kind, text))
    return rows


@dataclass(frozen=True, slots=True)
class Imported:
    """What happened to one meeting of a batch: its id, and whether it went in."""

    id: int
    added: bool  # False: it was there already and was left alone
    base: str | None = None  # the output base path it holds


def import_batch(
    conn: sqlite3.Connection,
    records: Sequence[Prepared],
    bases: Sequence[str | None],
    private: Sequence[bool],
    replace_existing: bool,
) -> list[Imported]:
    """Insert `records` (their ids are ignored: each gets the next free id, or the id of the
    meeting it replaces), each with the output base path `bases[i]` and, unless `private[i]`,
    its index rows."""
    next_id = int(conn.execute(SELECT_MAX_ID).fetchone()[0]) + 1
    done: list[Imported] = []
    to_index: list[tuple[str, int, bool]] = []
    for record, base, hidden in zip(records, bases, private, strict=True):
        row = conn.execute(SELECT_SAME, record.identity).fetchone()
        if row is not None and not replace_existing:
            done.append(Imported(int(row[0]), added=False))
            continue
        if row is not None:
            meeting_id = int(row[0])
            old = conn.execute("SELECT file_base FROM meetings WHERE id = ?", (meeting_id,))
            base = old.fetchone()[0] or base
            delete_meeting(conn, meeting_id)
        else:
            meeting_id, next_id = next_id, next_id + 1
        insert_prepared(conn, record, meeting_id)
        held = reserve_base(conn, meeting_id, base) if base is not None else None
        to_index.append((record.identity[2], meeting_id, hidden))
        done.append(Imported(meeting_id, added=True, base=held))
    # Newest first: index rowids count down in time, and FTS5 writes its pending rows out
    # each time a rowid is smaller than the one before, so rising rowids keep them together.
    for _, meeting_id, hidden in sorted(to_index, reverse=True):
        index_meeting(conn, meeting_id, hidden)
    return done


def insert_prepared(conn: sqlite3.Connection, prepared: Prepared, meeting_id: int) -> None:
    # The id goes into the statement as an integer literal (formatted with :d, so nothing
    # but digits), which saves building a new tuple per row in this, the one writer.
    for sql, rows in prepared.statements:
        conn.executemany(sql.replace(_ID_FIRST, f"VALUES ({meeting_id:d}", 1), rows)


def delete_meeting(conn: sqlite3.Connection, meeting_id: int) -> None:
    """Remove a meeting and everything recorded of it, index rows first."""
    unindex_meeting(conn, meeting_id)
    for sql in DELETE_PARTS:
        conn.execute(sql, (meeting_id,))
    conn.execute(DELETE_MEETING, (meeting_id,))

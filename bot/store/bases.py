"""Output base paths: the one rule by which a meeting's file names are chosen in the
database (the candidate, else `candidate-2`, `candidate-3`, ...), shared by the live bot's
publishing and the archive's import. Runs on a plain `sqlite3.Connection` inside the
caller's transaction."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from bot.store.errors import StoreError

MAX_SUFFIX = 10_000  # far more same-named meetings in one minute than anyone will hold


def nowhere(base: str) -> bool:
    return False


def reserve_base(
    conn: sqlite3.Connection,
    meeting_id: int,
    candidate: str,
    elsewhere: Callable[[str], bool] = nowhere,
) -> str:
    """Give meeting `meeting_id` the base `candidate`, else `candidate-2`, `candidate-3`, ...
    (the first held by no other meeting and, by `elsewhere`, free on disk), or keep the one
    it holds when reserving `candidate` could have given it; the base it holds after."""
    row = conn.execute("SELECT file_base FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
    if row is None:
        raise StoreError(f"no meeting {meeting_id} to reserve a file base for")
    held: str | None = row[0]
    if held is not None and _same_candidate(held, candidate):
        return held
    base = _first_free(candidate, _bases_taken(conn, meeting_id, candidate), elsewhere)
    conn.execute("UPDATE meetings SET file_base = ? WHERE id = ?", (base, meeting_id))
    return base


def _same_candidate(held: str, candidate: str) -> bool:
    """Is `held` what reserving `candidate` could have given: itself or `candidate-N`?"""
    return held == candidate or re.fullmatch(re.escape(candidate) + r"-[1-9]\d*", held) is not None


def _bases_taken(conn: sqlite3.Connection, meeting_id: int, candidate: str) -> set[str]:
    """Bases held by other meetings that are `candidate` or start with `candidate-`.

    SQLite compares text by its UTF-8 bytes, which orders like code points, so every string
    starting with `candidate-` lies in [`candidate-`, `candidate.`)."""
    sql = """
    SELECT file_base FROM meetings WHERE id != ?
        AND (file_base = ? OR (file_base >= ? AND file_base < ?))
    """
    rows = conn.execute(sql, (meeting_id, candidate, candidate + "-", candidate + "."))
    return {str(row[0]) for row in rows}


def _first_free(candidate: str, taken: set[str], elsewhere: Callable[[str], bool]) -> str:
    if candidate not in taken and not elsewhere(candidate):
        return candidate
    for n in range(2, MAX_SUFFIX):
        base = f"{candidate}-{n}"
        if base not in taken and not elsewhere(base):
            return base
    raise StoreError(f"no free output base path for {candidate!r} (tried up to -{MAX_SUFFIX})")

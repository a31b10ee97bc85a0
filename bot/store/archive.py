"""The searchable archive's writes: putting a meeting into the full-text index, taking it out.

A meeting is in the index when it is public (not restricted, not from a private channel, not
redacted) and its files are published or its import committed; never while it records.
Rows of the index are numbered `key << LINE_BITS | n` (see bot/store/schema.py), so the
index's rowid order is the meetings' time order. Functions here run on a plain
`sqlite3.Connection` inside the caller's transaction; they decide nothing about meetings.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.store.errors import StoreError

LINE_BITS = 20
LINE_MASK = (1 << LINE_BITS) - 1  # lines above this are not indexed (no meeting comes near)
SLOTS = 64  # meetings starting in the same second that can all be indexed

SELECT_HEADER = """
SELECT started_at, network, channel, name, restricted, private, redacted_at
FROM meetings WHERE id = ?
"""
SELECT_KEY = "SELECT key, upto FROM archive WHERE meeting_id = ?"
SELECT_KEYS_IN = "SELECT key FROM archive WHERE key BETWEEN ? AND ?"
UNINDEX_LINES = """
INSERT INTO search (search, rowid, nick, text, kind)
SELECT 'delete', (:key << 20) | l.n, l.nick, l.text, COALESCE(k.kind, '')
FROM lines AS l LEFT JOIN search_kinds AS k ON k.id = (:key << 20) | l.n
WHERE l.meeting_id = :mid AND l.n BETWEEN 1 AND :upto
"""
DELETE_KINDS = "DELETE FROM search_kinds WHERE id BETWEEN (:key << 20) AND (:key << 20) | 1048575"
DELETE_ARCHIVE = "DELETE FROM archive WHERE key = :key"
INSERT_ARCHIVE = """
INSERT INTO archive (key, meeting_id, network, channel, name, upto)
VALUES (:key, :mid, :network, :channel, :name,
    MIN((SELECT COALESCE(MAX(n), 0) FROM lines WHERE meeting_id = :mid), 1048575))
"""
INDEX_KINDS = """
INSERT INTO search_kinds (id, kind)
SELECT (:key << 20) | line, kind FROM (
    SELECT line, kind, MIN(id) FROM items WHERE meeting_id = :mid AND removed = 0
        AND line BETWEEN 1 AND 1048575 GROUP BY line)
"""
INDEX_LINES = """
INSERT INTO search (rowid, nick, text, kind)
SELECT (:key << 20) | l.n, l.nick, l.text, COALESCE(k.kind, '')
FROM lines AS l LEFT JOIN search_kinds AS k ON k.id = (:key << 20) | l.n
WHERE l.meeting_id = :mid AND l.n BETWEEN 1 AND 1048575
"""
SET_PRIVATE = "UPDATE meetings SET private = ? WHERE id = ?"

_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_channel(channel: str) -> str:
    """Channels as the archive keeps them: ASCII case folded (what SQL's lower() does)."""
    return channel.translate(_ASCII_UPPER)


def meeting_key_base(start: datetime) -> int:
    """The first key of meetings started in `start`'s second."""
    return int(start.timestamp()) * SLOTS


def rowid_floor(start: datetime) -> int:
    """The smallest index rowid of a meeting started at or after `start`."""
    return meeting_key_base(start) << LINE_BITS


def index_meeting(conn: sqlite3.Connection, meeting_id: int, private: bool | None = None) -> bool:
    """(Re)index the meeting if it is public, or take it out of the index if it is not;
    True when it is in the index afterwards. `private`, when given, is recorded first (the
    channel's configuration says it, the database keeps it for every later reader)."""
    if private is not None:
        conn.execute(SET_PRIVATE, (int(private), meeting_id))
    header = conn.execute(SELECT_HEADER, (meeting_id,)).fetchone()
    if header is None:
        raise StoreError(f"no meeting {meeting_id} to index")
    started_at, network, channel, name, restricted, is_private, redacted_at = header
    key = unindex_meeting(conn, meeting_id)
    if restricted or is_private or redacted_at is not None:
        return False
    if key is None:
        key = _free_key(conn, datetime.fromisoformat(started_at), meeting_id)
    params = {
        "key": key,
        "mid": meeting_id,
        "network": network,
        "channel": fold_channel(channel),
        "name": name,
    }
    conn.execute(INSERT_ARCHIVE, params)
    conn.execute(INDEX_KINDS, {"key": key, "mid": meeting_id})
    conn.execute(INDEX_LINES, {"key": key, "mid": meeting_id})
    return True


def unindex_meeting(conn: sqlite3.Connection, meeting_id: int) -> int | None:
    """Take the meeting's lines out of the index; return the key it had (None: not in it).

    A contentless index forgets a row only when told the values it was indexed with, so
    this must run before any indexed line or item of the meeting changes."""
    row = conn.execute(SELECT_KEY, (meeting_id,)).fetchone()
    if row is None:
        return None
    key, upto = int(row[0]), int(row[1])
    conn.execute(UNINDEX_LINES, {"key": key, "mid": meeting_id, "upto": upto})
    conn.execute(DELETE_KINDS, {"key": key})
    conn.execute(DELETE_ARCHIVE, {"key": key})
    return key


def _free_key(conn: sqlite3.Connection, start: datetime, meeting_id: int) -> int:
    base = meeting_key_base(start)
    taken = {int(r[0]) for r in conn.execute(SELECT_KEYS_IN, (base, base + SLOTS - 1))}
    for key in range(base, base + SLOTS):
        if key not in taken:
            return key
    raise StoreError(f"meeting {meeting_id}: {SLOTS} meetings started in the same second")


def purge_deleted(conn: sqlite3.Connection, pages: int = 200) -> bool:
    """One step of merging the index's segments, so the bytes of deleted rows are really
    gone; False once there is nothing left to merge. Run each step in its own transaction,
    so a long merge never holds the write lock for long."""
    before = conn.total_changes
    conn.execute("INSERT INTO search (search, rank) VALUES ('merge', ?)", (-pages,))
    return conn.total_changes - before >= 2

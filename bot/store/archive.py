"""The searchable archive's writes: putting a meeting into the full-text index, taking it out.

A meeting is in the index when it is public (not restricted, not from a private channel, not
redacted) and its files are published or its import committed; never while it records.
Rows of the index are numbered `key << LINE_BITS | (LINE_MASK - n)` (see
bot/store/schema.py), so the index's rowid order is newest first. Functions here run on a plain
`sqlite3.Connection` inside the caller's transaction; they decide nothing about meetings.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.core.casemap import irc_lower
from bot.store.errors import StoreError

LINE_BITS = 20
LINE_MASK = (1 << LINE_BITS) - 1  # lines above this are not indexed (no meeting comes near)
SLOTS = 64  # meetings starting in the same second that can all be indexed
LAST_SECOND = 1 << 33  # keys count down from here (the year 2242)

SELECT_HEADER = """
SELECT started_at, network, channel, name, restricted, private, redacted_at
FROM meetings WHERE id = ?
"""
SELECT_KEY = "SELECT key, upto FROM archive WHERE meeting_id = ?"
SELECT_KEYS_IN = "SELECT key FROM archive WHERE key BETWEEN ? AND ?"
UNINDEX_LINES = """
INSERT INTO search (search, rowid, nick, text, kind)
SELECT 'delete', (:key << 20) | (1048575 - l.n), l.nick, l.text, COALESCE(k.kind, '')
FROM lines AS l LEFT JOIN search_kinds AS k ON k.id = (:key << 20) | (1048575 - l.n)
WHERE l.meeting_id = :mid AND l.n BETWEEN 1 AND :upto
"""
DELETE_KINDS = "DELETE FROM search_kinds WHERE id BETWEEN (:key << 20) AND (:key << 20) | 1048575"
DELETE_ARCHIVE = "DELETE FROM archive WHERE key = :key"
INSERT_ARCHIVE = """
INSERT INTO archive (key, meeting_id, network, channel, name, upto)
VALUES (:key, :mid, :network, :channel, :name, 0)
"""
# Lines after :upto (those not in the index yet), with the kind of the item each made.
INDEX_KINDS = """
INSERT INTO search_kinds (id, kind)
SELECT (:key << 20) | (1048575 - line), kind FROM (
    SELECT line, kind, MIN(id) FROM items WHERE meeting_id = :mid AND removed = 0
        AND line > :upto AND line <= 1048575 GROUP BY line)
"""
INDEX_LINES = """
INSERT INTO search (rowid, nick, text, kind)
SELECT (:key << 20) | (1048575 - l.n), l.nick, l.text, COALESCE(k.kind, '')
FROM lines AS l LEFT JOIN search_kinds AS k ON k.id = (:key << 20) | (1048575 - l.n)
WHERE l.meeting_id = :mid AND l.n > :upto AND l.n <= 1048575
ORDER BY l.n DESC
"""
SET_UPTO = """
UPDATE archive SET upto = MIN(1048575, (SELECT COALESCE(MAX(n), 0) FROM lines
    WHERE meeting_id = :mid)) WHERE key = :key
"""
# Indexed lines whose kind may have changed since (an item made or undone): those with a
# kind in the index and those with an item now.
SELECT_KIND_LINES = """
SELECT 1048575 - (id & 1048575) FROM search_kinds
    WHERE id BETWEEN (:key << 20) AND (:key << 20) | 1048575
UNION SELECT line FROM items WHERE meeting_id = :mid AND line BETWEEN 1 AND :upto
"""
SELECT_INDEXED_LINE = """
SELECT l.nick, l.text, COALESCE(old.kind, ''), COALESCE((SELECT kind FROM items
    WHERE meeting_id = :mid AND line = :n AND removed = 0 ORDER BY id LIMIT 1), '')
FROM lines AS l LEFT JOIN search_kinds AS old ON old.id = (:key << 20) | (1048575 - :n)
WHERE l.meeting_id = :mid AND l.n = :n
"""
DELETE_ROW = "INSERT INTO search (search, rowid, nick, text, kind) VALUES ('delete', ?, ?, ?, ?)"
INSERT_ROW = "INSERT INTO search (rowid, nick, text, kind) VALUES (?, ?, ?, ?)"
SET_KIND = "INSERT OR REPLACE INTO search_kinds (id, kind) VALUES (?, ?)"
DELETE_KIND = "DELETE FROM search_kinds WHERE id = ?"
SET_PRIVATE = "UPDATE meetings SET private = ? WHERE id = ?"

_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_channel(channel: str) -> str:
    """Channels as the archive keeps them: ASCII case folded (what SQL's lower() does)."""
    return channel.translate(_ASCII_UPPER)


# What RFC 1459 folds beyond A-Z (`[]\~` to `{}|^`), taken from the one case mapping.
_IRC_EXTRA = tuple(
    (c, irc_lower(c)) for c in map(chr, range(0x21, 0x7F)) if irc_lower(c) != fold_channel(c)
)
_IRC_EXTRA_LOWER = frozenset(lower for _, lower in _IRC_EXTRA)


def sql_irc_lower(expr: str) -> str:
    """SQL for `irc_lower(expr)` (RFC 1459, as private channels are compared everywhere) made
    of SQLite's own functions: lower() folds A-Z and nothing else, as `irc_lower` does, and
    replace() the four characters RFC 1459 adds. Folding row after row, it never calls
    back into Python: a Python-defined function would take the GIL for every row, from the
    web's reader threads, and wait for it whenever the event loop holds it."""
    sql = f"lower({expr})"
    for upper, lower in _IRC_EXTRA:
        sql = f"replace({sql}, '{upper}', '{lower}')"
    return sql


def ascii_fold_suffices(folded: str) -> bool:
    """Whether ASCII folding (SQL's lower(), cheaper) alone finds the names that are
    `folded` (a name folded by `irc_lower`) under RFC 1459: when it has none of `{}|^`. A
    name with one of `[]\\~{}|^` is then neither the same under RFC 1459 (it folds to one
    with one of `{}|^`) nor equal under ASCII folding; a name without them folds alike."""
    return _IRC_EXTRA_LOWER.isdisjoint(folded)


def meeting_key_base(start: datetime) -> int:
    """The first key of meetings started in `start`'s second: later meetings have smaller
    keys, so the index's forward order is newest first (FTS5 reads forwards lazily, but
    backwards only by loading a term's whole doclist)."""
    return (LAST_SECOND - int(start.timestamp())) * SLOTS


def rowid_boundary(moment: datetime) -> int:
    """Index rowids of meetings started at or after `moment` are below this; rowids of
    meetings started before it are at or above it."""
    return (meeting_key_base(moment) + SLOTS) << LINE_BITS


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
    if restricted or is_private or redacted_at is not None:
        unindex_meeting(conn, meeting_id)
        return False
    # A meeting published again (each #save, then #endmeeting) only adds its new lines and
    # corrects the kind of lines whose item was made or undone since: indexed lines never
    # change otherwise (a redaction takes the meeting out of the index first).
    row = conn.execute(SELECT_KEY, (meeting_id,)).fetchone()
    if row is None:
        key, upto = _free_key(conn, datetime.fromisoformat(started_at), meeting_id), 0
        params = {"key": key, "mid": meeting_id, "network": network, "name": name}
        conn.execute(INSERT_ARCHIVE, params | {"channel": fold_channel(channel)})
    else:
        key, upto = int(row[0]), int(row[1])
        _correct_kinds(conn, key, meeting_id, upto)
    params = {"key": key, "mid": meeting_id, "upto": upto}
    conn.execute(INDEX_KINDS, params)
    conn.execute(INDEX_LINES, params)
    conn.execute(SET_UPTO, params)
    return True


def _correct_kinds(conn: sqlite3.Connection, key: int, meeting_id: int, upto: int) -> None:
    params = {"key": key, "mid": meeting_id, "upto": upto}
    for (n,) in conn.execute(SELECT_KIND_LINES, params).fetchall():
        found = conn.execute(SELECT_INDEXED_LINE, params | {"n": n}).fetchone()
        if found is None or found[2] == found[3]:
            continue
        nick, text, old, new = found
        rowid = key << LINE_BITS | (LINE_MASK - int(n))
        conn.execute(DELETE_ROW, (rowid, nick, text, old))
        conn.execute(INSERT_ROW, (rowid, nick, text, new))
        if new:
            conn.execute(SET_KIND, (rowid, new))
        else:
            conn.execute(DELETE_KIND, (rowid,))


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

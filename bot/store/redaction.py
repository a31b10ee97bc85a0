"""Redaction: taking a line, a meeting or a person out of the archive, with an audit trail.

The database is the source of every file, so redaction happens here and the files are then
rewritten from it. A redacted line keeps its number and time (anchors do not move) and its
text becomes `[redacted]`; an item made from it goes too. A redacted meeting keeps only its
header row (so its URLs can say "gone") and loses everything said in it. A redacted person's
nick is replaced everywhere by a pseudonym. Each is recorded in `redactions` (what, when,
why; never the removed text); doing one again finds nothing to change and records nothing.
Runs on a plain `sqlite3.Connection` inside the caller's transaction.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import dataclass

from bot.store.archive import index_meeting, unindex_meeting
from bot.store.errors import StoreError

REDACTED = "[redacted]"
# Characters a nick may hold (RFC 2812 plus `_`): a nick is replaced only where it is not
# part of a longer nick or word.
_NICK_CHARS = r"\w\[\]\\`^{|}-"

SELECT_STATE = "SELECT ended_at, redacted_at FROM meetings WHERE id = ?"
INSERT_AUDIT = """
INSERT INTO redactions (at, what, network, meeting_id, line, pseudonym, reason)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""


@dataclass(frozen=True, slots=True)
class Redacted:
    """What a redaction changed: the meetings whose files must be rewritten or deleted."""

    changed: bool
    meetings: tuple[int, ...] = ()
    pseudonym: str | None = None


def _ended(conn: sqlite3.Connection, meeting_id: int) -> None:
    row = conn.execute(SELECT_STATE, (meeting_id,)).fetchone()
    if row is None:
        raise StoreError(f"no meeting {meeting_id}")
    if row[0] is None:
        raise StoreError(f"meeting {meeting_id} is still running; redact it once it has ended")


def redact_line(
    conn: sqlite3.Connection, meeting_id: int, line: int, reason: str, at: str
) -> Redacted:
    _ended(conn, meeting_id)
    row = conn.execute(
        "SELECT text FROM lines WHERE meeting_id = ? AND n = ?", (meeting_id, line)
    ).fetchone()
    if row is None:
        raise StoreError(f"meeting {meeting_id} has no line {line}")
    items = conn.execute(
        "SELECT COUNT(*) FROM items WHERE meeting_id = ? AND line = ? AND text != ?",
        (meeting_id, line, REDACTED),
    ).fetchone()[0]
    if row[0] == REDACTED and not items:
        return Redacted(changed=False)
    unindex_meeting(conn, meeting_id)  # before the indexed values change
    conn.execute(
        "UPDATE lines SET text = ? WHERE meeting_id = ? AND n = ?", (REDACTED, meeting_id, line)
    )
    conn.execute(
        "UPDATE items SET text = ?, url = NULL, removed = 1 WHERE meeting_id = ? AND line = ?",
        (REDACTED, meeting_id, line),
    )
    conn.execute(
        "UPDATE votes SET question = ? WHERE meeting_id = ? AND opened_line = ?",
        (REDACTED, meeting_id, line),
    )
    index_meeting(conn, meeting_id)
    conn.execute(INSERT_AUDIT, (at, "line", None, meeting_id, line, None, reason))
    return Redacted(changed=True, meetings=(meeting_id,))


_PARTS = ("chairs", "lines", "items", "votes", "named", "presence", "gaps")


def redact_meeting(conn: sqlite3.Connection, meeting_id: int, reason: str, at: str) -> Redacted:
    _ended(conn, meeting_id)
    if conn.execute(SELECT_STATE, (meeting_id,)).fetchone()[1] is not None:
        return Redacted(changed=False, meetings=(meeting_id,))
    unindex_meeting(conn, meeting_id)
    for table in _PARTS:
        conn.execute(f"DELETE FROM {table} WHERE meeting_id = ?", (meeting_id,))
    conn.execute(
        "UPDATE meetings SET redacted_at = ?, topic = NULL, owner = ?, owner_account = NULL, "
        "publish_pending = 0 WHERE id = ?",
        (at, REDACTED, meeting_id),
    )
    conn.execute(INSERT_AUDIT, (at, "meeting", None, meeting_id, None, None, reason))
    return Redacted(changed=True, meetings=(meeting_id,))


def nick_pattern(nick: str) -> re.Pattern[str]:
    """`nick` wherever it stands alone (not inside a longer nick or word), any case."""
    return re.compile(rf"(?<![{_NICK_CHARS}]){re.escape(nick)}(?![{_NICK_CHARS}])", re.IGNORECASE)


# Meetings of a network in which the nick may appear: said a line, is named in one, or in
# the header, chairs, items, votes, presence. LIKE is case-insensitive for ASCII; the exact
# replacement in Python decides.
SELECT_TOUCHED = r"""
SELECT id FROM meetings WHERE network = :network AND redacted_at IS NULL AND (
    owner LIKE :like ESCAPE '\' OR topic LIKE :like ESCAPE '\'
    OR id IN (SELECT meeting_id FROM lines
              WHERE nick LIKE :like ESCAPE '\' OR text LIKE :like ESCAPE '\')
    OR id IN (SELECT meeting_id FROM chairs WHERE nick LIKE :like ESCAPE '\')
    OR id IN (SELECT meeting_id FROM items
              WHERE nick LIKE :like ESCAPE '\' OR text LIKE :like ESCAPE '\')
    OR id IN (SELECT meeting_id FROM named WHERE nick LIKE :like ESCAPE '\')
    OR id IN (SELECT meeting_id FROM presence
              WHERE nick LIKE :like ESCAPE '\' OR detail LIKE :like ESCAPE '\')
    OR id IN (SELECT meeting_id FROM votes
              WHERE opened_by LIKE :like ESCAPE '\' OR question LIKE :like ESCAPE '\'
                  OR ballots LIKE :like ESCAPE '\')
) ORDER BY id
"""
# (table, key columns, columns that may hold the nick)
_TEXT_COLUMNS = (
    ("meetings", ("id",), ("owner", "topic")),
    ("lines", ("meeting_id", "n"), ("nick", "text")),
    ("chairs", ("meeting_id", "position"), ("nick",)),
    ("items", ("meeting_id", "id"), ("nick", "text")),
    ("named", ("id",), ("nick",)),
    ("presence", ("id",), ("nick", "detail")),
    ("votes", ("meeting_id", "id"), ("opened_by", "question")),
)


def _like(nick: str) -> str:
    escaped = nick.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def redact_person(
    conn: sqlite3.Connection, network: str, nick: str, reason: str, at: str
) -> Redacted:
    if not nick.strip():
        raise StoreError("give the nick to redact")
    params = {"network": network, "like": _like(nick)}
    touched = [int(r[0]) for r in conn.execute(SELECT_TOUCHED, params)]
    pattern = nick_pattern(nick)
    pseudonym = _new_pseudonym(conn)
    changed: list[int] = []
    for meeting_id in touched:
        if _replace_in_meeting(conn, meeting_id, pattern, pseudonym):
            changed.append(meeting_id)
    if not changed:
        return Redacted(changed=False)
    conn.execute(INSERT_AUDIT, (at, "person", network, None, None, pseudonym, reason))
    return Redacted(changed=True, meetings=tuple(changed), pseudonym=pseudonym)


def _replace_in_meeting(
    conn: sqlite3.Connection, meeting_id: int, pattern: re.Pattern[str], pseudonym: str
) -> bool:
    _ended(conn, meeting_id)
    updates: list[tuple[str, list[tuple[object, ...]]]] = []
    for table, keys, columns in _TEXT_COLUMNS:
        where = "id" if table == "meetings" else "meeting_id"
        select = f"SELECT {', '.join(keys + columns)} FROM {table} WHERE {where} = ?"
        rows = []
        for row in conn.execute(select, (meeting_id,)):
            key, values = row[: len(keys)], row[len(keys) :]
            new = tuple(None if v is None else pattern.sub(pseudonym, v) for v in values)
            if new != tuple(values):
                rows.append((*new, *key))
        if rows:
            sets = ", ".join(f"{c} = ?" for c in columns)
            keyed = " AND ".join(f"{k} = ?" for k in keys)
            updates.append((f"UPDATE {table} SET {sets} WHERE {keyed}", rows))
    ballots = _ballot_updates(conn, meeting_id, pattern, pseudonym)
    if not updates and not ballots:
        return False
    unindex_meeting(conn, meeting_id)  # before the indexed values change
    for sql, rows in updates:
        conn.executemany(sql, rows)
    conn.executemany("UPDATE votes SET ballots = ? WHERE meeting_id = ? AND id = ?", ballots)
    index_meeting(conn, meeting_id)
    return True


def _ballot_updates(
    conn: sqlite3.Connection, meeting_id: int, pattern: re.Pattern[str], pseudonym: str
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    select = "SELECT id, ballots FROM votes WHERE meeting_id = ?"
    for vote_id, text in conn.execute(select, (meeting_id,)):
        ballots = json.loads(text)
        changed = False
        for ballot in ballots:
            if isinstance(ballot, dict) and isinstance(ballot.get("nick"), str):
                new = pattern.sub(pseudonym, ballot["nick"])
                changed |= new != ballot["nick"]
                ballot["nick"] = new
        if changed:
            encoded = json.dumps(ballots, ensure_ascii=False, separators=(",", ":"))
            rows.append((encoded, meeting_id, vote_id))
    return rows


def _new_pseudonym(conn: sqlite3.Connection) -> str:
    """`person-` and four hex digits no earlier redaction used (random, so it tells
    nothing about the nick it stands for)."""
    used = {r[0] for r in conn.execute("SELECT pseudonym FROM redactions WHERE what = 'person'")}
    for _ in range(1000):
        candidate = f"person-{secrets.token_hex(2)}"
        if candidate not in used:
            return candidate
    return f"person-{secrets.token_hex(8)}"

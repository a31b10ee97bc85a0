"""The store's reads and writes for what happens between meetings: the successes and
thanks, the previous meeting of a series, and the outbox of announcements.

Functions over a plain `sqlite3.Connection`, run on the store's own thread through `Store`;
the web archive's `/successes`, `/thanks` and API are meant to call the same reads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.casemap import irc_lower
from bot.store.codec import dt_to_text, opt_text_to_dt, text_to_dt


@dataclass(frozen=True, slots=True)
class StoredSuccess:
    """A kept `#success` or `#thanks`; `log_base` is the file base of the public meeting it
    belongs to (said in it, or the channel's meeting of that UTC day), if any."""

    id: int
    kind: str
    time: datetime
    network: str
    channel: str
    nick: str
    account: str | None
    text: str
    meeting_id: int | None
    log_base: str | None


@dataclass(frozen=True, slots=True)
class PreviousRow:
    """A finished meeting found for `#previous`, with its action items in order."""

    id: int
    name: str
    channel: str
    start: datetime
    timezone: str
    file_base: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the outbox."""

    id: int
    delivery_id: str
    receiver: str
    event: str
    payload: str
    created: datetime
    state: str  # pending, sent or failed
    attempts: int
    next_attempt: datetime
    last_error: str | None
    sent: datetime | None


# A success said outside a meeting links to the channel's public meeting of that UTC day.
SELECT_SUCCESSES = """
SELECT s.id, s.kind, s.time, s.network, s.channel, s.nick, s.account, s.text, s.meeting_id,
    CASE WHEN s.meeting_id IS NOT NULL THEN
        (SELECT m.file_base FROM meetings AS m WHERE m.id = s.meeting_id AND m.restricted = 0)
    ELSE
        (SELECT d.file_base FROM meetings AS d
         WHERE d.network = s.network AND d.channel = s.channel AND d.restricted = 0
           AND d.file_base IS NOT NULL AND substr(d.started_at, 1, 10) = substr(s.time, 1, 10)
         ORDER BY d.started_at LIMIT 1)
    END
FROM successes AS s
WHERE s.kind = ? AND s.time >= ? AND s.time < ?
ORDER BY s.time {order}, s.id {order}
LIMIT ?
"""


def successes(
    conn: sqlite3.Connection,
    kind: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    newest_first: bool,
) -> list[StoredSuccess]:
    """Kept successes (or thanks) with `since <= time < until`."""
    low = dt_to_text(since) if since else ""
    high = dt_to_text(until) if until else "~"  # after every stored time
    order = "DESC" if newest_first else "ASC"
    rows = conn.execute(SELECT_SUCCESSES.format(order=order), (kind, low, high, limit))
    return [
        StoredSuccess(
            id=int(r[0]),
            kind=str(r[1]),
            time=text_to_dt(r[2]),
            network=str(r[3]),
            channel=str(r[4]),
            nick=str(r[5]),
            account=r[6],
            text=str(r[7]),
            meeting_id=r[8],
            log_base=r[9],
        )
        for r in rows
    ]


SELECT_PREVIOUS = """
SELECT id, name, channel, started_at, timezone, file_base FROM meetings
WHERE network = ? AND name IN ({names}) AND id != ? AND started_at < ?
    AND ended_at IS NOT NULL AND restricted = 0 AND private = 0 AND file_base IS NOT NULL
ORDER BY started_at DESC, id DESC
LIMIT 50
"""
SELECT_ACTIONS = """
SELECT text FROM items WHERE meeting_id = ? AND kind = 'action' AND removed = 0 ORDER BY id
"""


def previous_meeting(
    conn: sqlite3.Connection,
    network: str,
    names: Sequence[str],
    before: datetime,
    exclude_id: int,
    private_channels: frozenset[str],
) -> PreviousRow | None:
    """The latest finished public meeting named one of `names` on `network`, started before
    `before`, outside `private_channels` (names folded by `irc_lower` with RFC 1459)."""
    if not names:
        return None
    sql = SELECT_PREVIOUS.format(names=", ".join("?" for _ in names))
    conn.execute("BEGIN")
    try:
        for row in conn.execute(sql, (network, *names, exclude_id, dt_to_text(before))):
            if irc_lower(str(row[2])) in private_channels:
                continue
            actions = [str(a[0]) for a in conn.execute(SELECT_ACTIONS, (row[0],))]
            return PreviousRow(
                id=int(row[0]),
                name=str(row[1]),
                channel=str(row[2]),
                start=text_to_dt(row[3]),
                timezone=str(row[4]),
                file_base=str(row[5]),
                actions=tuple(actions),
            )
        return None
    finally:
        conn.execute("COMMIT")


_DELIVERY_COLUMNS = """id, delivery_id, receiver, event, payload, created_at, state, attempts,
    next_attempt_at, last_error, sent_at"""


def _delivery(r: Sequence[object]) -> Delivery:
    return Delivery(
        id=int(r[0]),  # type: ignore[call-overload]
        delivery_id=str(r[1]),
        receiver=str(r[2]),
        event=str(r[3]),
        payload=str(r[4]),
        created=text_to_dt(str(r[5])),
        state=str(r[6]),
        attempts=int(r[7]),  # type: ignore[call-overload]
        next_attempt=text_to_dt(str(r[8])),
        last_error=None if r[9] is None else str(r[9]),
        sent=opt_text_to_dt(None if r[10] is None else str(r[10])),
    )


def due_deliveries(conn: sqlite3.Connection, now: datetime, limit: int) -> list[Delivery]:
    sql = f"""SELECT {_DELIVERY_COLUMNS} FROM outbox
        WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"""
    return [_delivery(r) for r in conn.execute(sql, (dt_to_text(now), limit))]


def next_due(conn: sqlite3.Connection) -> datetime | None:
    sql = "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'"
    row = conn.execute(sql).fetchone()
    return opt_text_to_dt(row[0] if row else None)


def deliveries(conn: sqlite3.Connection, states: Sequence[str]) -> list[Delivery]:
    marks = ", ".join("?" for _ in states)
    sql = f"SELECT {_DELIVERY_COLUMNS} FROM outbox WHERE state IN ({marks}) ORDER BY id"
    return [_delivery(r) for r in conn.execute(sql, tuple(states))]


def mark_sent(conn: sqlite3.Connection, row_id: int, when: datetime) -> None:
    sql = """UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,
        last_error = NULL WHERE id = ?"""
    conn.execute(sql, (dt_to_text(when), row_id))


def mark_attempt_failed(
    conn: sqlite3.Connection, row_id: int, error: str, next_at: datetime, give_up: bool
) -> None:
    sql = """UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
        state = ? WHERE id = ? AND state = 'pending'"""
    state = "failed" if give_up else "pending"
    conn.execute(sql, (error[:500], dt_to_text(next_at), state, row_id))


def retry_now(conn: sqlite3.Connection, key: str, now: datetime) -> bool:
    """Make the delivery with row id or delivery id `key` due now, whatever its state."""
    sql = """UPDATE outbox SET state = 'pending', next_attempt_at = ?
        WHERE delivery_id = ? OR CAST(id AS TEXT) = ?"""
    return conn.execute(sql, (dt_to_text(now), key, key)).rowcount > 0

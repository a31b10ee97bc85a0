"""Translate a batch of core effects into an ordered plan of SQL statements.

Pure: it builds statements and parameter rows and runs nothing. Consecutive uses of the same
statement are merged into one step so the store can run them with one `executemany` (a burst of
recorded lines becomes one statement). Order is kept exactly, so running the plan gives the same
result as running each effect's statements one by one. Non-recording effects (`Say`, `SetTopic`)
produce nothing; `Publish` only marks the meeting as having files to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.core.effects import (
    Announce,
    Effect,
    GapRecorded,
    ItemRecorded,
    ItemRemoved,
    LineRecorded,
    LookUpPrevious,
    MeetingChanged,
    MeetingEnded,
    MeetingStarted,
    PersonNamed,
    PresenceRecorded,
    Publish,
    Say,
    SetTopic,
    SuccessRecorded,
    VoteChanged,
)
from bot.core.record import Chair, Gap, Item, LogLine, MeetingRecord, Named, Presence, VoteRecord
from bot.store.codec import ballots_to_json, dt_to_text, opt_dt_to_text, options_to_json

Params = tuple[object, ...]


@dataclass(slots=True)
class Step:
    """One statement and the parameter rows to run it with, in order.

    `must_match`: every row must change exactly one row of the table (an UPDATE of something
    that must exist); a miss means the core and the database disagree."""

    sql: str
    rows: list[Params] = field(default_factory=list)
    must_match: bool = False
    what: str = ""


INSERT_MEETING = """
INSERT INTO meetings (id, network, channel, name, topic, owner, owner_account, timezone,
    started_at, ended_at, length_minutes, info_url, bot_nick, casemapping, restricted, lurking,
    saved_topic, private)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_CHAIR = "INSERT INTO chairs (meeting_id, position, nick, account) VALUES (?, ?, ?, ?)"
DELETE_CHAIRS = "DELETE FROM chairs WHERE meeting_id = ?"
INSERT_LINE = "INSERT INTO lines (meeting_id, n, time, nick, kind, text) VALUES (?, ?, ?, ?, ?, ?)"
INSERT_ITEM = """
INSERT INTO items (meeting_id, id, kind, text, nick, time, line, url)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
REMOVE_ITEM = "UPDATE items SET removed = 1 WHERE meeting_id = ? AND id = ?"
UPDATE_HEADER = """
UPDATE meetings SET name = ?, topic = ?, owner = ?, owner_account = ?, restricted = ?, lurking = ?
WHERE id = ?
"""
UPSERT_VOTE = """
INSERT INTO votes (meeting_id, id, question, options, ballots, opened_by, opened_at,
    opened_line, closed_at, closed_line)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (meeting_id, id) DO UPDATE SET
    question = excluded.question, options = excluded.options, ballots = excluded.ballots,
    opened_by = excluded.opened_by, opened_at = excluded.opened_at,
    opened_line = excluded.opened_line, closed_at = excluded.closed_at,
    closed_line = excluded.closed_line
"""
INSERT_NAMED = "INSERT INTO named (meeting_id, nick, line) VALUES (?, ?, ?)"
INSERT_PRESENCE = """
INSERT INTO presence (meeting_id, time, kind, nick, detail) VALUES (?, ?, ?, ?, ?)
"""
INSERT_GAP = "INSERT INTO gaps (meeting_id, started_at, ended_at, reason) VALUES (?, ?, ?, ?)"
END_MEETING = "UPDATE meetings SET ended_at = ?, publish_pending = 1 WHERE id = ?"
MARK_PENDING = "UPDATE meetings SET publish_pending = 1 WHERE id = ?"
INSERT_SUCCESS = """
INSERT INTO successes (kind, time, network, channel, nick, account, text, meeting_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
# A repeat of the same delivery (the publish of an ended meeting done again after a crash)
# is the same row: the delivery id is derived from what is announced and to whom.
INSERT_ANNOUNCE = """
INSERT OR IGNORE INTO outbox (delivery_id, receiver, event, payload, created_at, next_attempt_at)
VALUES (?, ?, ?, ?, ?, ?)
"""


def plan(effects: Iterable[Effect]) -> list[Step]:
    """The statements that persist `effects`, merged where consecutive and identical."""
    steps: list[Step] = []
    for effect in effects:
        if type(effect) is LineRecorded:  # most effects: skip the general dispatch
            _append_line(steps, line_row(effect.meeting_id, effect.line))
            continue
        for step in steps_for(effect):
            _append(steps, step)
    return steps


def _append_line(steps: list[Step], row: Params) -> None:
    last = steps[-1] if steps else None
    if last is not None and last.sql == INSERT_LINE:
        last.rows.append(row)
    else:
        steps.append(Step(INSERT_LINE, [row]))


def _append(steps: list[Step], step: Step) -> None:
    if not step.rows:
        return
    last = steps[-1] if steps else None
    if last is not None and last.sql == step.sql and last.must_match == step.must_match:
        last.rows.extend(step.rows)
    else:
        steps.append(Step(step.sql, list(step.rows), step.must_match, step.what))


def steps_for(effect: Effect) -> list[Step]:
    """The statements for one effect, in the order they must run."""
    match effect:
        case MeetingStarted(meeting=meeting):
            return meeting_steps(meeting)
        case LineRecorded(meeting_id=mid, line=line):
            return [Step(INSERT_LINE, [line_row(mid, line)])]
        case ItemRecorded(meeting_id=mid, item=item):
            return [Step(INSERT_ITEM, [item_row(mid, item)])]
        case ItemRemoved(meeting_id=mid, item_id=item_id):
            return [Step(REMOVE_ITEM, [(mid, item_id)], True, "ItemRemoved: no such item")]
        case MeetingChanged():
            return changed_steps(effect)
        case PersonNamed(meeting_id=mid, named=named):
            return [Step(INSERT_NAMED, [named_row(mid, named)])]
        case VoteChanged(meeting_id=mid, vote=vote):
            return [Step(UPSERT_VOTE, [vote_row(mid, vote)])]
        case PresenceRecorded(meeting_id=mid, presence=presence):
            return [Step(INSERT_PRESENCE, [presence_row(mid, presence)])]
        case GapRecorded(meeting_id=mid, gap=gap):
            return [Step(INSERT_GAP, [gap_row(mid, gap)])]
        case MeetingEnded(meeting_id=mid, end=end):
            row = (dt_to_text(end), mid)
            return [Step(END_MEETING, [row], True, "MeetingEnded: no such meeting")]
        case Publish(meeting=meeting):
            return [Step(MARK_PENDING, [(meeting.id,)])]
        case SuccessRecorded(success=x):
            when = dt_to_text(x.time)
            success = (x.kind, when, x.network, x.channel, x.nick, x.account, x.text, x.meeting_id)
            return [Step(INSERT_SUCCESS, [success])]
        case Announce():
            return [Step(INSERT_ANNOUNCE, [announce_row(effect)])]
        case Say() | SetTopic() | LookUpPrevious():
            return []
    raise TypeError(f"the store does not know the effect {effect!r}")


def meeting_steps(m: MeetingRecord) -> list[Step]:
    """A new meeting: its header, chairs and, should the record already hold any, its parts
    (so a whole record can also be imported)."""
    header = (
        m.id,
        m.network,
        m.channel,
        m.name,
        m.topic,
        m.owner,
        m.owner_account,
        m.timezone,
        dt_to_text(m.start),
        opt_dt_to_text(m.end),
        m.length_minutes,
        m.info_url,
        m.bot_nick,
        m.casemapping,
        int(m.restricted),
        int(m.lurking),
        m.saved_topic,
        int(m.private),
    )
    steps = [Step(INSERT_MEETING, [header]), Step(INSERT_CHAIR, chair_rows(m.id, m.chairs))]
    steps.append(Step(INSERT_LINE, [line_row(m.id, line) for line in m.lines]))
    steps.append(Step(INSERT_ITEM, [item_row(m.id, item) for item in m.items]))
    steps.append(Step(UPSERT_VOTE, [vote_row(m.id, vote) for vote in m.votes]))
    steps.append(Step(INSERT_NAMED, [named_row(m.id, named) for named in m.named]))
    steps.append(Step(INSERT_PRESENCE, [presence_row(m.id, p) for p in m.presence]))
    steps.append(Step(INSERT_GAP, [gap_row(m.id, gap) for gap in m.gaps]))
    return steps


def changed_steps(effect: MeetingChanged) -> list[Step]:
    mid = effect.meeting_id
    # The owner's columns follow the chairs: an owner bound to an account (or renamed) after
    # `#startmeeting` must read back so from the header too, as `gavel regenerate` does.
    owner = effect.owner
    restricted, lurking = int(effect.restricted), int(effect.lurking)
    header = (effect.name, effect.topic, owner.nick, owner.account, restricted, lurking, mid)
    return [
        Step(UPDATE_HEADER, [header], True, "MeetingChanged: no such meeting"),
        Step(DELETE_CHAIRS, [(mid,)]),
        Step(INSERT_CHAIR, chair_rows(mid, effect.chairs)),
    ]


def chair_rows(mid: int, chairs: Sequence[Chair]) -> list[Params]:
    return [(mid, position, c.nick, c.account) for position, c in enumerate(chairs)]


def line_row(mid: int, line: LogLine) -> Params:
    return (mid, line.n, dt_to_text(line.time), line.nick, line.kind, line.text)


def item_row(mid: int, item: Item) -> Params:
    time = dt_to_text(item.time)
    return (mid, item.id, item.kind, item.text, item.nick, time, item.line, item.url)


def vote_row(mid: int, vote: VoteRecord) -> Params:
    return (
        mid,
        vote.id,
        vote.question,
        options_to_json(vote.options),
        ballots_to_json(vote.ballots),
        vote.opened_by,
        dt_to_text(vote.opened_at),
        vote.opened_line,
        opt_dt_to_text(vote.closed_at),
        vote.closed_line,
    )


def named_row(mid: int, named: Named) -> Params:
    return (mid, named.nick, named.line)


def presence_row(mid: int, p: Presence) -> Params:
    return (mid, dt_to_text(p.time), p.kind, p.nick, p.detail)


def gap_row(mid: int, gap: Gap) -> Params:
    return (mid, dt_to_text(gap.start), dt_to_text(gap.end), gap.reason)


def announce_row(a: Announce) -> Params:
    created = dt_to_text(a.created)
    return (a.delivery_id, a.receiver, a.event, a.payload, created, created)

"""The minutes' view model: what every minutes format shows, projected from a record.

The rules that decide what the minutes say (topics and their items, actions and who they
belong to, who was present and how much they said) live here once, so the text, HTML and
JSON writers cannot disagree. This module is pure: it must not format, escape or do I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.casemap import irc_lower
from bot.core.record import Item, MeetingRecord

# Characters a nick may contain; a nick matches an action only as a whole run of them,
# so `jon` is not found in `jonathan` nor in `jon-b`.
_NICK_CHARS = r"\w\[\]\\`^{}|-"
_NICK_RUN = re.compile(f"[{_NICK_CHARS}]+")
_NOT_AFTER = f"(?<![{_NICK_CHARS}])"
_NOT_BEFORE = f"(?![{_NICK_CHARS}])"

_NEVER = float("inf")


@dataclass(frozen=True, slots=True)
class TopicBlock:
    """A topic and the items recorded under it; `topic` is None for items before any topic."""

    topic: Item | None
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class PersonActions:
    """The actions that name one person; `nick` is None for the unassigned ones."""

    nick: str | None
    actions: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Attendee:
    nick: str
    lines: int


@dataclass(frozen=True, slots=True)
class Minutes:
    title: str
    summary: tuple[TopicBlock, ...]
    actions: tuple[Item, ...]
    actions_by_person: tuple[PersonActions, ...]
    attendees: tuple[Attendee, ...]


def title(record: MeetingRecord) -> str:
    """`#channel: topic`, or `#channel Meeting` when the meeting has no topic."""
    if record.topic:
        return f"{record.channel}: {record.topic}"
    return f"{record.channel} Meeting"


def label(kind: str) -> str:
    """The word an item is shown with in the minutes; INFO items have none."""
    return "" if kind == "info" else kind.upper()


def summary(items: tuple[Item, ...]) -> tuple[TopicBlock, ...]:
    """Items grouped under their topics, with the items before the first topic first."""
    blocks: list[TopicBlock] = []
    topic: Item | None = None
    under: list[Item] = []
    for item in items:
        if item.kind == "topic":
            if topic is not None or under:
                blocks.append(TopicBlock(topic, tuple(under)))
            topic, under = item, []
        else:
            under.append(item)
    if topic is not None or under:
        blocks.append(TopicBlock(topic, tuple(under)))
    return tuple(blocks)


def attendees(record: MeetingRecord) -> tuple[Attendee, ...]:
    """Everyone present with their line count: most lines first, ties by first appearance.

    Present means spoke (the bot included), was named by `#chair`/`#nick`, or is a chair.
    Nicks are compared under the network's case mapping; the first spelling seen is shown.
    """
    mapping = record.casemapping
    spelling: dict[str, str] = {}
    counts: dict[str, int] = {}
    first: dict[str, float] = {}
    folded_of: dict[str, str] = {}

    def seen(nick: str, at: float) -> str:
        key = folded_of.get(nick)
        if key is None:
            key = folded_of[nick] = irc_lower(nick, mapping)
        if key not in counts:
            counts[key] = 0
        if at < first.get(key, _NEVER) or key not in spelling:
            first[key] = at
            spelling[key] = nick
        return key

    # Each spelling once, in the order of its first line: two spellings of one nick count
    # together, and the first seen is shown.
    for nick, first_line, said in record.lines.speakers():
        counts[seen(nick, first_line)] += said
    for named in record.named:
        seen(named.nick, named.line)
    for chair in record.chairs:
        seen(chair.nick, _NEVER)
    # dicts keep insertion order, which breaks the remaining ties (chairs never seen).
    order = {key: index for index, key in enumerate(counts)}
    ranked = sorted(counts, key=lambda k: (-counts[k], first[k], order[k]))
    return tuple(Attendee(spelling[k], counts[k]) for k in ranked)


@dataclass(frozen=True, slots=True)
class _Person:
    folded: str
    nick: str
    # None when the nick is one run of nick characters, so a set lookup of words suffices.
    pattern: re.Pattern[str] | None

    def named_in(self, folded_text: str, words: set[str]) -> bool:
        if self.pattern is None:
            return self.folded in words
        return self.pattern.search(folded_text) is not None


def _person(nick: str, mapping: str) -> _Person:
    folded = irc_lower(nick, mapping)
    if _NICK_RUN.fullmatch(folded):
        return _Person(folded, nick, None)
    return _Person(folded, nick, re.compile(_NOT_AFTER + re.escape(folded) + _NOT_BEFORE))


def actions_by_person(
    actions: tuple[Item, ...], people: tuple[str, ...], mapping: str
) -> tuple[PersonActions, ...]:
    """Each person named in an action as a whole word (case-insensitive), sorted
    case-insensitively, with their actions; actions naming nobody come last, unassigned."""
    persons = sorted((_person(p, mapping) for p in people if p), key=lambda p: (p.folded, p.nick))
    assigned: dict[str, list[Item]] = {}
    unassigned: list[Item] = []
    for action in actions:
        folded_text = irc_lower(action.text, mapping)
        words = set(_NICK_RUN.findall(folded_text))
        owners = [p.folded for p in persons if p.named_in(folded_text, words)]
        for folded in owners:
            assigned.setdefault(folded, []).append(action)
        if not owners:
            unassigned.append(action)
    result = [
        PersonActions(p.nick, tuple(assigned[p.folded])) for p in persons if p.folded in assigned
    ]
    if unassigned:
        result.append(PersonActions(None, tuple(unassigned)))
    return tuple(result)


def project(record: MeetingRecord) -> Minutes:
    """The whole view model of the minutes of `record`."""
    present = attendees(record)
    actions = tuple(item for item in record.items if item.kind == "action")
    return Minutes(
        title=title(record),
        summary=summary(record.items),
        actions=actions,
        actions_by_person=actions_by_person(
            actions, tuple(a.nick for a in present), record.casemapping
        ),
        attendees=present,
    )

"""The recorded meeting: the immutable data every other layer reads.

A `MeetingRecord` is what the store persists and loads, what the writers render and
what `Publish` carries. It is a frozen snapshot: the core builds one from its live
meeting state whenever files are to be written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.linelog import LINE_ACTION, LINE_MESSAGE, LineLog, LogLine, frozen_lines

__all__ = [
    "ITEM_KINDS",
    "LINE_ACTION",
    "LINE_MESSAGE",
    "Ballot",
    "Chair",
    "Gap",
    "Item",
    "LogLine",
    "MeetingRecord",
    "Named",
    "Presence",
    "VoteRecord",
]

# Item kinds, in the words the minutes use (lower case here, labelled upper case there).
ITEM_KINDS = (
    "topic",
    "action",
    "info",
    "idea",
    "help",
    "link",
    "agreed",
    "accepted",
    "rejected",
    "vote",
)


@dataclass(frozen=True, slots=True)
class Item:
    """A minutes item (topic, action, ...) pointing at the log line that made it."""

    id: int
    kind: str
    text: str
    nick: str
    time: datetime
    line: int
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Chair:
    """A chair: the nick they use now and, when the server told us, their account."""

    nick: str
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Ballot:
    """One person's final choice in a vote."""

    nick: str
    option: str
    account: str | None = None


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """A vote: its question, options in the order given, and each voter's last choice."""

    id: int
    question: str
    options: tuple[str, ...]
    ballots: tuple[Ballot, ...]
    opened_by: str
    opened_at: datetime
    opened_line: int
    closed_at: datetime | None = None
    closed_line: int | None = None

    def count(self, option: str) -> int:
        return sum(1 for b in self.ballots if b.option == option)

    def voters(self, option: str) -> tuple[str, ...]:
        return tuple(b.nick for b in self.ballots if b.option == option)


@dataclass(frozen=True, slots=True)
class Named:
    """A person marked present by `#chair` or `#nick`, at the line that named them."""

    nick: str
    line: int


@dataclass(frozen=True, slots=True)
class Presence:
    """A join, part, quit, nick change, kick or op change seen during the meeting."""

    time: datetime
    kind: str  # join, part, quit, nick, kick, op, deop
    nick: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of time in which the bot was not recording (restart, disconnect, kick)."""

    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    """Everything known about one meeting, running or ended."""

    id: int
    network: str
    channel: str
    name: str
    topic: str | None
    owner: str
    chairs: tuple[Chair, ...]  # every chair, the owner first
    timezone: str
    start: datetime
    end: datetime | None
    length_minutes: int
    info_url: str
    bot_nick: str
    casemapping: str
    restricted: bool
    lurking: bool
    lines: LineLog
    items: tuple[Item, ...]
    votes: tuple[VoteRecord, ...]
    named: tuple[Named, ...]
    presence: tuple[Presence, ...]
    gaps: tuple[Gap, ...]
    owner_account: str | None = None
    private: bool = False  # held in a `private = true` channel
    # The channel's topic when the meeting started (None: not known), put back at the end.
    saved_topic: str | None = None

    def __post_init__(self) -> None:
        # Any sequence of lines is accepted and kept as an unchangeable `LineLog`.
        lines: Sequence[LogLine] = self.lines
        object.__setattr__(self, "lines", frozen_lines(lines))


SUCCESS = "success"
THANKS = "thanks"


@dataclass(frozen=True, slots=True)
class Success:
    """A `#success` or `#thanks` (`kind`), said in `channel`, inside the meeting
    `meeting_id` or outside any (None)."""

    kind: str  # SUCCESS or THANKS
    time: datetime
    network: str
    channel: str
    nick: str
    account: str | None
    text: str
    meeting_id: int | None = None


@dataclass(frozen=True, slots=True)
class PreviousMeeting:
    """What `#previous` tells of the last meeting of a series: where its minutes are, the
    day it was held (YYYY-MM-DD, in its own time zone) and its action items, in order."""

    url: str
    date: str
    actions: tuple[str, ...]

"""Effects: imperatives the core hands to the adapters.

Recording effects (`MeetingStarted` ... `MeetingEnded`) are persisted by the store
before any `Say`, `SetTopic` or `Publish` of the same event is carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.record import (
    Chair,
    Gap,
    Item,
    LogLine,
    MeetingRecord,
    Named,
    Presence,
    Success,
    VoteRecord,
)


@dataclass(frozen=True, slots=True)
class Say:
    """Send `text` as a PRIVMSG to `target` (a channel or a nick)."""

    network: str
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class SetTopic:
    network: str
    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class MeetingStarted:
    """A new meeting; `meeting` holds its header (no lines yet)."""

    meeting: MeetingRecord


@dataclass(frozen=True, slots=True)
class LineRecorded:
    meeting_id: int
    line: LogLine


@dataclass(frozen=True, slots=True)
class ItemRecorded:
    meeting_id: int
    item: Item


@dataclass(frozen=True, slots=True)
class ItemRemoved:
    meeting_id: int
    item_id: int


@dataclass(frozen=True, slots=True)
class MeetingChanged:
    """The meeting's changeable header fields, whole, after a change. `chairs` holds every
    chair, the owner first (as `MeetingRecord.chairs` does)."""

    meeting_id: int
    name: str
    topic: str | None
    chairs: tuple[Chair, ...]
    restricted: bool
    lurking: bool

    @property
    def owner(self) -> Chair:
        """The owner as it is now: renamed, or bound to an account since the start."""
        return self.chairs[0]


@dataclass(frozen=True, slots=True)
class PersonNamed:
    meeting_id: int
    named: Named


@dataclass(frozen=True, slots=True)
class VoteChanged:
    """A vote opened, a ballot cast or changed, or the vote closed: the vote, whole."""

    meeting_id: int
    vote: VoteRecord


@dataclass(frozen=True, slots=True)
class PresenceRecorded:
    meeting_id: int
    presence: Presence


@dataclass(frozen=True, slots=True)
class GapRecorded:
    meeting_id: int
    gap: Gap


@dataclass(frozen=True, slots=True)
class MeetingEnded:
    meeting_id: int
    end: datetime


@dataclass(frozen=True, slots=True)
class Publish:
    """Write the meeting's files from `meeting`. When `final`, the meeting has ended and,
    unless the bot is lurking (`announce` False), the end-of-meeting lines naming the
    files follow once they are written."""

    meeting: MeetingRecord
    final: bool
    announce: bool


@dataclass(frozen=True, slots=True)
class SuccessRecorded:
    """A `#success` or `#thanks` to keep (and publish on its page)."""

    success: Success


@dataclass(frozen=True, slots=True)
class LookUpPrevious:
    """Find the previous finished public meeting of the series the meeting `meeting_name`
    belongs to, on `network`, started before `before`; answer with `PreviousFound`
    (carrying `time`, `bot_nick` and `echoes_own_lines` back)."""

    network: str
    channel: str
    meeting_id: int
    meeting_name: str
    before: datetime
    time: datetime
    bot_nick: str
    echoes_own_lines: bool = False


@dataclass(frozen=True, slots=True)
class Announce:
    """Queue one announcement for one receiver in the outbox, in the same transaction as
    the event that causes it. `delivery_id` is the receiver's key for dropping a repeat;
    `payload` is what is sent (a webhook's JSON body, or an email as JSON)."""

    delivery_id: str
    receiver: str
    event: str
    created: datetime
    payload: str


Effect = (
    Say
    | SetTopic
    | MeetingStarted
    | LineRecorded
    | ItemRecorded
    | ItemRemoved
    | MeetingChanged
    | PersonNamed
    | VoteChanged
    | PresenceRecorded
    | GapRecorded
    | MeetingEnded
    | Publish
    | SuccessRecorded
    | LookUpPrevious
    | Announce
)

RECORDING_EFFECTS = (
    MeetingStarted,
    LineRecorded,
    ItemRecorded,
    ItemRemoved,
    MeetingChanged,
    PersonNamed,
    VoteChanged,
    PresenceRecorded,
    GapRecorded,
    MeetingEnded,
    SuccessRecorded,
    Announce,
)

"""The core's live state: networks, channels, who is in them, and running meetings.

State is mutable on purpose: a meeting may hold tens of thousands of lines, and copying
it for every event would make recording cost grow with the meeting. `step` is still
deterministic: the same events in the same order give the same state and effects.
`Meeting.to_record()` takes the immutable snapshot other layers read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.casemap import RFC1459, irc_lower
from bot.core.events import Member
from bot.core.limits import ReplyLimiter
from bot.core.linelog import LineLog
from bot.core.record import (
    Ballot,
    Chair,
    Gap,
    Item,
    MeetingRecord,
    Named,
    Presence,
    VoteRecord,
)
from bot.core.timefmt import zone


@dataclass
class Vote:
    """A vote in progress (or closed): ballots keyed by voter so a re-vote replaces."""

    question: str
    options: tuple[str, ...]
    opened_by: str
    opened_at: datetime
    opened_line: int
    ballots: dict[str, Ballot] = field(default_factory=dict)
    closed_at: datetime | None = None
    closed_line: int | None = None

    @property
    def id(self) -> int:
        return self.opened_line

    def to_record(self) -> VoteRecord:
        return VoteRecord(
            id=self.id,
            question=self.question,
            options=self.options,
            ballots=tuple(self.ballots.values()),
            opened_by=self.opened_by,
            opened_at=self.opened_at,
            opened_line=self.opened_line,
            closed_at=self.closed_at,
            closed_line=self.closed_line,
        )


MSGIDS_KEPT = 1024
"""How many of a channel's latest `msgid`s are kept. History replayed after a reconnect
starts at the last line heard before it, so only the newest lines can come twice; the
bound keeps a busy channel's memory from growing with every line."""


def voter_key(nick: str, account: str | None, casemapping: str) -> str:
    """Who a ballot belongs to: the account when known, else the nick (case-folded)."""
    return f"a:{account}" if account else f"n:{irc_lower(nick, casemapping)}"


@dataclass
class Meeting:
    id: int
    network: str
    channel: str
    name: str
    topic: str | None
    owner: Chair
    timezone: str
    start: datetime
    length_minutes: int
    info_url: str
    bot_nick: str
    casemapping: str
    chairs: list[Chair] = field(default_factory=list)  # not including the owner
    restricted: bool = False
    lurking: bool = False
    lines: LineLog = field(default_factory=LineLog)
    items: list[Item] = field(default_factory=list)
    votes: list[Vote] = field(default_factory=list)
    named: list[Named] = field(default_factory=list)
    presence: list[Presence] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    end: datetime | None = None
    private: bool = False
    present: set[str] = field(default_factory=set)  # case-folded nicks seen or named
    saved_topic: str | None = None  # the channel's topic at the start, restored at the end
    # Chairs known only by nick (`Chair.nick`, exactly) whose person the bot has seen hold
    # that nick since they were named: an account learned for one of these nicks is the
    # named person's, and binds the chair. Never stored: after a restart, as after any time
    # away, the bot cannot tell whether the nick changed hands meanwhile.
    held: set[str] = field(default_factory=set)

    def let_go(self, nick: str) -> None:
        """Whoever holds `nick` now is no longer known to be the chair named by it."""
        if not self.held:
            return
        folded = self.fold(nick)
        self.held = {n for n in self.held if self.fold(n) != folded}

    @property
    def open_vote(self) -> Vote | None:
        if self.votes and self.votes[-1].closed_at is None:
            return self.votes[-1]
        return None

    @property
    def all_chairs(self) -> list[Chair]:
        return [self.owner, *self.chairs]

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def fold(self, nick: str) -> str:
        return irc_lower(nick, self.casemapping)

    def to_record(self, *, with_content: bool = True) -> MeetingRecord:
        return MeetingRecord(
            id=self.id,
            network=self.network,
            channel=self.channel,
            name=self.name,
            topic=self.topic,
            owner=self.owner.nick,
            owner_account=self.owner.account,
            chairs=tuple(self.all_chairs),
            timezone=self.timezone,
            start=self.start,
            end=self.end,
            length_minutes=self.length_minutes,
            info_url=self.info_url,
            bot_nick=self.bot_nick,
            casemapping=self.casemapping,
            restricted=self.restricted,
            lurking=self.lurking,
            lines=self.lines.snapshot() if with_content else LineLog(),
            items=tuple(self.items) if with_content else (),
            votes=tuple(v.to_record() for v in self.votes) if with_content else (),
            named=tuple(self.named) if with_content else (),
            presence=tuple(self.presence) if with_content else (),
            gaps=tuple(self.gaps) if with_content else (),
            private=self.private,
            saved_topic=self.saved_topic,
        )

    @classmethod
    def from_record(cls, record: MeetingRecord) -> Meeting:
        """Rebuild a running meeting from what the store kept (resumption after restart)."""
        owner = Chair(record.owner, record.owner_account)
        if record.chairs and record.chairs[0].nick == record.owner:
            # The header follows the owner too now, but a meeting recorded by an older Gavel
            # has the owner bound since the start in its chairs only.
            owner = record.chairs[0]
        meeting = cls(
            id=record.id,
            network=record.network,
            channel=record.channel,
            name=record.name,
            topic=record.topic,
            owner=owner,
            timezone=record.timezone,
            start=record.start,
            length_minutes=record.length_minutes,
            info_url=record.info_url,
            bot_nick=record.bot_nick,
            casemapping=record.casemapping,
            chairs=[c for c in record.chairs if c != owner],
            restricted=record.restricted,
            lurking=record.lurking,
            lines=LineLog(record.lines),
            items=list(record.items),
            named=list(record.named),
            presence=list(record.presence),
            gaps=list(record.gaps),
            end=record.end,
            private=record.private,
            saved_topic=record.saved_topic,
        )
        for v in record.votes:
            vote = Vote(
                question=v.question,
                options=v.options,
                opened_by=v.opened_by,
                opened_at=v.opened_at,
                opened_line=v.opened_line,
                closed_at=v.closed_at,
                closed_line=v.closed_line,
            )
            for b in v.ballots:
                vote.ballots[voter_key(b.nick, b.account, record.casemapping)] = b
            meeting.votes.append(vote)
        meeting.present = {meeting.fold(nick) for _, nick, _, _ in record.lines.rows()}
        meeting.present.update(meeting.fold(n.nick) for n in record.named)
        return meeting


@dataclass
class ChannelState:
    name: str
    members: dict[str, Member] = field(default_factory=dict)  # key: case-folded nick
    meeting: Meeting | None = None
    topic: str | None = None  # as the server last told it; None until the bot has joined
    topic_set_at: datetime | None = None  # when `topic` was set, if the server told it
    unrecorded: str | None = None  # a line the bot said that its echo must not record
    # The channel topic a replayed line would have set, set once the replay is over
    # (`HistoryReplayed`), and the time of the latest line that set, or would have set, it.
    owed_topic: str | None = None
    topic_time: datetime | None = None
    away_since: datetime | None = None
    away_reason: str = ""
    # The `msgid`s of the latest lines that did something (recorded in a meeting, or a
    # command between meetings), oldest first: a line replayed after a reconnect that the
    # bot heard before is not handled twice. Chatter between meetings is not kept: it does
    # nothing, and a network of busy channels would otherwise keep `MSGIDS_KEPT` ids each.
    msgids: dict[str, None] = field(default_factory=dict)

    def note_handled(self, msgid: str) -> None:
        """Note that the line with `msgid` was handled (see `MSGIDS_KEPT`)."""
        self.msgids[msgid] = None
        if len(self.msgids) > MSGIDS_KEPT:
            del self.msgids[next(iter(self.msgids))]


@dataclass
class NetworkState:
    name: str
    casemapping: str = RFC1459
    channels: dict[str, ChannelState] = field(default_factory=dict)  # key: folded name

    def fold(self, text: str) -> str:
        return irc_lower(text, self.casemapping)

    def channel(self, name: str) -> ChannelState:
        key = self.fold(name)
        chan = self.channels.get(key)
        if chan is None:
            chan = self.channels[key] = ChannelState(name)
        return chan

    def meetings(self) -> list[tuple[ChannelState, Meeting]]:
        return [(c, c.meeting) for c in self.channels.values() if c.meeting is not None]


@dataclass
class World:
    """Everything the core knows, across networks."""

    networks: dict[str, NetworkState] = field(default_factory=dict)
    limiter: ReplyLimiter = field(default_factory=ReplyLimiter)

    def network(self, name: str) -> NetworkState:
        net = self.networks.get(name)
        if net is None:
            net = self.networks[name] = NetworkState(name)
        return net

    def running_meetings(self) -> list[Meeting]:
        return [m for net in self.networks.values() for _, m in net.meetings()]

    def restore(self, records: list[MeetingRecord]) -> None:
        """Put running meetings loaded from the store back into their channels."""
        for record in records:
            net = self.network(record.network)
            net.casemapping = record.casemapping
            net.channel(record.channel).meeting = Meeting.from_record(record)

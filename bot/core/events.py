"""Events: past-tense facts the adapters feed into the core.

Each carries the network it happened on, its time (an aware datetime, stamped at the
edge, from IRCv3 `server-time` when the server sends it) and an id unique within this
process's history (the id of a `#startmeeting` line becomes the meeting's id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from bot.core.names import OPENSTACK
from bot.core.record import MeetingRecord, PreviousMeeting

DEFAULT_INFO_URL = "http://wiki.debian.org/MeetBot"


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """Per-channel meeting settings, as configured by the operator."""

    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    meeting_length_minutes: int = 60
    set_channel_topic: bool = True
    ops_are_chairs: bool = True
    info_url: str = DEFAULT_INFO_URL
    meeting_names: str = OPENSTACK  # the rule of bot.core.names that names the files
    # Between meetings: #success, #thanks and #previous answer here (False: ignored), the
    # pages their replies point to, and whether #startmeeting also tells last time's actions.
    followup: bool = True
    successes_url: str = ""
    thanks_url: str = ""
    previous_at_start: bool = False
    private: bool = False  # a private channel: its meetings never appear in the archive

    @property
    def timezone_name(self) -> str:
        return getattr(self.timezone, "key", None) or str(self.timezone)


DEFAULT_SETTINGS = ChannelSettings()


@dataclass(frozen=True, slots=True)
class MessageSeen:
    """A PRIVMSG (or a `/me` action when `action`) to a channel, or to the bot when
    `channel` is None.

    `echoes_own_lines`: the bot's own lines come back in the stream of lines (IRCv3
    echo-message live, or a replayed log), so the core records them when they come and
    must not record its replies itself.
    `replayed`: history the server replays after a reconnect (an IRCv3 `chathistory`
    batch): said minutes or hours ago, so it is recorded and changes the meeting as it
    did when said, but the bot never answers it.
    `msgid`: the IRCv3 `msgid` tag, when the server gives one; a replayed line already
    handled is known by it.
    """

    network: str
    time: datetime
    id: int
    channel: str | None
    nick: str
    text: str
    bot_nick: str
    action: bool = False
    account: str | None = None
    settings: ChannelSettings = DEFAULT_SETTINGS
    echoes_own_lines: bool = False
    replayed: bool = False
    msgid: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """Someone in a channel as NAMES/WHO reported them."""

    nick: str
    op: bool = False
    account: str | None = None


@dataclass(frozen=True, slots=True)
class MembersListed:
    """The complete member list of a channel (end of NAMES)."""

    network: str
    time: datetime
    id: int
    channel: str
    members: tuple[Member, ...]


@dataclass(frozen=True, slots=True)
class Joined:
    """Someone joined a channel. `echoes_own_lines` as for `MessageSeen`: what the bot says
    on its own return to a meeting comes back from the server to be recorded."""

    network: str
    time: datetime
    id: int
    channel: str
    nick: str
    bot_nick: str
    account: str | None = None
    echoes_own_lines: bool = False


@dataclass(frozen=True, slots=True)
class Parted:
    network: str
    time: datetime
    id: int
    channel: str
    nick: str
    bot_nick: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Kicked:
    network: str
    time: datetime
    id: int
    channel: str
    nick: str
    by: str
    bot_nick: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Quit:
    network: str
    time: datetime
    id: int
    nick: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class NickChanged:
    network: str
    time: datetime
    id: int
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class OpChanged:
    """Channel operator status given (`op` True) or taken away."""

    network: str
    time: datetime
    id: int
    channel: str
    nick: str
    op: bool
    by: str = ""


@dataclass(frozen=True, slots=True)
class AccountChanged:
    """IRCv3 account-notify: `nick` is now logged in as `account` (None: logged out)."""

    network: str
    time: datetime
    id: int
    nick: str
    account: str | None


@dataclass(frozen=True, slots=True)
class AccountsListed:
    """Who is logged in as whom (WHOX, asked on joining): `(nick, account)` pairs,
    account None for someone not logged in."""

    network: str
    time: datetime
    id: int
    accounts: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What ISUPPORT told us about the network."""

    network: str
    time: datetime
    id: int
    casemapping: str


@dataclass(frozen=True, slots=True)
class TopicSeen:
    """The channel's topic as the server told it: when the bot joins (RPL_TOPIC, or none)
    or when someone, the bot included, changes it. Empty text: the channel has no topic.
    `set_at`: when it was set, where known (RPL_TOPICWHOTIME tells the topic told on
    joining again with it; a change is set when it comes)."""

    network: str
    time: datetime
    id: int
    channel: str
    text: str
    set_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryReplayed:
    """The server has replayed the history of `channel` asked for after a reconnect (the
    end of its `chathistory` batch): what the bot would have done when those lines were
    said, and that still stands, may be done now."""

    network: str
    time: datetime
    id: int
    channel: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The bot stopped hearing the network (connection lost, or a restart: then `time`
    is the last moment anything was recorded). Meetings on it get a gap that ends when
    the bot is back in their channel."""

    network: str
    time: datetime
    id: int
    reason: str


@dataclass(frozen=True, slots=True)
class FilesPublished:
    """The files of `meeting` (the snapshot a `Publish` carried) are written; `url_base` is
    their URL without extension. After the `#endmeeting` the core says where they are."""

    network: str
    time: datetime
    id: int
    meeting: MeetingRecord
    url_base: str
    final: bool
    announce: bool


@dataclass(frozen=True, slots=True)
class PreviousFound:
    """The answer to a `LookUpPrevious`: the previous meeting of `series` (None: there was
    none), for the meeting `meeting_id` in `channel`. `time`, `bot_nick` and
    `echoes_own_lines` are those of the line that asked."""

    network: str
    time: datetime
    id: int
    channel: str
    meeting_id: int
    series: str
    found: PreviousMeeting | None
    bot_nick: str
    echoes_own_lines: bool = False


Event = (
    MessageSeen
    | MembersListed
    | Joined
    | Parted
    | Kicked
    | Quit
    | NickChanged
    | OpChanged
    | AccountChanged
    | AccountsListed
    | ServerInfo
    | TopicSeen
    | HistoryReplayed
    | Disconnected
    | FilesPublished
    | PreviousFound
)


def event_channel(event: Event) -> str | None:
    """The channel `event` happened in; None for what concerns the whole network (a quit,
    a nick or account change) or a private message."""
    if isinstance(
        event,
        MessageSeen
        | MembersListed
        | Joined
        | Parted
        | Kicked
        | OpChanged
        | PreviousFound
        | TopicSeen
        | HistoryReplayed,
    ):
        return event.channel
    if isinstance(event, FilesPublished):
        return event.meeting.channel
    return None

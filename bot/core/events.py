"""Events: past-tense facts the adapters feed into the core.

Each carries the network it happened on, its time (an aware datetime, stamped at the
edge, from IRCv3 `server-time` when the server sends it) and an id unique within this
process's history (the id of a `#startmeeting` line becomes the meeting's id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_INFO_URL = "http://wiki.debian.org/MeetBot"


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """Per-channel meeting settings, as configured by the operator."""

    timezone: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    meeting_length_minutes: int = 60
    set_channel_topic: bool = True
    ops_are_chairs: bool = True
    info_url: str = DEFAULT_INFO_URL
    private: bool = False  # a private channel: its meetings never appear in the archive

    @property
    def timezone_name(self) -> str:
        return getattr(self.timezone, "key", None) or str(self.timezone)


DEFAULT_SETTINGS = ChannelSettings()


@dataclass(frozen=True, slots=True)
class MessageSeen:
    """A PRIVMSG (or a `/me` action when `action`) to a channel, or to the bot when
    `channel` is None. `echoes_own_lines` says the server relays the bot's own lines
    back (IRCv3 echo-message, or a replayed log), so the core must not record its
    replies itself."""

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
    network: str
    time: datetime
    id: int
    channel: str
    nick: str
    bot_nick: str
    account: str | None = None


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
class ServerInfo:
    """What ISUPPORT told us about the network."""

    network: str
    time: datetime
    id: int
    casemapping: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The bot stopped hearing the network (connection lost, or a restart: then `time`
    is the last moment anything was recorded). Meetings on it get a gap that ends when
    the bot is back in their channel."""

    network: str
    time: datetime
    id: int
    reason: str


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
    | ServerInfo
    | Disconnected
)

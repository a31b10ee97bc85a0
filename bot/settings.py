"""Operator configuration: the TOML file, validated into frozen dataclasses.

Every validation error names the key it is about
(`networks[0].channels[2].timezone: unknown time zone 'Mars/Base'`), and the bot refuses
to start on any. Secrets may come from the environment or a file, never only inline.
`Settings.channel` is the one lookup of a channel's configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.archive.series import SeriesAliases
from bot.core.casemap import same
from bot.core.events import DEFAULT_INFO_URL, ChannelSettings
from bot.core.names import OPENSTACK

DEFAULT_PATTERN = "{meetingname}/%Y/{meetingname}.%Y-%m-%d-%H.%M"


@dataclass(frozen=True, slots=True)
class Identity:
    nick: str = "gavel"
    alt_nicks: tuple[str, ...] = ()
    username: str = "gavel"
    realname: str = "Gavel meeting bot"


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """Where files go and how they are named and linked."""

    dir: Path = Path("./meetings")
    url_prefix: str = ""
    pattern: str = DEFAULT_PATTERN
    private_dir: Path | None = None
    info_url: str = DEFAULT_INFO_URL
    meeting_names: str = OPENSTACK  # a rule of bot.core.names: "openstack" or "fedora"


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    name: str
    key: str | None = None
    settings: ChannelSettings = field(default_factory=ChannelSettings)
    output: OutputSettings | None = None  # None: the global output settings
    private: bool = False  # files go to output.private_dir (for +s/+p channels)
    announce_to: tuple[str, ...] = ()  # email addresses for this channel's minutes


@dataclass(frozen=True, slots=True)
class SaslConfig:
    mechanism: str  # "PLAIN" or "EXTERNAL"
    username: str = ""
    password: str = ""
    # The network's `sasl_required`: when SASL fails, reconnect (with the usual backoff)
    # rather than go on unidentified.
    required: bool = True


@dataclass(frozen=True, slots=True)
class TlsConfig:
    enabled: bool = False
    verify: bool = True
    ca_file: Path | None = None
    fingerprint: str | None = None  # SHA-256 of the server certificate, hex
    client_cert: Path | None = None  # for SASL EXTERNAL
    client_key: Path | None = None


@dataclass(frozen=True, slots=True)
class ConnectionTiming:
    """When to reconnect and when to give up on a silent connection (seconds).

    The n-th reconnect waits a random time up to `reconnect_first_delay * 2**n`, capped at
    `reconnect_max_delay`; after `ping_after` seconds of silence the bot sends a PING, and
    after `dead_after` seconds it drops the connection and reconnects."""

    reconnect_first_delay: float = 10.0
    reconnect_max_delay: float = 300.0
    ping_after: float = 60.0
    dead_after: float = 120.0


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    name: str
    host: str
    port: int = 6667
    tls: TlsConfig = field(default_factory=TlsConfig)
    sasl: SaslConfig | None = None
    rate: float = 1.0  # lines per second after the burst; 0 = unthrottled
    burst: int = 4
    channels: tuple[ChannelConfig, ...] = ()
    identity: Identity | None = None  # None: the [bot] identity
    timing: ConnectionTiming = field(default_factory=ConnectionTiming)


@dataclass(frozen=True, slots=True)
class StorageSettings:
    path: Path = Path("./data/gavel.sqlite3")


@dataclass(frozen=True, slots=True)
class LoggingSettings:
    level: str = "info"
    format: str | None = None  # "json" or "console"; None: console on a terminal


@dataclass(frozen=True, slots=True)
class ArchiveSettings:
    """How past meetings are grouped and found."""

    aliases: SeriesAliases = field(default_factory=SeriesAliases)


DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8080
DEFAULT_WEB_NICE = 10  # below the bot (0): the bot is never slowed by the web


@dataclass(frozen=True, slots=True)
class WebSettings:
    """`gavel web`: where it listens, the public URL it is reached at, the site's title."""

    host: str = DEFAULT_WEB_HOST
    port: int = DEFAULT_WEB_PORT
    base_url: str = ""  # e.g. https://meetings.example.org (for feeds); "" = relative links
    title: str = "Meetings"
    nice: int = DEFAULT_WEB_NICE  # the CPU niceness `gavel web` runs at, at least
    # Linux's SCHED_IDLE: the web runs only on CPU time nothing else at a normal policy wants
    idle: bool = True


@dataclass(frozen=True, slots=True)
class FollowupSettings:
    """Where the #success and #thanks replies point: as configured, else the web archive's
    pages under `[web] base_url` when it is set (None: the static pages)."""

    successes_url: str | None = None
    thanks_url: str | None = None


DEFAULT_SUBJECT = "[{meetingname}] Meeting minutes {date}"
ANNOUNCE_EVENTS = ("meeting.start", "meeting.complete", "success")


@dataclass(frozen=True, slots=True)
class EmailSettings:
    """Mailing the `.txt` minutes at the end of a meeting."""

    host: str
    sender: str  # the From: header
    port: int = 587
    security: str = "starttls"  # "starttls", "tls", or "none" (loopback only)
    username: str | None = None
    password: str | None = None
    to: tuple[str, ...] = ()  # for every public meeting
    subject: str = DEFAULT_SUBJECT
    # For the public meetings of a series, wherever they are held: the series' name (lower
    # case, never an alias) to its addresses. Teams sharing a channel each get their own.
    series: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """A URL that gets a signed JSON POST for each of `events`."""

    url: str
    secret: str
    events: tuple[str, ...] = ANNOUNCE_EVENTS
    channels: tuple[str, ...] | None = None  # None: every public meeting


@dataclass(frozen=True, slots=True)
class AnnounceSettings:
    """Announcements and how their delivery is retried: the n-th retry waits
    `retry_first_delay * 2**n` seconds, at most `retry_max_delay`, for `retry_for_hours`."""

    email: EmailSettings | None = None
    webhooks: tuple[WebhookSettings, ...] = ()
    timeout: float = 10.0
    retry_first_delay: float = 30.0
    retry_max_delay: float = 3600.0
    retry_for_hours: float = 48.0

    @property
    def enabled(self) -> bool:
        return self.email is not None or bool(self.webhooks)


@dataclass(frozen=True, slots=True)
class Settings:
    identity: Identity
    networks: tuple[NetworkConfig, ...]
    output: OutputSettings = field(default_factory=OutputSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    web: WebSettings = field(default_factory=WebSettings)
    followup: FollowupSettings = field(default_factory=FollowupSettings)
    announce: AnnounceSettings = field(default_factory=AnnounceSettings)

    def channel(self, network: str, channel: str) -> ChannelConfig:
        """The configuration of `channel` on `network`, its name compared as the loader
        compares names listed twice (RFC 1459 folding). A channel not configured has the
        defaults: public, the global output settings, no `announce_to`."""
        for net in self.networks:
            if net.name == network:
                for configured in net.channels:
                    if same(configured.name, channel):
                        return configured
        return ChannelConfig(channel)

    def output_for(self, network: str, channel: str) -> tuple[OutputSettings, bool]:
        """The channel's own output settings (else the global ones), and whether it is
        private."""
        configured = self.channel(network, channel)
        return configured.output or self.output, configured.private


class ConfigError(Exception):
    """The configuration is invalid; `problems` name each key that is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

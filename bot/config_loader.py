"""Reading and validating the TOML configuration into `bot.settings.Settings`.

Every problem is reported with the key it is about, all at once, so an operator fixes a
file in one pass: `networks[0].channels[2].timezone: unknown time zone 'Mars/Base'`.
Secrets (SASL password, channel keys) may be given inline, or better by `*_env` (an
environment variable) or `*_file` (a file whose first line is the secret).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.archive.series import SeriesAliases, build_aliases, valid_series_name
from bot.core.casemap import irc_lower
from bot.core.events import DEFAULT_INFO_URL, ChannelSettings
from bot.core.names import NAME_RULES
from bot.settings import (
    ANNOUNCE_EVENTS,
    DEFAULT_PATTERN,
    DEFAULT_SUBJECT,
    AnnounceSettings,
    ArchiveSettings,
    ChannelConfig,
    ConfigError,
    ConnectionTiming,
    EmailSettings,
    FollowupSettings,
    Identity,
    LoggingSettings,
    NetworkConfig,
    OutputSettings,
    SaslConfig,
    Settings,
    StorageSettings,
    TlsConfig,
    WebhookSettings,
    WebSettings,
)
from bot.writers.paths import pattern_problems, url_for

_CHANNEL_PREFIXES = "#&+!"


class _Reader:
    """Typed access to one TOML table, collecting problems instead of stopping at the first."""

    def __init__(self, table: Mapping[str, Any], where: str, problems: list[str]) -> None:
        self.table = table
        self.where = where
        self.problems = problems
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def problem(self, name: str, message: str) -> None:
        self.problems.append(f"{self.key(name)}: {message}")

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        self.used.add(name)
        if name not in self.table:
            return default
        value = self.table[name]
        # TOML integers are fine where a float is expected; booleans are not numbers here.
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, bool) and kind in (int, float):
            self.problem(name, f"expected a number, got {value!r}")
            return default
        if not isinstance(value, kind):
            self.problem(name, f"expected {_kind_name(kind)}, got {value!r}")
            return default
        return value

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.get(name, str, default)
        if required and not value:
            self.problem(name, "is required")
        return value

    def secret(self, name: str) -> str | None:
        """`name` inline, `name_env` from the environment, or `name_file` from a file."""
        inline = self.get(name, str)
        env = self.get(f"{name}_env", str)
        file = self.get(f"{name}_file", str)
        given = [k for k, v in ((name, inline), (f"{name}_env", env), (f"{name}_file", file)) if v]
        if len(given) > 1:
            self.problem(name, f"give only one of {', '.join(given)}")
            return None
        if env:
            if env not in os.environ:
                self.problem(f"{name}_env", f"environment variable {env} is not set")
                return None
            return os.environ[env]
        if file:
            try:
                return Path(file).read_text(encoding="utf-8").splitlines()[0].strip()
            except (OSError, IndexError, UnicodeDecodeError) as exc:
                self.problem(f"{name}_file", f"cannot read secret from {file!r} ({exc})")
                return None
        return inline  # type: ignore[no-any-return]

    def secret_outside(self, name: str) -> str | None:
        """A secret that must not be written in the file: only `name_env` or `name_file`."""
        self.used.add(name)
        if name in self.table:
            self.problem(name, f"give it as {name}_env or {name}_file, not inline")
            return None
        return self.secret(name)

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(name, list, None)
        if values is None:
            return default
        if not all(isinstance(v, str) and v for v in values):
            self.problem(name, f"expected a list of strings, got {values!r}")
            return default
        return tuple(values)

    def unknown_keys(self) -> None:
        for name in self.table:
            if name not in self.used:
                self.problem(name, "unknown key")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    names.update({list: "a list", dict: "a table"})
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, k.__name__) for k in kind)
    return names.get(kind, kind.__name__)


def load_settings(path: Path) -> Settings:
    """Read and validate `path`; raise `ConfigError` listing every problem."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror or exc})"]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML ({exc})"]) from exc
    return parse_settings(raw)


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    problems: list[str] = []
    top = _Reader(raw, "", problems)
    identity = _identity(_table(top, "bot"), "bot", problems)
    output = _output(_table(top, "output"), "output", problems, OutputSettings())
    storage = _storage(_table(top, "storage"), problems)
    logging = _logging(_table(top, "logging"), problems)
    archive = _archive(_table(top, "archive"))
    web = _web(_table(top, "web"))
    followup = _followup(_table(top, "followup"), web)
    announce = _announce(_table(top, "announce"), archive.aliases)
    networks_raw = top.get("networks", list, [])
    if not networks_raw:
        problems.append("networks: at least one [[networks]] entry is required")
    networks = tuple(
        _network(n, f"networks[{i}]", problems, output, followup)
        for i, n in enumerate(networks_raw)
        if _is_table(n, f"networks[{i}]", problems)
    )
    names = [n.name for n in networks]
    for name in {n for n in names if names.count(n) > 1}:
        problems.append(f"networks: the name {name!r} is used twice")
    top.unknown_keys()
    if problems:
        raise ConfigError(problems)
    return Settings(identity, networks, output, storage, logging, archive, web, followup, announce)


def _is_table(value: Any, where: str, problems: list[str]) -> bool:
    if isinstance(value, dict):
        return True
    problems.append(f"{where}: expected a table, got {value!r}")
    return False


def _table(reader: _Reader, name: str) -> _Reader:
    value = reader.get(name, dict, {})
    return _Reader(value, reader.key(name), reader.problems)


def _identity(r: _Reader, where: str, problems: list[str]) -> Identity:
    nick = r.text("nick", "gavel")
    if nick and not _valid_nick(nick):
        r.problem("nick", f"not a valid IRC nick: {nick!r}")
    alts = r.get("alt_nicks", list, [])
    for i, alt in enumerate(alts):
        if not isinstance(alt, str) or not _valid_nick(alt):
            problems.append(f"{where}.alt_nicks[{i}]: not a valid IRC nick: {alt!r}")
    identity = Identity(
        nick=nick or "gavel",
        alt_nicks=tuple(a for a in alts if isinstance(a, str)),
        username=r.text("username", "gavel"),
        realname=r.text("realname", "Gavel meeting bot"),
    )
    r.unknown_keys()
    return identity


def _valid_nick(nick: str) -> bool:
    return (
        0 < len(nick) <= 64
        and not nick[0].isdigit()
        and nick[0] not in "-#&:"
        and all(c.isascii() and (c.isalnum() or c in "-_[]\\`^{|}") for c in nick)
    )


def _output(r: _Reader, where: str, problems: list[str], base: OutputSettings) -> OutputSettings:
    dir_ = r.text("dir")
    private = r.text("private_dir")
    pattern = r.text("pattern", base.pattern)
    for problem in pattern_problems(pattern) if pattern is not None else []:
        r.problem("pattern", problem)
    url_prefix = r.text("url_prefix", base.url_prefix)
    info_url = r.text("info_url", base.info_url)
    meeting_names = r.text("meeting_names", base.meeting_names) or base.meeting_names
    if meeting_names not in NAME_RULES:
        rules = " or ".join(repr(rule) for rule in NAME_RULES)
        r.problem("meeting_names", f"expected {rules}, got {meeting_names!r}")
        meeting_names = base.meeting_names
    r.unknown_keys()
    return OutputSettings(
        dir=Path(dir_) if dir_ else base.dir,
        url_prefix=url_prefix if url_prefix is not None else base.url_prefix,
        pattern=pattern or DEFAULT_PATTERN,
        private_dir=Path(private) if private else base.private_dir,
        info_url=info_url or DEFAULT_INFO_URL,
        meeting_names=meeting_names,
    )


def _storage(r: _Reader, problems: list[str]) -> StorageSettings:
    path = r.text("path")
    r.unknown_keys()
    return StorageSettings(Path(path)) if path else StorageSettings()


def _archive(r: _Reader) -> ArchiveSettings:
    table = r.get("aliases", dict, {})
    for series, aliases in table.items():
        if not isinstance(aliases, list):
            r.problem(f"aliases.{series}", f"expected a list of names, got {aliases!r}")
    lists = {k: v for k, v in table.items() if isinstance(v, list)}
    aliases, problems = build_aliases(lists)
    for problem in problems:
        r.problems.append(f"{r.key('aliases')}.{problem}")
    r.unknown_keys()
    return ArchiveSettings(aliases)


def parse_listen(listen: str) -> tuple[str, int] | None:
    """`HOST:PORT` (`[::1]:8080` for IPv6) as (host, port), or None when it is not one."""
    host, colon, port_text = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    port = int(port_text) if colon and port_text.isdigit() and len(port_text) <= 5 else -1
    if not host or not 0 < port < 65536:
        return None
    return host, port


def _web(r: _Reader) -> WebSettings:
    default = WebSettings()
    listen = r.text("listen", f"{default.host}:{default.port}") or ""
    address = parse_listen(listen)
    if address is None:
        r.problem("listen", f"expected HOST:PORT such as 127.0.0.1:8080, got {listen!r}")
        address = (default.host, default.port)
    host, port = address
    base_url = (r.text("base_url", "") or "").rstrip("/")
    if base_url and not base_url.lower().startswith(("http://", "https://")):
        r.problem("base_url", f"expected an http:// or https:// URL, got {base_url!r}")
        base_url = ""
    title = r.text("title", default.title) or default.title
    if len(title) > 200 or not title.isprintable():
        r.problem("title", "must be printable text of at most 200 characters")
        title = default.title
    nice = r.get("nice", int, default.nice)
    if not 0 <= nice <= 19:
        r.problem("nice", f"expected a niceness from 0 to 19, got {nice}")
        nice = default.nice
    idle = r.get("idle", bool, default.idle)
    r.unknown_keys()
    return WebSettings(host, port, base_url, title, nice, idle)


def _logging(r: _Reader, problems: list[str]) -> LoggingSettings:
    level = (r.text("level", "info") or "info").lower()
    if level not in ("debug", "info", "warning", "error"):
        r.problem("level", f"expected debug, info, warning or error, got {level!r}")
    fmt = r.text("format")
    if fmt is not None and fmt not in ("json", "console"):
        r.problem("format", f"expected 'json' or 'console', got {fmt!r}")
    r.unknown_keys()
    return LoggingSettings(level, fmt)


def _network(
    raw: Mapping[str, Any],
    where: str,
    problems: list[str],
    output: OutputSettings,
    followup: FollowupSettings,
) -> NetworkConfig:
    r = _Reader(raw, where, problems)
    name = r.text("name", required=True) or "?"
    host = r.text("host", required=True) or ""
    tls = _tls(r)
    port = r.get("port", int, 6697 if tls.enabled else 6667)
    if not 0 < port < 65536:
        r.problem("port", f"expected 1-65535, got {port}")
    rate = r.get("rate", float, 1.0)
    if rate < 0:
        r.problem("rate", f"must be 0 (unthrottled) or more, got {rate}")
    burst = r.get("burst", int, 4)
    if burst < 1:
        r.problem("burst", f"must be at least 1, got {burst}")
    timing = _timing(r)
    sasl = _sasl(r)
    if sasl is not None and sasl.mechanism == "EXTERNAL" and tls.client_cert is None:
        r.problem("sasl.mechanism", "EXTERNAL needs tls_client_cert")
    required = r.get("sasl_required", bool)
    if required is not None and sasl is None:
        r.problem("sasl_required", "needs a sasl table")
    elif required is not None and sasl is not None:
        sasl = replace(sasl, required=required)
    identity = _identity(_table(r, "bot"), r.key("bot"), problems) if "bot" in raw else None
    channels_raw = r.get("channels", list, [])
    channels = tuple(
        c
        for i, raw_channel in enumerate(channels_raw)
        if (c := _channel(raw_channel, f"{where}.channels[{i}]", problems, output, followup))
        is not None
    )
    if not channels_raw:
        # A network the bot would join no channel on records nothing: a forgotten list.
        problems.append(f"{where}.channels: at least one channel is required")
    seen: set[str] = set()
    for c in channels:
        # Folded as the server will (RFC 1459 until it says otherwise): `#a[1]` is `#A{1}`.
        if irc_lower(c.name) in seen:
            problems.append(f"{where}.channels: {c.name} is listed twice")
        seen.add(irc_lower(c.name))
    r.unknown_keys()
    return NetworkConfig(name, host, port, tls, sasl, rate, burst, channels, identity, timing)


def _timing(r: _Reader) -> ConnectionTiming:
    """Reconnect backoff and watchdog delays; the defaults suit public networks."""
    default = ConnectionTiming()
    values: dict[str, float] = {}
    for key in ("reconnect_first_delay", "reconnect_max_delay", "ping_after", "dead_after"):
        value = r.get(key, float, getattr(default, key))
        if value > 0:
            values[key] = value
        else:
            r.problem(key, f"must be more than 0 seconds, got {value}")
    if len(values) < 4:
        return default
    timing = ConnectionTiming(**values)
    if timing.reconnect_max_delay < timing.reconnect_first_delay:
        r.problem("reconnect_max_delay", "must not be less than reconnect_first_delay")
    if timing.dead_after <= timing.ping_after:
        r.problem("dead_after", "must be more than ping_after")
    return timing


def _tls(r: _Reader) -> TlsConfig:
    enabled = r.get("tls", bool, False)
    verify = r.get("tls_verify", bool, True)
    ca_file = r.text("tls_ca_file")
    fingerprint = r.text("tls_fingerprint")
    cert = r.text("tls_client_cert")
    key = r.text("tls_client_key")
    if fingerprint is not None:
        clean = fingerprint.replace(":", "").lower()
        if len(clean) != 64 or any(c not in "0123456789abcdef" for c in clean):
            r.problem("tls_fingerprint", "expected a SHA-256 fingerprint (64 hex digits)")
        fingerprint = clean
    for key_name, value in (("tls_ca_file", ca_file), ("tls_client_cert", cert)):
        if value and not Path(value).is_file():
            r.problem(key_name, f"no such file: {value!r}")
    return TlsConfig(
        enabled=enabled,
        verify=verify,
        ca_file=Path(ca_file) if ca_file else None,
        fingerprint=fingerprint,
        client_cert=Path(cert) if cert else None,
        client_key=Path(key) if key else None,
    )


def _sasl(r: _Reader) -> SaslConfig | None:
    raw = r.get("sasl", dict)
    if raw is None:
        return None
    s = _Reader(raw, r.key("sasl"), r.problems)
    mechanism = (s.text("mechanism", "PLAIN") or "PLAIN").upper()
    if mechanism not in ("PLAIN", "EXTERNAL"):
        s.problem("mechanism", f"expected PLAIN or EXTERNAL, got {mechanism!r}")
    username = s.text("username", "")
    password = s.secret("password")
    if mechanism == "PLAIN" and not (username and password):
        s.problem("password", "PLAIN needs a username and a password")
    s.unknown_keys()
    return SaslConfig(mechanism, username or "", password or "")


def _channel(
    raw: Any,
    where: str,
    problems: list[str],
    output: OutputSettings,
    followup: FollowupSettings,
) -> ChannelConfig | None:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not _is_table(raw, where, problems):
        return None
    r = _Reader(raw, where, problems)
    name = r.text("name", required=True) or ""
    if name and (name[0] not in _CHANNEL_PREFIXES or any(c in name for c in " ,\x07")):
        r.problem("name", f"not a channel name: {name!r}")
    key = r.secret("key")
    tz_name = r.text("timezone", "UTC") or "UTC"
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem("timezone", f"unknown time zone {tz_name!r}")
        tz = ZoneInfo("UTC")
    length = r.get("meeting_length_minutes", int, 60)
    if length < 1:
        r.problem("meeting_length_minutes", f"must be at least 1, got {length}")
    out = None
    if "output" in raw:
        out = _output(_table(r, "output"), r.key("output"), problems, output)
    private = r.get("private", bool, False)
    settings = ChannelSettings(
        timezone=tz,
        meeting_length_minutes=length,
        set_channel_topic=r.get("set_channel_topic", bool, True),
        ops_are_chairs=r.get("ops_are_chairs", bool, True),
        info_url=r.text("info_url", output.info_url) or output.info_url,
        meeting_names=(out or output).meeting_names,
        followup=r.get("followup", bool, True),
        successes_url=followup.successes_url or url_for(output.url_prefix, "successes.html"),
        thanks_url=followup.thanks_url or url_for(output.url_prefix, "thanks.html"),
        previous_at_start=r.get("previous_at_start", bool, False),
        private=private,
    )
    announce_to = _addresses(r, "announce_to")
    if private and (out or output).private_dir is None:
        r.problem("private", "needs output.private_dir to be set")
    r.unknown_keys()
    return ChannelConfig(name, key, settings, out, private, announce_to)


_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _addresses(r: _Reader, name: str) -> tuple[str, ...]:
    """A list of email addresses (`to`, `announce_to`, a series' list), each checked."""
    addresses = r.strings(name)
    for address in addresses:
        if not _EMAIL.fullmatch(address):
            r.problem(name, f"not an email address: {address!r}")
    return addresses


def _http_url(r: _Reader, name: str) -> str | None:
    url = r.text(name)
    if url is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        r.problem(name, f"expected an http:// or https:// URL, got {url!r}")
        return None
    return url  # type: ignore[no-any-return]


def _followup(r: _Reader, web: WebSettings) -> FollowupSettings:
    # Unset, the replies point to the web archive's pages when it has a public address (else,
    # in `_channel`, to the static pages under output.url_prefix).
    successes = _http_url(r, "successes_url")
    thanks = _http_url(r, "thanks_url")
    if web.base_url:
        successes = successes or f"{web.base_url}/successes"
        thanks = thanks or f"{web.base_url}/thanks"
    followup = FollowupSettings(successes, thanks)
    r.unknown_keys()
    return followup


def _announce(r: _Reader, aliases: SeriesAliases) -> AnnounceSettings:
    default = AnnounceSettings()
    timing: dict[str, float] = {}
    for key in ("timeout", "retry_first_delay", "retry_max_delay", "retry_for_hours"):
        value = r.get(key, float, getattr(default, key))
        if value > 0:
            timing[key] = value
        else:
            r.problem(key, f"must be more than 0, got {value}")
    if timing.get("retry_for_hours", 24.0) < 24:
        r.problem("retry_for_hours", "must be at least 24: a receiver may be down for a day")
    if timing.get("retry_max_delay", 1.0) < timing.get("retry_first_delay", 0.0):
        r.problem("retry_max_delay", "must not be less than retry_first_delay")
    email = _email(_table(r, "email"), aliases) if "email" in r.table else None
    hooks_raw = r.get("webhooks", list, [])
    hooks = tuple(
        hook
        for i, raw in enumerate(hooks_raw)
        if _is_table(raw, r.key(f"webhooks[{i}]"), r.problems)
        and (hook := _webhook(_Reader(raw, r.key(f"webhooks[{i}]"), r.problems))) is not None
    )
    urls = [h.url for h in hooks]
    for url in {u for u in urls if urls.count(u) > 1}:
        r.problem("webhooks", f"the URL {url!r} is listed twice")
    r.unknown_keys()
    return AnnounceSettings(email, hooks, **timing)


def _email(r: _Reader, aliases: SeriesAliases) -> EmailSettings | None:
    host = r.text("host", required=True) or ""
    security = r.text("security", "starttls")
    if security not in ("starttls", "tls", "none"):
        r.problem("security", f"expected starttls, tls or none, got {security!r}")
    elif security == "none" and host not in _LOOPBACK:
        r.problem("security", "none is only for a server on this machine (127.0.0.1)")
    port = r.get("port", int, 465 if security == "tls" else 587)
    if not 0 < port < 65536:
        r.problem("port", f"expected 1-65535, got {port}")
    username = r.text("username")
    password = r.secret_outside("password")
    if username and not password:
        r.problem("password", "a username needs password_env or password_file")
    sender = r.text("from", required=True) or ""
    if sender and not _EMAIL.search(sender):
        r.problem("from", f"no email address in {sender!r}")
    to = _addresses(r, "to")
    subject = r.text("subject", DEFAULT_SUBJECT) or DEFAULT_SUBJECT
    try:
        subject.format(meetingname="x", date="x", channel="x", network="x")
    except (KeyError, IndexError, ValueError) as exc:
        r.problem("subject", f"unknown field {exc} (use {{meetingname}}, {{date}}, {{channel}})")
    series = _series_addresses(_table(r, "series"), aliases)
    r.unknown_keys()
    return EmailSettings(host, sender, port, security, username, password, to, subject, series)


def _series_addresses(r: _Reader, aliases: SeriesAliases) -> dict[str, tuple[str, ...]]:
    """`[announce.email.series]`: a series' name to its addresses. Names are folded to the
    lower case series names take; an alias is refused, as its meetings belong to the series
    it names (and would never be found under it)."""
    series: dict[str, tuple[str, ...]] = {}
    for name in r.table:
        addresses = _addresses(r, name)
        folded = name.lower()
        if not valid_series_name(folded):
            r.problem(name, "not a meeting name (a-z, 0-9, _ . -)")
        elif aliases.canonical(folded) != folded:
            owner = aliases.canonical(folded)
            r.problem(name, f"is an alias of {owner!r} ([archive] aliases): give {owner!r} instead")
        elif folded in series:
            r.problem(name, f"the series {folded!r} is listed twice")
        else:
            series[folded] = addresses
    return series


def _webhook(r: _Reader) -> WebhookSettings | None:
    url = _http_url(r, "url")
    if "url" not in r.table:
        r.problem("url", "is required")
    secret = r.secret_outside("secret")
    if not secret:
        r.problem("secret", "is required (secret_env or secret_file)")
    events = r.strings("events", ANNOUNCE_EVENTS)
    for event in events:
        if event not in ANNOUNCE_EVENTS:
            r.problem("events", f"unknown event {event!r} (known: {', '.join(ANNOUNCE_EVENTS)})")
    channels = r.get("channels", list, None)
    if channels is not None:
        channels = r.strings("channels")
        for name in channels:
            if name[0] not in _CHANNEL_PREFIXES:
                r.problem("channels", f"not a channel name: {name!r}")
    r.unknown_keys()
    if not url or not secret:
        return None
    return WebhookSettings(url, secret, events, channels)

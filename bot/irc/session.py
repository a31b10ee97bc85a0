"""The protocol side of one connection, as a pure state machine.

It decides what to send in answer to what the server says: CAP LS 302 negotiation, SASL
PLAIN / EXTERNAL, falling back to alternative nicks (and regaining the main one later),
PONG, joining the configured channels after registration, rejoining after a kick, and
slow retries when a channel refuses us (banned, wrong key, invite only, full). After a
reconnect it asks the server (IRCv3 chathistory) for what was said while it was away;
on joining, where the server offers WHOX, it asks who in the channel is logged in as whom.

Pure: it takes events and `now` (monotonic seconds), and returns lines to send and notes
to log (`Step`); timers are "due" times checked by `tick`. It never logs itself, and its
notes never carry channel keys or passwords.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.irc import choke
from bot.irc.isupport import WHOX_TOKEN, ServerFeatures
from bot.irc.wire import format_time, server_time
from bot.settings import ChannelConfig, Identity, SaslConfig

WANTED_CAPS = (
    "server-time",
    "message-tags",
    "echo-message",
    "account-tag",
    "extended-join",
    "account-notify",
    "batch",
    "multi-prefix",
)
HISTORY_CAPS = ("chathistory", "draft/chathistory")  # the first one offered is requested
SASL_CHUNK = 400
NICK_ERRORS = frozenset({"nicknameinuse", "erroneusnickname", "unavailresource", "nickcollision"})
JOIN_REFUSALS = {
    "channelisfull": "channel is full (+l)",
    "inviteonlychan": "channel is invite only (+i)",
    "bannedfromchan": "banned from channel (+b)",
    "badchannelkey": "wrong channel key (+k)",
    "nochanmodes": "channel refused the join (477, e.g. needs a registered nick)",
    "toomanychannels": "joined too many channels",
}
# Channel messages and notices: no session handler takes them (nothing to answer, no
# state to change), so the client does not hand them to the session at all.
NOT_FOR_THE_SESSION = frozenset({"pubmsg", "pubnotice"})
SASL_FAILURES = {
    "nicklocked": "account locked or suspended (902)",
    "saslfail": "authentication failed (904)",
    "sasltoolong": "authentication message too long (905)",
    "saslaborted": "authentication aborted (906)",
}
DEFAULT_HISTORY_LIMIT = 100
# Bytes of channel names and keys in one JOIN line: far under the 510 a line may have.
JOIN_LINE_BUDGET = 400


@dataclass(frozen=True, slots=True)
class Timings:
    """Delays (seconds) of the session's timers; tests make them short."""

    kick_rejoin: float = 10.0
    join_retry: float = 300.0  # after a refusal, or a JOIN nobody answered
    regain_nick: float = 60.0


@dataclass(frozen=True, slots=True)
class Note:
    """Something worth logging: a level, an event name and safe context fields."""

    level: str
    event: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Step:
    """What a session wants done: lines to send (in order) and notes to log."""

    lines: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def send(self, command: str, *params: str, trailing: str | None = None) -> None:
        self.lines.append(choke.command_line(command, *params, trailing=trailing))

    def note(self, level: str, event: str, **fields: str) -> None:
        self.notes.append(Note(level, event, fields))


@dataclass(slots=True)
class ChannelState:
    config: ChannelConfig
    joined: bool = False
    due: float | None = None  # when to (re)send JOIN
    history_asked: bool = False


def nick_candidate(identity: Identity, attempt: int) -> str:
    """The nick to try after `attempt` refusals: the main nick, the alternatives, then
    the main nick with `_` appended (up to three), then the main nick with a number."""
    names = [identity.nick, *identity.alt_nicks]
    if attempt < len(names):
        return names[attempt]
    extra = attempt - len(names) + 1
    if extra <= 3:
        return identity.nick + "_" * extra
    return f"{identity.nick[:7]}{extra}"


class Session:
    """Registration, capabilities, SASL, nick and channel upkeep for one connection."""

    def __init__(
        self,
        identity: Identity,
        channels: tuple[ChannelConfig, ...] = (),
        sasl: SaslConfig | None = None,
        timings: Timings | None = None,
        resume_from: datetime | None = None,
        features: ServerFeatures | None = None,
    ) -> None:
        self.identity = identity
        self.sasl = sasl
        self.timings = timings or Timings()
        self.resume_from = resume_from
        # The connection's ISUPPORT, filled in by its `Translator` (see bot/irc/isupport.py).
        self.features = features or ServerFeatures()
        self.nick = identity.nick
        self.registered = False
        self.offered: dict[str, str] = {}
        self.enabled: set[str] = set()
        self.account: str | None = None
        # Why this connection must end (a required SASL that failed); the client drops
        # it and the supervisor reconnects with its backoff.
        self.abandon: str | None = None
        self._attempt = 0
        self._cap_phase = "ls"  # ls -> req -> sasl -> done
        self._ls_done = False
        self._pending: set[str] = set()
        self._regain_due: float | None = None
        self.channels = {self._fold(c.name): ChannelState(c) for c in channels}

    # -- queries --------------------------------------------------------------------

    @property
    def echo(self) -> bool:
        return "echo-message" in self.enabled

    @property
    def casemapping(self) -> str:
        return self.features.casemapping

    def same(self, a: str, b: str) -> bool:
        return self.features.same(a, b)

    def _fold(self, name: str) -> str:
        return self.features.fold(name)

    def next_due(self) -> float | None:
        """The earliest timer, or None."""
        dues = [s.due for s in self.channels.values() if s.due is not None and not s.joined]
        if self._regain_due is not None:
            dues.append(self._regain_due)
        return min(dues, default=None)

    # -- inputs ---------------------------------------------------------------------

    def start(self) -> Step:
        """The first lines of a connection."""
        step = Step()
        step.send("CAP", "LS", "302")
        step.send("NICK", self.nick)
        step.send("USER", self.identity.username, "0", "*", trailing=self.identity.realname)
        return step

    def on_event(self, event: Any, now: float) -> Step:
        step = Step()
        handler = _HANDLERS.get(str(event.type))
        if handler is not None:
            handler(self, event, now, step)
        elif str(event.type) in JOIN_REFUSALS:
            self._join_refused(event, now, step)
        elif str(event.type) in SASL_FAILURES:
            self._sasl_failed(event, step)
        return step

    def tick(self, now: float) -> Step:
        """Send what timers say is due at `now`."""
        step = Step()
        if not self.registered:
            return step
        due = [
            state
            for state in self.channels.values()
            if not state.joined and state.due is not None and state.due <= now
        ]
        self._send_joins(due, now, step)
        if self._regain_due is not None and self._regain_due <= now:
            self._try_regain(now, step)
        return step

    # -- registration ---------------------------------------------------------------

    def _ping(self, event: Any, _now: float, step: Step) -> None:
        step.send("PONG", trailing=str(event.target or ""))

    def _cap(self, event: Any, now: float, step: Step) -> None:
        args = [str(a) for a in event.arguments]
        if not args:
            return
        sub, rest = args[0].upper(), args[1:]
        caps = rest[-1].split() if rest else []
        if sub == "LS":
            self._cap_ls(caps, more=len(rest) > 1 and rest[0] == "*", step=step)
        elif sub == "ACK":
            self._cap_ack(caps, step)
        elif sub == "NAK":
            self._pending.difference_update(caps)
            step.note("warning", "irc.cap_refused", caps=" ".join(caps))
            self._after_req(step)
        elif sub == "NEW" and self.registered:
            self.offered.update(_split_caps(caps))
            self._request(self._wanted(_split_caps(caps)), step)
        elif sub == "DEL":
            for cap in caps:
                self.enabled.discard(cap)
                self.offered.pop(cap, None)

    def _cap_ls(self, caps: list[str], more: bool, step: Step) -> None:
        self.offered.update(_split_caps(caps))
        if more or self._ls_done:
            return
        self._ls_done = True
        wanted = self._wanted(self.offered)
        if self.sasl is not None:
            wanted += self._sasl_wanted(step)
        self._cap_phase = "req"
        if not self._request(wanted, step):
            self._end_cap(step)

    def _wanted(self, offered: dict[str, str]) -> list[str]:
        wanted = [cap for cap in WANTED_CAPS if cap in offered and cap not in self.enabled]
        history = [cap for cap in HISTORY_CAPS if cap in self.offered]
        history_on = any(cap in self.enabled for cap in HISTORY_CAPS)
        if history and not history_on and history[0] in offered:
            wanted.append(history[0])
        return wanted

    def _sasl_wanted(self, step: Step) -> list[str]:
        assert self.sasl is not None
        mechanism = self.sasl.mechanism.upper()
        if "sasl" not in self.offered:
            step.note("error", "irc.sasl_unavailable", mechanism=mechanism)
            self._sasl_required_failed("server offers no SASL", step)
            return []
        mechanisms = self.offered["sasl"]
        if mechanisms and mechanism not in mechanisms.upper().split(","):
            step.note("error", "irc.sasl_mechanism_unavailable", mechanism=mechanism)
            self._sasl_required_failed(f"server does not offer SASL {mechanism}", step)
            return []
        return ["sasl"]

    def _sasl_required_failed(self, reason: str, step: Step) -> None:
        """With `sasl_required`, a failed SASL ends the connection: better to come back
        later (when services are back, or the password is fixed) than to sit in the
        channels unidentified."""
        if self.sasl is None or not self.sasl.required or self.abandon is not None:
            return
        self.abandon = f"SASL failed: {reason}"
        step.note("error", "irc.sasl_required_reconnecting", reason=reason)

    def _request(self, caps: list[str], step: Step) -> bool:
        if not caps:
            return False
        self._pending.update(caps)
        step.send("CAP", "REQ", trailing=" ".join(caps))
        return True

    def _cap_ack(self, caps: list[str], step: Step) -> None:
        for cap in caps:
            if cap.startswith("-"):
                self.enabled.discard(cap[1:])
            else:
                self.enabled.add(cap)
            self._pending.discard(cap.lstrip("-"))
        step.note("info", "irc.caps_enabled", caps=" ".join(sorted(self.enabled)))
        self._after_req(step)

    def _after_req(self, step: Step) -> None:
        if self._pending or self._cap_phase != "req":
            return
        if self.sasl is not None and "sasl" in self.enabled:
            self._cap_phase = "sasl"
            step.send("AUTHENTICATE", self.sasl.mechanism.upper())
        else:
            self._end_cap(step)

    def _end_cap(self, step: Step) -> None:
        if self._cap_phase != "done":
            self._cap_phase = "done"
            if not self.registered:
                step.send("CAP", "END")

    def _authenticate(self, event: Any, _now: float, step: Step) -> None:
        if self._cap_phase != "sasl" or self.sasl is None or event.target != "+":
            return
        for chunk in sasl_chunks(sasl_payload(self.sasl)):
            step.send("AUTHENTICATE", chunk)

    def _sasl_done(self, _event: Any, _now: float, step: Step) -> None:
        step.note("info", "irc.sasl_succeeded")
        self._end_cap(step)

    def _sasl_failed(self, event: Any, step: Step) -> None:
        mechanism = self.sasl.mechanism.upper() if self.sasl else ""
        reason = SASL_FAILURES[str(event.type)]
        step.note("error", "irc.sasl_failed", reason=reason, mechanism=mechanism)
        if self.sasl is not None and self.sasl.required:
            self._sasl_required_failed(reason, step)
            return
        self._end_cap(step)

    def _loggedin(self, event: Any, _now: float, step: Step) -> None:
        if len(event.arguments) >= 2:
            self._own_account(str(event.arguments[1]), "logged in (900)", step)

    def _loggedout(self, _event: Any, _now: float, step: Step) -> None:
        self._own_account(None, "logged out (901)", step)

    def _account_notify(self, event: Any, _now: float, step: Step) -> None:
        if self.same(_source_nick(event), self.nick):
            account = str(event.target or "*")
            self._own_account(None if account == "*" else account, "account-notify", step)

    def _own_account(self, account: str | None, how: str, step: Step) -> None:
        """Follow the bot's own account: services restarting may log it out, and nobody
        else would notice that its commands no longer come from a known account."""
        before, self.account = self.account, account
        if account == before:
            return
        if account is None:
            step.note("warning", "irc.account_lost", account=before or "", how=how)
        elif self.registered and before is None:
            step.note("info", "irc.account_back", account=account, how=how)
        else:
            step.note("info", "irc.logged_in", account=account)

    def _error(self, event: Any, _now: float, step: Step) -> None:
        step.note("warning", "irc.server_error", message=str(event.target or ""))

    def _unknown_command(self, event: Any, _now: float, step: Step) -> None:
        if event.arguments and str(event.arguments[0]).upper() == "CAP":
            self._cap_phase = "done"  # a server without CAP registers us anyway

    def _nick_refused(self, event: Any, now: float, step: Step) -> None:
        if self.registered:
            return  # a regain attempt failed; the timer tries again
        self._attempt += 1
        self.nick = nick_candidate(self.identity, self._attempt)
        step.note("warning", "irc.nick_refused", trying=self.nick, refused=_arg(event, 0))
        step.send("NICK", self.nick)

    def _welcome(self, event: Any, now: float, step: Step) -> None:
        self.registered = True
        self._cap_phase = "done"
        if event.target:
            self.nick = str(event.target)
        step.note("info", "irc.registered", nick=self.nick)
        self._send_joins(list(self.channels.values()), now, step)
        if not self.same(self.nick, self.identity.nick):
            self._regain_due = now + self.timings.regain_nick

    def _featurelist(self, _event: Any, _now: float, _step: Step) -> None:
        # The case mapping may just have changed: channel keys follow it.
        self.channels = {self._fold(s.config.name): s for s in self.channels.values()}

    # -- nick -----------------------------------------------------------------------

    def _nick_change(self, event: Any, now: float, step: Step) -> None:
        old, new = _source_nick(event), str(event.target or "")
        if self.same(old, self.nick):
            self.nick = new
            if self.same(new, self.identity.nick):
                self._regain_due = None
                step.note("info", "irc.nick_regained", nick=new)
        elif self._main_nick_freed(old, now):
            self._try_regain(now, step)

    def _quit(self, event: Any, now: float, step: Step) -> None:
        if self._main_nick_freed(_source_nick(event), now):
            self._try_regain(now, step)

    def _main_nick_freed(self, nick: str, _now: float) -> bool:
        return self._regain_due is not None and self.same(nick, self.identity.nick)

    def _try_regain(self, now: float, step: Step) -> None:
        self._regain_due = now + self.timings.regain_nick
        step.send("NICK", self.identity.nick)

    # -- channels -------------------------------------------------------------------

    def _state(self, channel: Any) -> ChannelState | None:
        return self.channels.get(self._fold(str(channel or "")))

    def _send_joins(self, states: list[ChannelState], now: float, step: Step) -> None:
        """JOIN `states` in as few lines as fit (`JOIN #a,#b,#c key-a`): one line per
        channel would take minutes at the default pace for hundreds of channels, and
        would overflow the outbox. Channels with a key come first, so keys pair up with
        their channels by position; a name or key with a comma gets a line of its own."""
        lines: list[list[ChannelState]] = []
        size = JOIN_LINE_BUDGET  # start a new line at once
        ordered = sorted(states, key=lambda s: s.config.key is None)  # stable: keys first
        for state in ordered:
            name, key = state.config.name, state.config.key or ""
            cost = len(name.encode()) + len(key.encode()) + 2
            if "," in name + key or size + cost > JOIN_LINE_BUDGET:
                lines.append([])
                size = JOIN_LINE_BUDGET if "," in name + key else 0
            lines[-1].append(state)
            size += cost
        for group in lines:
            if len(group) == 1:
                self._send_join(group[0], now, step)
            else:
                self._send_join_line(group, now, step)

    def _send_join_line(self, group: list[ChannelState], now: float, step: Step) -> None:
        valid = []
        for state in group:
            try:
                choke.middle_param(state.config.name)
            except ValueError:
                state.due = None  # never valid; config validation should have caught it
                step.note("error", "irc.bad_channel_name", channel=choke.clean(state.config.name))
                continue
            valid.append(state)
        if not valid:
            return
        names = ",".join(s.config.name for s in valid)
        keys = ",".join(s.config.key for s in valid if s.config.key)
        step.send("JOIN", names, keys) if keys else step.send("JOIN", names)
        for state in valid:
            state.due = now + self.timings.join_retry
            step.note("info", "irc.joining", channel=state.config.name)

    def _send_join(self, state: ChannelState, now: float, step: Step) -> None:
        name, key = state.config.name, state.config.key
        try:
            step.send("JOIN", name, key) if key else step.send("JOIN", name)
        except ValueError:
            state.due = None  # never valid; config validation should have caught it
            step.note("error", "irc.bad_channel_name", channel=choke.clean(name))
            return
        state.due = now + self.timings.join_retry
        step.note("info", "irc.joining", channel=name)

    def _join(self, event: Any, now: float, step: Step) -> None:
        if not self.same(_source_nick(event), self.nick):
            return
        state = self._state(event.target)
        if state is None:
            return
        state.joined, state.due = True, None
        if self.features.whox:
            # NAMES tells no accounts: ask who is logged in as whom, so chairs who were
            # here before the bot and never speak are bound to their accounts too.
            step.send("WHO", state.config.name, f"%tna,{WHOX_TOKEN}")
        self._ask_history(state, event, step)

    def _ask_history(self, state: ChannelState, event: Any, step: Step) -> None:
        """After a reconnect, ask for the lines said between the last one heard and our
        JOIN (both in server time), so nothing said meanwhile is lost."""
        if state.history_asked or self.resume_from is None:
            return
        if not any(cap in self.enabled for cap in HISTORY_CAPS):
            return
        joined_at = server_time(event.tags)
        if joined_at is None or "batch" not in self.enabled:
            return
        state.history_asked = True
        step.send(
            "CHATHISTORY",
            "BETWEEN",
            state.config.name,
            "timestamp=" + format_time(self.resume_from),
            "timestamp=" + format_time(joined_at),
            str(min(self.features.history_limit or DEFAULT_HISTORY_LIMIT, DEFAULT_HISTORY_LIMIT)),
        )

    def _left(self, state: ChannelState | None, now: float) -> None:
        if state is not None:
            state.joined = False
            state.due = now + self.timings.kick_rejoin

    def _part(self, event: Any, now: float, step: Step) -> None:
        if self.same(_source_nick(event), self.nick):
            self._left(self._state(event.target), now)

    def _kick(self, event: Any, now: float, step: Step) -> None:
        if not self.same(_arg(event, 0), self.nick):
            return
        state = self._state(event.target)
        self._left(state, now)
        step.note(
            "warning",
            "irc.kicked",
            channel=str(event.target),
            by=_source_nick(event),
            reason=_arg(event, 1),
            rejoin_in=f"{self.timings.kick_rejoin:g}s",
        )

    def _invite(self, event: Any, now: float, step: Step) -> None:
        state = self._state(_arg(event, 0))
        if state is not None and not state.joined:
            self._send_join(state, now, step)

    def _join_refused(self, event: Any, now: float, step: Step) -> None:
        state = self._state(_arg(event, 0))
        if state is None:
            return
        state.joined = False
        state.due = now + self.timings.join_retry
        step.note(
            "error",
            "irc.join_refused",
            channel=state.config.name,
            reason=JOIN_REFUSALS[str(event.type)],
            retry_in=f"{self.timings.join_retry:g}s",
        )


_HANDLERS = {
    "ping": Session._ping,
    "cap": Session._cap,
    "authenticate": Session._authenticate,
    "saslsuccess": Session._sasl_done,
    "saslalready": Session._sasl_done,
    "loggedin": Session._loggedin,
    "loggedout": Session._loggedout,
    "account": Session._account_notify,
    "unknowncommand": Session._unknown_command,
    "error": Session._error,
    "welcome": Session._welcome,
    "featurelist": Session._featurelist,
    "nick": Session._nick_change,
    "quit": Session._quit,
    "join": Session._join,
    "part": Session._part,
    "kick": Session._kick,
    "invite": Session._invite,
    **dict.fromkeys(NICK_ERRORS, Session._nick_refused),
}


def _split_caps(caps: list[str]) -> dict[str, str]:
    """`sasl=PLAIN,EXTERNAL server-time` as {"sasl": "PLAIN,EXTERNAL", "server-time": ""}."""
    out = {}
    for cap in caps:
        name, _, value = cap.partition("=")
        out[name] = value
    return out


def sasl_payload(sasl: SaslConfig) -> bytes:
    """The SASL response: PLAIN is `authzid NUL authcid NUL password`; EXTERNAL is empty
    (the TLS client certificate is the credential)."""
    if sasl.mechanism.upper() == "PLAIN":
        user = sasl.username.encode()
        return user + b"\0" + user + b"\0" + sasl.password.encode()
    return b""


def sasl_chunks(payload: bytes) -> list[str]:
    """AUTHENTICATE arguments: base64 in 400-byte chunks, `+` after a full last chunk
    (or for an empty payload)."""
    encoded = base64.b64encode(payload).decode("ascii")
    chunks = [encoded[i : i + SASL_CHUNK] for i in range(0, len(encoded), SASL_CHUNK)]
    if not chunks or len(chunks[-1]) == SASL_CHUNK:
        chunks.append("+")
    return chunks


def _source_nick(event: Any) -> str:
    return str(event.source or "").partition("!")[0]


def _arg(event: Any, index: int) -> str:
    return str(event.arguments[index]) if len(event.arguments) > index else ""

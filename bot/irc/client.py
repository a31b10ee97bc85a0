"""`NetworkClient`: the bot on one IRC network, one connection at a time.

It wires the pieces together: an `IrcConnection` (socket, framing), a `Session`
(what to answer), a `Translator` (what the core hears) and an `Outbox` with its pump
(what may be sent when). Handlers only translate and queue: the core events go on the
`asyncio.Queue` the engine gave us, the session's lines go to the outbox, and any
exception in either is logged and the connection goes on.

It does not reconnect or watch for silence; `Supervisor` does that. It never logs a
channel key or a SASL password, and never formats log messages (structlog, bound
`network`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from bot.core import casemap
from bot.core.effects import Say, SetTopic
from bot.core.events import DEFAULT_SETTINGS, ChannelSettings, Disconnected, Event
from bot.flow import BATCH_EVENTS
from bot.irc import choke
from bot.irc.connection import IrcConnection, IrcReactor, check_fingerprint, tls_context
from bot.irc.isupport import ServerFeatures
from bot.irc.outbox import Outbox, OutboxPump, is_priority
from bot.irc.session import NOT_FOR_THE_SESSION, Session, Step, Timings
from bot.irc.translate import Context, Translator
from bot.irc.wire import server_time
from bot.settings import Identity, NetworkConfig

_DROPPED_TARGET = "control"
# Flow control: when this many events wait for the engine, stop reading the socket (the
# server holds what follows) until the engine is down to `_RESUME_AT`. Memory stays
# bounded however fast people talk, and nothing is lost: TCP keeps the order. The engine
# takes as many in one batch (bot/flow.py).
_PAUSE_AT = BATCH_EVENTS
_RESUME_AT = 256
_RESUME_POLL = 0.002  # seconds between looks at the queue while paused
_SETTINGS_SEEN = 4096  # channel spellings whose settings are remembered


def redact(line: str) -> str:
    """A line safe to log: JOIN keys, SASL payloads and passwords hidden."""
    command, _, rest = line.partition(" ")
    upper = command.upper()
    if upper == "JOIN":
        return f"JOIN {rest.split(' ', 1)[0]}" + (" <key>" if " " in rest else "")
    if upper == "AUTHENTICATE" and rest.upper() not in ("PLAIN", "EXTERNAL", "*", "+"):
        return "AUTHENTICATE <hidden>"
    if upper in ("PASS", "OPER"):
        return f"{command} <hidden>"
    return line


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Tunables of a `NetworkClient` (defaults for production; tests shorten them)."""

    timings: Timings = field(default_factory=Timings)
    connect_timeout: float = 30.0
    max_queued: int = 200


class NetworkClient:
    """Connect to one network, put core events on `events`, send Say/SetTopic."""

    def __init__(
        self,
        config: NetworkConfig,
        identity: Identity,
        events: asyncio.Queue[Event],
        *,
        ids: Callable[[], int],
        settings: Callable[[str], ChannelSettings] | None = None,
        options: ClientOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.identity = config.identity or identity
        self.events = events
        self.options = options or ClientOptions()
        self._ids = ids
        self._settings = settings or self._configured_settings
        self._settings_by_name: dict[str, dict[str, ChannelSettings]] = {}  # per casemapping
        self._settings_seen: dict[str, ChannelSettings] = {}  # channel as spelt -> settings
        self._clock = clock
        self._wall_clock = wall_clock
        self.log = structlog.get_logger(__name__).bind(network=config.name)
        self._reactor: IrcReactor | None = None
        self._conn: IrcConnection | None = None
        self.session: Session | None = None
        self._translator = Translator()
        self._outbox = Outbox(config.rate, config.burst, self.options.max_queued)
        self._pump: OutboxPump | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed: asyncio.Future[str] | None = None
        self._timers_changed = asyncio.Event()
        self.last_heard = clock()
        self.last_stamp: datetime | None = None  # time of the last line heard
        self.last_server_time: datetime | None = None  # the last IRCv3 `time` tag seen
        self.connected_at = clock()
        self._close_reason = ""  # why the connection is ending, when we know
        self._ever_registered = False
        self._reading_paused = False
        # When the chunk being handled was read (every line of one read arrived together),
        # taken from the wall clock at the first line that needs it; and the translation
        # context, made again only when something in it changes.
        self._received: datetime | None = None
        self._context: Context | None = None

    # -- state ----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._closed is not None and not self._closed.done()

    @property
    def registered(self) -> bool:
        return self.connected and self.session is not None and self.session.registered

    @property
    def nick(self) -> str:
        return self.session.nick if self.session else self.identity.nick

    def _configured_settings(self, channel: str) -> ChannelSettings:
        """The channel's settings: one dict lookup per line, however many channels."""
        mapping = self.session.casemapping if self.session else casemap.RFC1459
        table = self._settings_by_name.get(mapping)
        if table is None:
            # Reversed, so the first entry for a name wins, as a scan in order would.
            table = {
                casemap.irc_lower(configured.name, mapping): configured.settings
                for configured in reversed(self.config.channels)
            }
            self._settings_by_name[mapping] = table
            self._settings_seen.clear()
        # The names as they arrive (few, repeated on every line) are remembered, so the
        # folding runs once per spelling; a bounded number, against junk names.
        settings = self._settings_seen.get(channel)
        if settings is None:
            settings = table.get(casemap.irc_lower(channel, mapping), DEFAULT_SETTINGS)
            if len(self._settings_seen) < _SETTINGS_SEEN:
                self._settings_seen[channel] = settings
        return settings

    # -- connecting -----------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection and start registering. Raises OSError (TLS and pin
        errors included) or TimeoutError when the server cannot be reached."""
        if self.connected:
            raise RuntimeError("already connected")
        loop = asyncio.get_running_loop()
        if self._reactor is None:
            self._reactor = IrcReactor(loop)
            self._reactor.add_handler(self._on_library_event)
        conn = self._reactor.new_connection()
        self._prepare(conn)  # before opening: lines may arrive before `open` returns
        context = tls_context(self.config.tls)
        host, port = self.config.host, self.config.port
        self.log.info("irc.connecting", host=host, port=port, tls=context is not None)
        try:
            await asyncio.wait_for(
                conn.open(host, port, self.identity.nick, context), self.options.connect_timeout
            )
            if context is not None and self.config.tls.fingerprint and conn.transport:
                check_fingerprint(conn.transport, self.config.tls.fingerprint)
        except BaseException:
            self._conn = None
            conn.abort()
            self._reactor.forget(conn)
            raise
        self._start(conn, loop)

    def _prepare(self, conn: IrcConnection) -> None:
        # History is asked for in the server's clock when we have it.
        resume_from = (self.last_server_time or self.last_stamp) if self._ever_registered else None
        features = ServerFeatures()  # one per connection, shared by both
        self.session = Session(
            self.identity,
            self.config.channels,
            self.config.sasl,
            self.options.timings,
            resume_from=resume_from,
            features=features,
        )
        self._translator = Translator(features)
        self._outbox = Outbox(
            self.config.rate, self.config.burst, self.options.max_queued, fold=features.fold
        )
        self._pump = None
        self._closed = None
        self._close_reason = ""
        self._reading_paused = False
        self._conn = conn
        conn.sink = self._queue_line
        conn.on_data = self._heard
        conn.receiver = self._on_library_event
        self.last_heard = self.connected_at = self._clock()

    def _start(self, conn: IrcConnection, loop: asyncio.AbstractEventLoop) -> None:
        assert self.session is not None
        self._closed = loop.create_future()
        self._pump = OutboxPump(self._outbox, self._write, self._clock)
        self._tasks = [
            asyncio.create_task(self._pump.run(), name=f"irc-outbox-{self.config.name}"),
            asyncio.create_task(self._run_timers(), name=f"irc-timers-{self.config.name}"),
        ]
        self._apply(self.session.start())
        self.log.info("irc.connected")
        if not conn.connected:  # lost before we got here: its disconnect event was early
            self._on_closed("connection lost")

    def _heard(self) -> None:
        self.last_heard = self._clock()
        self._received = None  # a new chunk: its lines' receive time is read anew

    # -- incoming -------------------------------------------------------------------

    def _on_library_event(self, conn: Any, event: Any) -> None:
        """The only library handler. Must never raise: the library would pass the
        exception into asyncio, which closes the connection."""
        if conn is not self._conn:
            return
        try:
            if event.type == "disconnect":
                self._on_closed(str(event.arguments[0]) if event.arguments else "")
            else:
                self._on_event(event)
        except Exception:
            self.log.exception("irc.handler_failed", type=str(event.type))

    def _on_event(self, event: Any) -> None:
        session = self.session
        assert session is not None
        received = self._received
        if received is None:
            received = self._received = self._wall_clock()
        stamp = server_time(event.tags) if event.tags else None
        if stamp is not None:
            self.last_server_time = stamp
        self.last_stamp = stamp or received
        kind = event.type
        if kind == "error" and not self._close_reason:
            self._close_reason = f"server error: {event.target or ''}"
        context = self._context
        if (
            context is None
            or context.received is not received
            or context.bot_nick != session.nick
            or context.echo != session.echo
        ):
            context = self._context = Context(
                network=self.config.name,
                bot_nick=session.nick,
                received=received,
                next_id=self._ids,
                settings=self._settings,
                echo=session.echo,
            )
        try:
            for core_event in self._translator.translate(event, context, stamp):
                self.events.put_nowait(core_event)
        except Exception:
            self.log.exception("irc.translate_failed", type=str(kind))
        if self.events.qsize() >= _PAUSE_AT and not self._reading_paused:
            self._pause_reading()
        if kind not in NOT_FOR_THE_SESSION:
            self._apply(session.on_event(event, self._clock()))
        if session.registered:
            self._ever_registered = True

    def _pause_reading(self) -> None:
        """The engine is behind: read no more until it has caught up (see `_PAUSE_AT`)."""
        conn = self._conn
        if conn is None or conn.transport is None or conn.transport.is_closing():
            return
        conn.transport.pause_reading()
        self._reading_paused = True
        self._tasks = [task for task in self._tasks if not task.done()]
        self._tasks.append(asyncio.create_task(self._resume_reading(conn)))

    async def _resume_reading(self, conn: IrcConnection) -> None:
        try:
            while self.events.qsize() > _RESUME_AT:
                await asyncio.sleep(_RESUME_POLL)
        finally:
            self._reading_paused = False
            if conn.transport is not None and not conn.transport.is_closing():
                conn.transport.resume_reading()

    def _apply(self, step: Step) -> None:
        for note in step.notes:
            getattr(self.log, note.level)(note.event, **note.fields)
        for line in step.lines:
            self._queue_line(line)
        self._timers_changed.set()
        session = self.session
        if session is not None and session.abandon is not None and not self._close_reason:
            self.abort(session.abandon)  # the supervisor reconnects with its backoff

    async def _run_timers(self) -> None:
        while True:
            session = self.session
            due = session.next_due() if session else None
            timeout = 5.0 if due is None else min(max(due - self._clock(), 0.0), 5.0)
            self._timers_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timers_changed.wait(), timeout)
            if session is not None and session is self.session:
                try:
                    self._apply_tick(session)
                except Exception:
                    self.log.exception("irc.timer_failed")

    def _apply_tick(self, session: Session) -> None:
        step = session.tick(self._clock())
        if step.lines or step.notes:
            self._apply(step)

    def _on_closed(self, reason: str) -> None:
        if self._closed is None or self._closed.done():
            return
        reason = reason or self._close_reason or "connection closed"
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        dropped = len(self._outbox)
        self._outbox.clear()
        if self._reactor is not None and self._conn is not None:
            self._reactor.forget(self._conn)
        self.log.warning("irc.disconnected", reason=reason, unsent_lines=dropped)
        if self.session is not None and self.session.registered:
            self._put_disconnected(reason)
        self._closed.set_result(reason)

    def _put_disconnected(self, reason: str) -> None:
        stamp = self.last_stamp or self._wall_clock()
        self.events.put_nowait(
            Disconnected(network=self.config.name, time=stamp, id=self._ids(), reason=reason)
        )

    async def wait_closed(self) -> str:
        """Wait until the current connection is gone; returns the reason."""
        if self._closed is None:
            return ""
        return await asyncio.shield(self._closed)

    # -- outgoing -------------------------------------------------------------------

    def _queue_line(self, line: str, target: str = "") -> None:
        line = choke.sanitise_line(line)
        dropped = self._outbox.put(line, target=target, priority=is_priority(line))
        for item in dropped:
            self.log.warning(
                "irc.outbox_full_dropped",
                target=item.target or _DROPPED_TARGET,
                line=redact(item.line),
            )
        if self._pump is not None:
            self._pump.wake()

    def _write(self, line: str) -> None:
        if self._conn is not None:
            self.log.debug("irc.send", line=redact(line))
            self._conn.write_line(line)

    def _user(self) -> str:
        return "~" + self.identity.username

    def send_privmsg(self, target: str, text: str) -> int:
        """Queue `text` for `target` (split to fit); returns the number of lines queued,
        0 when not registered (the text is dropped and a warning logged)."""
        if not self.registered:
            self.log.warning("irc.not_connected_dropped", target=target)
            return 0
        try:
            lines = choke.privmsg_lines(self.nick, self._user(), target, text)
        except ValueError:
            self.log.warning("irc.bad_target", target=choke.clean(target))
            return 0
        for line in lines:
            self._queue_line(line, target)
        return len(lines)

    def set_topic(self, channel: str, text: str) -> None:
        """Queue a TOPIC change (its text cut to fit)."""
        if not self.registered:
            self.log.warning("irc.not_connected_dropped", target=channel)
            return
        try:
            line = choke.topic_line(self.nick, self._user(), channel, text)
        except ValueError:
            self.log.warning("irc.bad_target", target=choke.clean(channel))
            return
        self._queue_line(line, channel)

    def perform(self, effect: Say | SetTopic) -> None:
        """Carry out a `Say` or `SetTopic` meant for this network."""
        if isinstance(effect, Say):
            self.send_privmsg(effect.target, effect.text)
        else:
            self.set_topic(effect.channel, effect.text)

    def ping(self) -> None:
        """Ask the server for a sign of life (the watchdog's PING)."""
        if self.connected:
            self._queue_line(choke.command_line("PING", trailing="gavel-watchdog"))

    def abort(self, reason: str) -> None:
        """Drop the connection now (no QUIT)."""
        if self._conn is not None and self.connected:
            self.log.warning("irc.aborting", reason=reason)
            self._close_reason = reason
            self._conn.abort()

    async def quit(self, message: str = "", timeout: float = 3.0) -> None:
        """Flush what is queued (for at most half of `timeout`), send QUIT, wait for the
        server to close, and close ourselves if it does not. Bounded by `timeout`."""
        if not self.connected or self._pump is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(self._pump.drained(), timeout / 2)
        except TimeoutError:
            self.log.warning("irc.quit_unsent_lines", count=len(self._outbox))
            self._outbox.clear()
        self._queue_line(choke.command_line("QUIT", trailing=message))
        self._close_reason = "quit"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait_closed(), max(deadline - loop.time(), 0.01))
        if self._conn is not None:
            self._conn.abort()
            self._on_closed("quit")

"""The socket side of one IRC connection, on `irc.client_aio`, and its TLS set-up.

`IrcConnection` is the library's `AioConnection` with its traps removed: it registers
nothing by itself (our `Session` speaks CAP/SASL first), frames and parses lines with
`wire` (lenient decoding, 16 KiB line cap, no CTCP dequoting), survives any error in a
line or a handler, sends nothing except through the function it is given (so every line
passes the choke point and the outbox), and never logs a line (JOIN keys and SASL
payloads stay out of the logs).

It must not decide anything about the protocol; that is `Session`'s job.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
from collections.abc import Callable
from typing import Any

import structlog
from irc.client import Event
from irc.client_aio import AioConnection, AioReactor
from irc.connection import AioFactory

from bot.irc import choke
from bot.irc.wire import CappedLineBuffer, parse
from bot.settings import TlsConfig

log = structlog.get_logger(__name__)

# Linux only; elsewhere the kernel's usual acknowledgement timing stays.
_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class TlsPinError(ConnectionError):
    """The server's certificate does not have the configured fingerprint."""


def tls_context(tls: TlsConfig) -> ssl.SSLContext | None:
    """The client TLS context for `tls`, or None when TLS is off.

    Verification is on by default (system CAs, or `ca_file`). With a `fingerprint`, the
    pinned certificate replaces CA verification (checked by `check_fingerprint`).
    """
    if not tls.enabled:
        return None
    cafile = str(tls.ca_file) if tls.ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    if tls.fingerprint or not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.client_cert:
        key = str(tls.client_key) if tls.client_key else None
        context.load_cert_chain(str(tls.client_cert), key)
    return context


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").lower()


def check_fingerprint(transport: asyncio.BaseTransport, expected: str) -> None:
    """Raise TlsPinError unless the peer certificate's SHA-256 is `expected` (hex)."""
    ssl_object = transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    actual = hashlib.sha256(der).hexdigest() if der else ""
    if actual != normalise_fingerprint(expected):
        raise TlsPinError(f"certificate fingerprint {actual or 'missing'} is not the pinned one")


class IrcConnection(AioConnection):  # type: ignore[misc]
    """One TCP/TLS connection; hands parsed events to the reactor's handlers."""

    buffer_class = CappedLineBuffer

    def __init__(self, reactor: Any) -> None:
        super().__init__(reactor)
        self.sink: Callable[[str], None] = lambda _line: None
        self.on_data: Callable[[], None] = lambda: None
        # Where events go: straight to the client's handler, not through the library's
        # dispatch (a lock, a sorted copy of the handler list and a call per handler, for
        # every line), which the reactor's handlers get only when no receiver is set.
        self.receiver: Callable[[Any, Any], None] | None = None
        self.transport: asyncio.Transport | None = None
        self._socket: Any = None  # for acknowledging reads at once (see `_ack_now`)
        self._closed_fired = False

    async def open(self, host: str, port: int, nick: str, context: ssl.SSLContext | None) -> None:
        """Connect, sending nothing (the session speaks first)."""
        self.buffer = self.buffer_class()
        self.handlers: dict[str, Any] = {}
        self.real_server_name = ""
        self.real_nickname = nick
        self.server, self.port, self.server_address = host, port, (host, port)
        self.nickname = self.username = self.ircname = nick
        self.password = None
        options: dict[str, Any] = {}
        if context is not None:
            options = {"ssl": context, "server_hostname": host}
        self.connect_factory = AioFactory(**options)
        protocol = self.protocol_class(self, self.reactor.loop)
        transport, protocol = await self.connect_factory(protocol, self.server_address)
        self.transport, self.protocol = transport, protocol
        self._socket = transport.get_extra_info("socket") if _TCP_QUICKACK else None
        self.connected = True

    def process_data(self, new_data: bytes) -> None:
        """Called by the protocol for every chunk read; one bad line never ends the
        connection."""
        self.on_data()
        self._ack_now()
        self.buffer.feed(new_data)
        for line in self.buffer:
            if line:
                self._process_line(line)

    def _ack_now(self) -> None:
        """Acknowledge what was just read at once instead of up to 40 ms later.

        Servers that keep Nagle's algorithm on (InspIRCd does) hold their next small line
        until our ACK arrives; with Linux's delayed ACKs, a command that follows other
        lines would wait for that timer. Linux clears the flag as it acts on it, so it is
        set again after every read (one cheap system call)."""
        if self._socket is None or _TCP_QUICKACK is None:
            return
        try:
            self._socket.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        except OSError:
            self._socket = None  # not a TCP socket after all: stop trying

    def _process_line(self, line: str) -> None:
        try:
            event = parse(line)
            if event is not None:
                self._handle_event(event)
        except Exception:
            log.exception("irc.line_failed", length=len(line))

    def _handle_event(self, event: Any) -> None:
        receiver = self.receiver
        if receiver is None:
            super()._handle_event(event)
        else:
            receiver(self, event)

    def send_raw(self, string: str) -> None:
        """Library helpers end here: route them through the outbox, never straight out."""
        self.sink(choke.sanitise_line(string))

    def write_line(self, line: str) -> None:
        """Put one finished line on the wire (the outbox pump calls this)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(choke.sanitise_line(line).encode("utf-8", "replace") + b"\r\n")

    def abort(self) -> None:
        """Close the socket now; the disconnect event follows."""
        if self.transport is not None:
            self.transport.close()

    def disconnect(self, message: str = "") -> None:
        """The socket is gone (or must go): close it and fire `disconnect` once. Unlike
        the library, never try to send QUIT on a dead socket."""
        self.connected = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        if self._closed_fired:
            return
        self._closed_fired = True
        self._handle_event(Event("disconnect", self.server, "", [message]))


class IrcReactor(AioReactor):  # type: ignore[misc]
    """The library's asyncio reactor making `IrcConnection`s, without its own PONG
    handler (our session answers PINGs through the outbox)."""

    connection_class = IrcConnection

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self.handlers.pop("ping", None)

    def new_connection(self) -> IrcConnection:
        connection: IrcConnection = self.server()
        return connection

    def forget(self, connection: IrcConnection) -> None:
        with self.mutex:
            if connection in self.connections:
                self.connections.remove(connection)

    def add_handler(self, handler: Callable[[Any, Any], None]) -> None:
        """Receive every event of every connection: handler(connection, event)."""
        self.add_global_handler("all_events", handler, 0)

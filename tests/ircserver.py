"""Test helpers for end-to-end IRC tests: a real ngircd, a raw client, a scripted server.

- `Ngircd`: writes a minimal config into a temporary directory (127.0.0.1 on a free port,
  no PAM/DNS/ident, long nicks, penalties off), runs `/usr/sbin/ngircd -n -f CONFIG` in
  the foreground as a subprocess, waits (bounded) until the port accepts, and stops or
  restarts it by pid.
- `RawClient`: an asyncio client that registers a nick, joins, sends lines and collects
  what it sees; every wait has a timeout.
- `FakeServer`: a scripted asyncio server on 127.0.0.1 for what ngircd cannot do
  (CAP/SASL, server-time, WHOX with accounts, going silent, TLS): the test reads the
  client's lines and writes the server's answers.
- `next_event`: the next core event of a kind a `NetworkClient` put on its queue.

Every loop here is bounded in count or time; only processes started here are stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.core.events import Event

NGIRCD = "/usr/sbin/ngircd"
HOST = "127.0.0.1"
SERVER_NAME = "irc.test.local"

Match = str | re.Pattern[str] | Callable[[str], bool]


E = TypeVar("E")


async def next_event(
    queue: asyncio.Queue[Event],
    kind: type[E],
    where: Callable[[E], bool] = lambda _e: True,
    timeout: float = 5.0,
) -> E:
    """The next event of `kind` matching `where`; others are skipped (bounded wait)."""
    async with asyncio.timeout(timeout):
        while True:
            event = await queue.get()
            if isinstance(event, kind) and where(event):
                return event


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
        return True
    return False


def start_server(
    argv: list[str], port: int, log_path: Path, what: str, timeout: float
) -> subprocess.Popen[bytes]:
    """Start a server process (output to `log_path`) and wait, bounded, until `port`
    accepts connections; stop it and raise if it dies or does not open in time."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process, timeout)
            raise RuntimeError(f"{what} did not start; see {log_path}")
        time.sleep(0.02)
    return process


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    """SIGTERM a process this code started, then SIGKILL it if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def _matches(line: str, match: Match) -> bool:
    if isinstance(match, str):
        return match in line
    if isinstance(match, re.Pattern):
        return match.search(line) is not None
    return match(line)


NGIRCD_CONFIG = """\
[Global]
Name = {name}
Info = Gavel test server
AdminInfo1 = Gavel tests
AdminInfo2 = 127.0.0.1
AdminEMail = nobody@invalid
Listen = {host}
Ports = {port}
MotdPhrase = "Gavel test server"
PidFile =
[Limits]
MaxNickLength = 30
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 120
PongTimeout = 20
[Options]
PAM = no
DNS = no
Ident = no
IncludeDir = {include}
"""


class Ngircd:
    """One ngircd process on a free loopback port, configured in `workdir`."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.host = HOST
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "conf.d").mkdir(exist_ok=True)
        self.config = workdir / "ngircd.conf"
        self.config.write_text(
            NGIRCD_CONFIG.format(
                name=SERVER_NAME, host=HOST, port=self.port, include=workdir / "conf.d"
            )
        )
        self.log_path = workdir / "ngircd.log"

    def start(self, timeout: float = 5.0) -> None:
        if self.process is not None:
            raise RuntimeError("already running")
        self.process = start_server(
            [NGIRCD, "-n", "-f", str(self.config)], self.port, self.log_path, "ngircd", timeout
        )

    def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        stop_process(process, timeout)

    def kill(self, timeout: float = 5.0) -> None:
        """SIGKILL: the server dies without closing anything politely."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout)

    def restart(self) -> None:
        self.stop()
        self.start()


class _LineReader:
    """Collects lines from a stream; `expect` waits for one matching (bounded)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.lines: list[str] = []
        self._seen = 0
        self._changed = asyncio.Event()
        self.closed = False
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                raw = await self.reader.readline()
                if not raw:
                    break
                line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
                self.on_line(line)
                self.lines.append(line)
                self._changed.set()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed = True
            self._changed.set()

    def discard_from_now(self) -> None:
        """Stop collecting lines; read and drop whatever arrives (for a talker that is sent
        far more than it needs to look at, and must neither parse it nor let it pile up)."""
        self._task.cancel()
        self._task = asyncio.create_task(self._discard())

    async def _discard(self) -> None:
        try:
            while await self.reader.read(1 << 16):
                pass
        except ConnectionError:
            pass
        finally:
            self.closed = True
            self._changed.set()

    def on_line(self, line: str) -> None:
        """Hook for automatic answers."""

    async def expect(self, match: Match, timeout: float = 5.0) -> str:
        """The next unseen line matching `match` (lines before it are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                while self._seen < len(self.lines):
                    line = self.lines[self._seen]
                    self._seen += 1
                    if _matches(line, match):
                        return line
                if self.closed:
                    raise ConnectionError(f"closed while waiting for {match!r}")
                self._changed.clear()
                await self._changed.wait()

    def seen(self, match: Match) -> list[str]:
        """Every line so far that matches."""
        return [line for line in self.lines if _matches(line, match)]

    async def send(self, line: str) -> None:
        self.writer.write(line.encode("utf-8") + b"\r\n")
        await self.writer.drain()

    async def send_bytes(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)


class RawClient(_LineReader):
    """A person on IRC, speaking raw protocol."""

    nick = ""

    def on_line(self, line: str) -> None:
        if line.startswith("PING"):
            self.writer.write(b"PONG" + line[4:].encode() + b"\r\n")

    @classmethod
    async def connect(
        cls, host: str, port: int, nick: str, timeout: float = 5.0, register: bool = True
    ) -> RawClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        client = cls(reader, writer)
        client.nick = nick
        if register:
            await client.send(f"NICK {nick}")
            await client.send(f"USER {nick} 0 * :{nick}")
            await client.expect(re.compile(r"^:\S+ 001 "), timeout)
        return client

    async def join(self, channel: str, timeout: float = 5.0) -> None:
        await self.send(f"JOIN {channel}")
        await self.expect(re.compile(rf"^:\S+ 366 \S+ {re.escape(channel)} "), timeout)

    async def say(self, target: str, text: str) -> None:
        await self.send(f"PRIVMSG {target} :{text}")


_WHOX = re.compile(r"^WHO (\S+) %[a-z]*,(\d+)$")


class FakePeer(_LineReader):
    """The server's end of one client connection to a `FakeServer`.

    With `accounts` set (nick -> account, None for not logged in) it answers WHOX
    (`WHO #chan %tna,TOKEN`) as a server with services does: a 354 per member, then 315.
    """

    accounts: dict[str, str | None] | None = None

    def on_line(self, line: str) -> None:
        if line.startswith("QUIT"):
            self.writer.write(b"ERROR :Closing link\r\n")
            self.writer.close()
        who = _WHOX.match(line)
        if who is not None and self.accounts is not None:
            channel, token = who.groups()
            for nick, account in self.accounts.items():
                self.writer.write(f":fake 354 * {token} {nick} {account or 0}\r\n".encode())
            self.writer.write(f":fake 315 * {channel} :End of WHO list\r\n".encode())

    async def register(self, nick: str = "gavel", caps: str | None = None) -> None:
        """Answer a client's registration: CAP LS (when `caps` given) then 001 on CAP END."""
        if caps is not None:
            await self.expect("CAP LS")
            await self.send(f":fake CAP * LS :{caps}")
            await self.expect("CAP END")
        await self.expect("USER ")
        await self.send(f":fake 001 {nick} :Welcome")


class FakeServer:
    """A scripted IRC server on 127.0.0.1 (optionally TLS)."""

    def __init__(self) -> None:
        self.peers: asyncio.Queue[FakePeer] = asyncio.Queue()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.all_peers: list[FakePeer] = []
        self.greeting = b""  # sent to each client as soon as it connects

    async def start(self, context: ssl.SSLContext | None = None) -> FakeServer:
        self.server = await asyncio.start_server(self._accept, HOST, 0, ssl=context)
        self.port = int(self.server.sockets[0].getsockname()[1])
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.greeting:
            writer.write(self.greeting)
        peer = FakePeer(reader, writer)
        self.all_peers.append(peer)
        await self.peers.put(peer)

    async def next_peer(self, timeout: float = 5.0) -> FakePeer:
        return await asyncio.wait_for(self.peers.get(), timeout)

    async def close(self) -> None:
        for peer in self.all_peers:
            await peer.close()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)

"""Shared harness of scenarios 6–9: the real bot (a subprocess) against a scripted server.

- `BotServer` / `RawPeer`: a `tests.ircserver.FakeServer` whose peer keeps every line the
  bot sends as raw bytes with its arrival time (so CR, NUL and a missing CR LF can be
  counted, and output rates measured), and plays the server's part by itself: CAP LS/ACK,
  the welcome after CAP END, JOIN echoes with NAMES, PONG probes.
- `Bot`: `tests.botproc.BotProcess` with per-channel settings (time zone) in its config.
- Log reading: the bot logs structlog JSON lines; `log_records`, `crash_records` and
  `disconnect_records` count what went wrong from what the bot itself wrote.

Every wait is bounded; the only processes stopped are the ones started here, by pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import ssl
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.botproc import BotProcess
from tests.ircserver import FakePeer, FakeServer

BOT_NICK = "meetbot"
USER_HOST = "meetbot!~meetbot@gavel.test"

# What a failure looks like in the bot's own log: the events logged with `exception`.
FAILURE_EVENTS = frozenset(
    {
        "event_failed",
        "irc.line_failed",
        "irc.handler_failed",
        "irc.translate_failed",
        "irc.timer_failed",
        "irc.supervisor_error",
        "publish_failed",
    }
)

# Every command the bot may legitimately send.
BOT_COMMANDS = frozenset(
    {
        "PRIVMSG",
        "TOPIC",
        "PONG",
        "PING",
        "JOIN",
        "CAP",
        "NICK",
        "USER",
        "QUIT",
        "AUTHENTICATE",
        "CHATHISTORY",
    }
)


# -- the bot process -----------------------------------------------------------------


@dataclass
class Bot(BotProcess):
    """`BotProcess` whose channels may carry a time zone (`{"#c": "Asia/Tokyo"}`)."""

    zones: dict[str, str] = field(default_factory=dict)

    def write_config(self) -> None:
        """BotProcess's config with the channels as tables (escaped, with time zones)."""
        super().write_config()
        text = self.config.read_text(encoding="utf-8")
        listed = "channels = [" + ", ".join(f'"{c}"' for c in self.channels) + "]\n"
        head, found, tail = text.partition(listed)
        if not found:
            raise RuntimeError("BotProcess changed its config layout")
        network, _, rest = tail.partition("[output]")
        tables = "".join(
            f"[[networks.channels]]\nname = {json.dumps(name)}\n"
            f"timezone = {json.dumps(self.zones.get(name, 'UTC'))}\n"
            for name in self.channels
        )
        self.config.write_text(f"{head}{network}{tables}[output]{rest}", encoding="utf-8")

    def terminate(self, timeout: float = 10.0) -> tuple[int | None, float]:
        """SIGTERM; the exit code (None if it had to be killed) and seconds to exit."""
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        try:
            code: int | None = self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        return code, time.monotonic() - started

    async def stop_by_sigterm(self, timeout: float = 10.0) -> tuple[int | None, float]:
        """`terminate` off the event loop, so a scripted server in this loop can answer
        the bot's QUIT while it shuts down."""
        return await asyncio.to_thread(self.terminate, timeout)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def log_records(bot: BotProcess) -> list[dict[str, Any]]:
    """The bot's log as records; a line that is not JSON is kept as `{"raw": line}`."""
    if not bot.log.exists():
        return []
    records = []
    for line in bot.log_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = {"raw": line}
        records.append(record if isinstance(record, dict) else {"raw": line})
    return records


def crash_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records that tell of an exception: a logged one, or a traceback printed raw."""
    return [
        r
        for r in records
        if "exception" in r
        or r.get("event") in FAILURE_EVENTS
        or "Traceback" in str(r.get("raw", ""))
    ]


def disconnect_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("event") == "irc.disconnected"]


def sent_lines(records: Iterable[dict[str, Any]]) -> list[str]:
    """The lines the bot logged as sent (`irc.send`, debug level)."""
    return [str(r.get("line", "")) for r in records if r.get("event") == "irc.send"]


# -- the scripted server -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One line from the bot: arrival time (monotonic) and raw bytes, CR LF included."""

    at: float
    raw: bytes

    @property
    def text(self) -> str:
        return self.raw.rstrip(b"\r\n").decode("utf-8", "replace")

    @property
    def command(self) -> str:
        return self.text.split(" ", 1)[0].upper()


def bad_line(sent: Sent) -> str | None:
    """Why a line from the bot breaks the protocol rules, or None if it does not."""
    raw = sent.raw
    if not raw.endswith(b"\r\n"):
        return "not terminated by CR LF"
    body = raw[:-2]
    if b"\r" in body or b"\n" in body or b"\x00" in body:
        return "CR, LF or NUL inside"
    if len(raw) > 512:
        return "longer than 512 bytes"
    if sent.command not in BOT_COMMANDS:
        return f"unexpected command {sent.command[:20]!r}"
    return None


class RawPeer(FakePeer):
    """The server's end of the bot's connection, keeping every line raw and timed."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, caps: str
    ) -> None:
        self.caps = caps
        self.sent: list[Sent] = []
        self.nick = BOT_NICK
        self.welcomed = asyncio.Event()
        self.joined: dict[str, asyncio.Event] = {}
        self.members: dict[str, str] = {}  # channel -> NAMES list sent on its JOIN
        self.pongs: dict[str, float] = {}
        self.read_errors = 0
        super().__init__(reader, writer)

    async def _read(self) -> None:  # FakePeer's reader, keeping the raw bytes
        try:
            while True:
                try:
                    raw = await self.reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:
                        self._took(Sent(time.monotonic(), exc.partial))
                    break
                except asyncio.LimitOverrunError:
                    self.read_errors += 1
                    chunk = await self.reader.read(1 << 16)
                    self._took(Sent(time.monotonic(), chunk))
                    continue
                self._took(Sent(time.monotonic(), raw))
        except ConnectionError:
            pass
        finally:
            self.closed = True
            self._changed.set()

    def _took(self, sent: Sent) -> None:
        self.sent.append(sent)
        line = sent.text
        with contextlib.suppress(Exception):
            self._answer(line, sent.at)
        self.lines.append(line)
        self._changed.set()

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def _answer(self, line: str, at: float) -> None:
        words = line.split(" ")
        command = words[0].upper()
        if command == "CAP" and len(words) > 1:
            sub = words[1].upper()
            if sub == "LS":
                self.write(f":fake CAP * LS :{self.caps}\r\n".encode())
            elif sub == "REQ":
                self.write(f":fake CAP * ACK :{line.partition(':')[2]}\r\n".encode())
            elif sub == "END":
                self._welcome()
        elif command == "NICK" and len(words) > 1:
            self.nick = words[1].lstrip(":")
        elif command == "JOIN" and len(words) > 1:
            for channel in words[1].split(","):
                self._join(channel)
        elif command == "PONG":
            self.pongs.setdefault(line.partition(":")[2], at)
        elif command == "PING":
            self.write(f":fake PONG fake :{line.partition(':')[2]}\r\n".encode())
        elif command == "QUIT":
            self.write(b"ERROR :Closing link\r\n")
            self.writer.close()

    def _welcome(self) -> None:
        nick = self.nick
        self.write(
            f":fake 001 {nick} :Welcome\r\n"
            f":fake 005 {nick} CASEMAPPING=rfc1459 PREFIX=(ov)@+ CHANTYPES=#& :are supported\r\n"
            f":fake 376 {nick} :End of MOTD\r\n".encode()
        )
        self.welcomed.set()

    def _join(self, channel: str) -> None:
        nick = self.nick
        names = " ".join(n for n in (self.members.get(channel, ""), nick) if n)
        self.write(
            f":{nick}!~{nick}@gavel.test JOIN {channel}\r\n"
            f":fake 353 {nick} = {channel} :{names}\r\n"
            f":fake 366 {nick} {channel} :End of /NAMES list.\r\n".encode("utf-8", "replace")
        )
        self.joined.setdefault(channel.lower(), asyncio.Event()).set()

    async def wait_joined(self, channel: str, timeout: float = 20.0) -> None:
        event = self.joined.setdefault(channel.lower(), asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)

    async def probe(self, token: str, timeout: float = 5.0) -> float | None:
        """Send `PING :token`; seconds until the bot's PONG, or None if none came in time."""
        started = time.monotonic()
        self.write(f"PING :{token}\r\n".encode())
        deadline = started + timeout
        while token not in self.pongs and time.monotonic() < deadline and not self.closed:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(deadline - time.monotonic(), 0))
        got = self.pongs.get(token)
        return None if got is None else got - started

    async def send_raw(self, data: bytes) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(data)
        await self.writer.drain()


class BotServer(FakeServer):
    """`FakeServer` handing out `RawPeer`s that offer `caps`."""

    def __init__(self, caps: str = "") -> None:
        super().__init__()
        self.caps = caps
        self.raw_peers: list[RawPeer] = []

    async def start(self, context: ssl.SSLContext | None = None) -> BotServer:
        await super().start(context)
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = RawPeer(reader, writer, self.caps)
        self.raw_peers.append(peer)
        self.all_peers.append(peer)
        await self.peers.put(peer)

    async def next_raw_peer(self, timeout: float = 20.0) -> RawPeer:
        peer = await self.next_peer(timeout)
        assert isinstance(peer, RawPeer)
        return peer


def privmsg(source: str, target: str, text: bytes | str, tags: str = "") -> bytes:
    """A PRIVMSG line as the server relays it (raw bytes, CR LF added)."""
    body = text if isinstance(text, bytes) else text.encode("utf-8")
    prefix = f"@{tags} " if tags else ""
    host = f"{source}!~{source}@people.test"
    return f"{prefix}:{host} PRIVMSG {target} :".encode() + body + b"\r\n"


def files_under(root: Path) -> list[Path]:
    """Every file (not directory) under `root`, symlinks included, without following them."""
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def until_stopping(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records logged before the bot began to shut down (SIGTERM)."""
    for index, record in enumerate(records):
        if record.get("event") == "stopping":
            return records[:index]
    return records


async def until(predicate: Any, timeout: float, interval: float = 0.05) -> bool:
    """Wait (bounded) until `predicate()` is true; whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())


async def quiet(count: Any, settle_for: float, timeout: float) -> None:
    """Wait (bounded) until `count()` stops changing for `settle_for` seconds."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= settle_for:
            return

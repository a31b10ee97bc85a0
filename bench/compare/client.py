"""Speaker clients: IRC connections that talk as fast as the server accepts and time replies.

A `Speaker` registers a nick, joins channels and writes lines. It reads in large chunks
and throws away everything except the bot's own messages, which it keeps per channel
with the `time.perf_counter()` at which the chunk holding them was read, so a reply's
latency is measured from the moment the line was handed to the socket to the moment
its answer arrived — from the outside only. PINGs are answered.

The write buffer is kept small, so "as fast as the server accepts" means the socket's
pace, not a heap of lines waiting inside this process. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

_WRITE_HIGH_WATER = 16 * 1024
_READ_CHUNK = 1 << 16
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def ack_now(sock: socket.socket | None) -> None:
    """Acknowledge what was just read at once (call after every read): InspIRCd uses
    Nagle's algorithm, and with the kernel's delayed ACKs its next small line to this
    reader (a bot's answer, perhaps) would wait up to 40 ms for our ACK. Gavel does the
    same after every read; the speakers and the reference bots must not wait where it
    does not."""
    if _QUICKACK is not None and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


@dataclass(frozen=True, slots=True)
class Heard:
    """One line the bot said in a channel, and when this client read it."""

    at: float
    text: str


class Speaker:
    """One person on IRC. Create with `await Speaker.connect(...)`."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nick: str, bot: str
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.nick = nick
        self.bot_prefix = f":{bot}!".encode()
        self.heard: dict[str, list[Heard]] = {}  # channel (lower case) -> bot lines
        self.numerics: list[str] = []  # server numerics, until a wait consumes them
        # False once set up, for a speaker whose view of the channel nobody reads: the
        # driver then spends (almost) nothing on what it receives.
        self.listening = True
        self.closed = False
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(self._read(), name=f"speaker-{nick}")
        transport = writer.transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH_WATER)
        self._socket = transport.get_extra_info("socket")

    @classmethod
    async def connect(
        cls, host: str, port: int, nick: str, bot: str, timeout: float = 10.0
    ) -> Speaker:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        speaker = cls(reader, writer, nick, bot)
        speaker.write(f"NICK {nick}")
        speaker.write(f"USER {nick} 0 * :{nick}")
        await speaker.wait_numeric(re.compile(r"^:\S+ 001 "), timeout)
        return speaker

    # -- reading --------------------------------------------------------------------

    async def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = await self.reader.read(_READ_CHUNK)
                if not chunk:
                    break
                at = time.perf_counter()
                ack_now(self._socket)
                buffer += chunk
                if not self.listening and b"PING" not in chunk:
                    # What others say is of no interest to a speaker that only talks:
                    # skip it whole, keeping an unfinished last line for the next chunk.
                    buffer = buffer[buffer.rfind(b"\n") + 1 :]
                    continue
                *lines, buffer = buffer.split(b"\r\n")
                for raw in lines:
                    self._line(raw, at)
                self._changed.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed = True
            self._changed.set()

    def _line(self, raw: bytes, at: float) -> None:
        if raw.startswith(b"@"):  # message tags (server-time ...) come first
            raw = raw.split(b" ", 1)[1] if b" " in raw else b""
        if not raw.startswith(self.bot_prefix) and b" PRIVMSG " in raw:
            return  # a person speaking
        if raw.startswith(self.bot_prefix):
            parts = raw.decode("utf-8", "replace").split(" ", 3)
            if len(parts) == 4 and parts[1] in ("PRIVMSG", "NOTICE"):
                text = parts[3][1:] if parts[3].startswith(":") else parts[3]
                self.heard.setdefault(parts[2].lower(), []).append(Heard(at, text))
            return
        if raw.startswith(b"PING"):
            self.writer.write(b"PONG" + raw[4:] + b"\r\n")
            return
        parts = raw.split(b" ", 2)
        if len(parts) > 1 and len(parts[1]) == 3 and parts[1].isdigit():
            self.numerics.append(raw.decode("utf-8", "replace"))

    async def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until `ready()` is true after a read."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.closed:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    async def wait_numeric(self, pattern: re.Pattern[str], timeout: float) -> str:
        found: list[str] = []

        def seen() -> bool:
            for line in self.numerics:
                if pattern.search(line):
                    found.append(line)
                    return True
            return False

        if not await self.wait_until(seen, timeout):
            raise TimeoutError(f"{self.nick}: no {pattern.pattern!r} within {timeout} s")
        self.numerics.clear()
        return found[0]

    def bot_lines(self, channel: str) -> list[Heard]:
        return self.heard.setdefault(channel.lower(), [])

    async def wait_reply(
        self, channel: str, marker: str, start: int, timeout: float
    ) -> tuple[int, Heard] | None:
        """The first bot line in `channel` at index >= `start` containing `marker`."""
        lines = self.bot_lines(channel)
        found: list[tuple[int, Heard]] = []

        def seen() -> bool:
            for index in range(start, len(lines)):
                if marker in lines[index].text:
                    found.append((index, lines[index]))
                    return True
            return False

        if await self.wait_until(seen, timeout):
            return found[0]
        return None

    # -- writing --------------------------------------------------------------------

    def write(self, line: str) -> float:
        """Hand one line to the socket; returns the `perf_counter()` at that moment."""
        at = time.perf_counter()
        self.writer.write(line.encode("utf-8") + b"\r\n")
        return at

    def say(self, channel: str, text: str) -> float:
        return self.write(f"PRIVMSG {channel} :{text}")

    async def drain(self) -> None:
        await self.writer.drain()

    async def join(self, channel: str, timeout: float = 10.0) -> None:
        self.write(f"JOIN {channel}")
        await self.wait_numeric(re.compile(rf"^:\S+ 366 \S+ {re.escape(channel)} ", re.I), timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.write("QUIT :bench done")
            await asyncio.wait_for(self.writer.drain(), 1.0)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 1.0)

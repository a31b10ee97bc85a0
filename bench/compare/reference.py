"""The reference bots: what this machine allows at all, run as a separate process like the
bots under test, through the same server, in the same run.

A raw asyncio reader (like the driver's speakers) that registers, joins its channels and
answers three commands, with nothing else a meeting bot does: no IRC library, no parsing
beyond finding the channel and the text, no rendering, no database.

- `#startmeeting NAME` starts keeping the channel's lines (a list of strings) and answers
  `Meeting started ...`; `#chair NICK` answers `Current chairs: ...`;
- `#endmeeting` writes the kept lines to one file, `NAME.log.txt` in the output directory,
  and answers `Meeting ended ...`.

With `--fsync` (the floor) `#startmeeting` and `#chair` are answered only after one
`fsync` of a 4 KiB append to a file on the disk the bots write to: what persisting a
command before replying costs at the least (a SQLite commit in WAL mode is one such
append). Without it (the ceiling) everything is answered at once.

    python -m bench.compare.reference --port P --nick N --out DIR [--fsync] CHANNEL...
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from bench.compare.client import ack_now

APPEND = b"\0" * 4096  # a SQLite page: what one small commit appends to the WAL
READ_CHUNK = 1 << 18


class Reference:
    def __init__(self, nick: str, out: Path, journal: int | None) -> None:
        self.nick = nick
        self.out = out
        self.journal = journal  # the fd appended to and fsynced before a reply, or None
        self.meetings: dict[str, tuple[str, list[str]]] = {}  # channel -> (name, lines)
        self.writer: asyncio.StreamWriter | None = None

    def send(self, line: str) -> None:
        assert self.writer is not None
        self.writer.write(line.encode("utf-8") + b"\r\n")

    def persist(self) -> None:
        if self.journal is not None:
            os.write(self.journal, APPEND)
            os.fsync(self.journal)

    def line(self, raw: bytes) -> None:
        if raw.startswith(b"PING"):
            assert self.writer is not None
            self.writer.write(b"PONG" + raw[4:] + b"\r\n")
            return
        # ":nick!user@host PRIVMSG #channel :text"
        head, sep, text_bytes = raw.partition(b" :")
        parts = head.split(b" ")
        if not sep or len(parts) != 3 or parts[1] != b"PRIVMSG" or not parts[0].startswith(b":"):
            return
        channel = parts[2].decode("utf-8", "replace").lower()
        text = text_bytes.decode("utf-8", "replace")
        nick = parts[0][1:].split(b"!", 1)[0].decode("utf-8", "replace")
        meeting = self.meetings.get(channel)
        if meeting is not None:
            meeting[1].append(f"<{nick}> {text}")
        if not text.startswith("#"):
            return
        command, _, rest = text.partition(" ")
        if command == "#startmeeting" and meeting is None:
            name = rest.strip() or channel.lstrip("#")
            self.meetings[channel] = (name, [f"<{nick}> {text}"])
            self.persist()
            self.send(f"PRIVMSG {channel} :Meeting started by {nick}: {name}")
        elif command == "#chair" and meeting is not None:
            self.persist()
            self.send(f"PRIVMSG {channel} :Current chairs: {nick} {rest.strip()}")
        elif command == "#endmeeting" and meeting is not None:
            del self.meetings[channel]
            name, lines = meeting
            (self.out / f"{name}.log.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            self.send(f"PRIVMSG {channel} :Meeting ended: {name}")

    async def run(self, host: str, port: int, channels: list[str]) -> None:
        reader, self.writer = await asyncio.open_connection(host, port)
        sock = self.writer.get_extra_info("socket")
        self.send(f"NICK {self.nick}")
        self.send(f"USER {self.nick} 0 * :{self.nick}")
        joined = False
        buffer = b""
        while True:
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                return
            ack_now(sock)
            buffer += chunk
            *lines, buffer = buffer.split(b"\r\n")
            for raw in lines:
                if raw.startswith(b"@"):
                    raw = raw.partition(b" ")[2]
                if not joined and b" 001 " in raw:
                    joined = True
                    for at in range(0, len(channels), 20):
                        self.send("JOIN " + ",".join(channels[at : at + 20]))
                    continue
                self.line(raw)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare.reference")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--nick", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fsync", action="store_true", help="fsync a 4 KiB append per reply")
    parser.add_argument("channels", nargs="+")
    args = parser.parse_args()
    journal = None
    if args.fsync:
        journal = os.open(args.out / "journal", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    bot = Reference(args.nick, args.out, journal)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(bot.run(args.host, args.port, args.channels))


if __name__ == "__main__":
    main()

"""Live figures of the real bot on loopback: reply latency, recording rate, memory.

Starts ngircd on a free 127.0.0.1 port and Gavel as a separate process, then measures
from the outside:
- `#startmeeting` reply latency (p50/p99): the time from sending the command to seeing
  the bot's first reply, which the bot sends only after the meeting is committed;
- lines recorded per second with `rate = 0`: speakers send numbered lines as fast as
  the server takes them; the clock stops when the database holds them all;
- peak RSS with 50 channels joined.

Run: `.venv/bin/python -m bench.live` (about a minute).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import percentile
from tests.botproc import BotProcess
from tests.ircserver import Ngircd, RawClient

SAMPLES = 60
LINES = 6000
SPEAKERS = 3


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def joined(observer: RawClient, nick: str, channel: str) -> None:
    await observer.expect(re.compile(rf"^:{nick}!\S+ JOIN :?{re.escape(channel)}"), 30)


async def latency(workdir: Path, ircd: Ngircd) -> list[float]:
    """Each sample: a fresh channel, `#startmeeting`, wait for the first reply line.

    Speakers take turns, so the per-person reply allowance never suppresses a reply
    (and no one changes nick: ngircd delays a client's next line after a NICK)."""
    channels = [f"#lat{i}" for i in range(SAMPLES)]
    speakers = [await RawClient.connect(ircd.host, ircd.port, f"s{i}") for i in range(8)]
    for speaker in speakers:
        for channel in channels:
            await speaker.join(channel)
    bot = BotProcess(workdir / "latency", ircd.port, channels=channels)
    bot.start()
    samples = []
    try:
        await joined(speakers[0], bot.nick, channels[-1])
        await asyncio.sleep(0.5)
        for n, channel in enumerate(channels):
            speaker = speakers[n % len(speakers)]
            reply = re.compile(rf"^:{bot.nick}!\S+ PRIVMSG {re.escape(channel)} :Meeting started")
            started = time.perf_counter()
            await speaker.say(channel, f"#startmeeting m{n}")
            await speaker.expect(reply, 10)
            samples.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)
    finally:
        bot.stop()
        for speaker in speakers:
            await speaker.close()
    return samples


async def throughput(workdir: Path, ircd: Ngircd, lines: int = LINES) -> tuple[float, int]:
    """Lines recorded per second: `lines` numbered lines sent as fast as the server takes
    them; the clock stops when the meeting's rows in the database hold them all (counted
    through the meeting's own key, so each look costs the same on a large archive)."""
    channel = "#throughput"
    speakers = [await RawClient.connect(ircd.host, ircd.port, f"talk{i}") for i in range(SPEAKERS)]
    for s in speakers:
        await s.join(channel)
    bot = BotProcess(workdir / "throughput", ircd.port, channels=[channel])
    bot.start()
    try:
        await joined(speakers[0], bot.nick, channel)
        await speakers[0].say(channel, "#startmeeting throughput")
        await speakers[0].expect("The meeting name has been set", 10)
        with sqlite3.connect(bot.database) as db:
            meeting = db.execute("SELECT MAX(id) FROM meetings").fetchone()[0]
            base = _lines_of(db, meeting)
        for speaker in speakers:  # what the others say comes back to each: dropped unread
            speaker.discard_from_now()
        started = time.perf_counter()
        per_speaker = lines // SPEAKERS

        async def talk(who: RawClient, index: int) -> None:
            for n in range(per_speaker):
                who.writer.write(f"PRIVMSG {channel} :t{index} line {n:05d}\r\n".encode())
                if n % 100 == 99:
                    await who.writer.drain()
            await who.writer.drain()

        await asyncio.gather(*(talk(s, i) for i, s in enumerate(speakers)))
        deadline = time.monotonic() + 120
        count = 0
        while time.monotonic() < deadline:
            with sqlite3.connect(bot.database) as db:
                count = _lines_of(db, meeting) - base
            if count >= per_speaker * SPEAKERS:
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
    finally:
        bot.stop()
        for s in speakers:
            await s.close()
    return count / elapsed, count


def _lines_of(db: sqlite3.Connection, meeting: int) -> int:
    found = db.execute("SELECT COUNT(*) FROM lines WHERE meeting_id = ?", (meeting,))
    return int(found.fetchone()[0])


async def memory(workdir: Path, ircd: Ngircd) -> float:
    channels = [f"#room{i}" for i in range(50)]
    watcher = await RawClient.connect(ircd.host, ircd.port, "watcher")
    await watcher.join(channels[-1])
    bot = BotProcess(workdir / "memory", ircd.port, channels=channels)
    bot.start()
    try:
        await joined(watcher, bot.nick, channels[-1])
        await asyncio.sleep(2)
        assert bot.process is not None
        return peak_rss_mb(bot.process.pid)
    finally:
        bot.stop()
        await watcher.close()


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        ircd = Ngircd(workdir / "ngircd")
        ircd.start()
        try:
            lat = await latency(workdir, ircd)
            rate, count = await throughput(workdir, ircd)
            rss = await memory(workdir, ircd)
        finally:
            ircd.stop()
    print(
        f"#startmeeting reply latency over {len(lat)} samples: "
        f"p50 {statistics.median(lat):.2f} ms, p99 {percentile(lat, 99):.2f} ms"
    )
    print(f"lines recorded per second with rate = 0: {rate:,.0f} ({count} lines)")
    print(f"peak RSS with 50 channels joined: {rss:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Benchmark: CPU per recorded line through Gavel's own parts, without a network.

The bytes a server sends for a meeting (server-time, msgid and account tags, as InspIRCd
sends them; 3 speakers, MEETINGS meetings in turn) are fed to a real `NetworkClient`'s
connection in 256 KiB reads, as the socket would hand them over; the client frames, parses
and translates them, the real `Engine` steps them through the core and commits them to a
real SQLite journal (aiosqlite, `synchronous = FULL`) in a temporary directory, and
`#endmeeting` publishes the files. What is measured is the process's CPU time (all
threads) per line until every meeting's files are written, and its resident memory before
and after the lines are recorded. CPU time repeats far better than wall time on a shared
machine: an A/B of a change runs this on both trees.

    .venv/bin/python bench/pipeline.py [--lines 500] [--meetings 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.compare.scenarios import chatter
from bot.app import resume
from bot.config_loader import load_settings
from bot.core.events import Event, FilesPublished
from bot.core.state import World
from bot.engine import Engine
from bot.flow import BATCH_EVENTS
from bot.irc.client import NetworkClient
from bot.irc.connection import IrcConnection, IrcReactor
from bot.logs import configure
from bot.publishing import Publishing
from bot.store import Store
from tests.botproc import config_text

READ = 256 * 1024  # what asyncio's socket transport reads at most at once
ROUND_SECONDS = 600.0  # a round that takes longer has stalled: it stops with an error
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def wire(meetings: int, lines: int) -> tuple[bytes, bytes, list[bytes]]:
    """Registration, joins and set-up; then the meetings' lines; then each #endmeeting."""
    nick = "gavel"
    reg = [
        ":srv CAP * LS :server-time message-tags echo-message batch account-tag",
        ":srv CAP * ACK :server-time message-tags echo-message batch account-tag",
        f":srv 001 {nick} :Welcome",
        f":srv 005 {nick} CASEMAPPING=rfc1459 CHANTYPES=# PREFIX=(ov)@+ :are supported",
    ]
    setup: list[str] = []
    stamp = itertools.count()

    def tags() -> str:
        moment = T0 + timedelta(microseconds=137 * next(stamp))
        ms = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        return f"@time={ms};msgid=Ab{next(stamp):014d}x;account=acct "

    for m in range(meetings):
        channel = f"#pipe-{m:03d}"
        setup.append(f":{nick}!gv@host JOIN {channel}")
        setup.append(f":srv 353 {nick} = {channel} :@{nick} p{m}s0 p{m}s1 p{m}s2")
        setup.append(f":srv 366 {nick} {channel} :End of /NAMES list.")
        setup.append(f"{tags()}:p{m}s0!u@h PRIVMSG {channel} :#startmeeting pipe{m:03d}")
    talk: list[str] = []
    for n in range(lines):
        for m in range(meetings):
            who = f"p{m}s{n % 3}"
            talk.append(f"{tags()}:{who}!u@h PRIVMSG #pipe-{m:03d} :{chatter(n, who)}")
    end = [f"{tags()}:p{m}s0!u@h PRIVMSG #pipe-{m:03d} :#endmeeting" for m in range(meetings)]

    def encode(block: list[str]) -> bytes:
        return "".join(line + "\r\n" for line in block).encode()

    return encode(reg + setup), encode(talk), [encode([line]) for line in end]


async def one_round(meetings: int, lines: int, workdir: Path) -> float:
    config = workdir / "gavel.toml"
    channels = [f"#pipe-{m:03d}" for m in range(meetings)]
    config.write_text(
        config_text(
            nick="gavel",
            network="bench",
            port=6667,
            channels=channels,
            meetings=workdir / "meetings",
            database=workdir / "gavel.sqlite3",
            url_prefix="http://example.invalid/",
            rate=0,
            log_level="warning",
        ),
        encoding="utf-8",
    )
    settings = load_settings(config)
    configure("warning", "json")
    start, talk, ends = wire(meetings, lines)
    store = await Store.open(settings.storage.path)
    try:
        world = World()
        ids = itertools.count(await store.max_id() + 1)
        await resume(store, world, ids)
        queue: asyncio.Queue[Event] = asyncio.Queue()
        client = NetworkClient(
            settings.networks[0], settings.identity, queue, ids=lambda: next(ids)
        )
        finals: list[object] = []
        done = asyncio.Event()

        def report(event: FilesPublished) -> None:
            queue.put_nowait(event)
            if event.final:
                finals.append(event)
                if len(finals) == meetings:
                    done.set()

        publishing = Publishing(settings, store, report=report, next_id=lambda: next(ids))
        engine = Engine(world, queue, store, {"bench": client}, publishing)
        reactor = IrcReactor(asyncio.get_running_loop())
        reactor.add_handler(client._on_library_event)
        conn: IrcConnection = reactor.new_connection()
        client._prepare(conn)
        conn.buffer = conn.buffer_class()
        conn.handlers = {}
        conn.connected = True
        client._start(conn, asyncio.get_running_loop())
        runner = asyncio.create_task(engine.run())
        # Every wait below ends: with the engine stalled, the round stops with TimeoutError.
        async with asyncio.timeout(ROUND_SECONDS):
            conn.process_data(start)
            while not queue.empty():
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)
            rss_before = _rss_mb()
            cpu = time.process_time()
            for at in range(0, len(talk), READ):
                conn.process_data(talk[at : at + READ])
                while queue.qsize() > BATCH_EVENTS:  # the client pauses reading there
                    await asyncio.sleep(0.001)
            rss_recorded = _rss_mb()
            for line in ends:
                conn.process_data(line)
            await done.wait()
            await publishing.finish()
        used = time.process_time() - cpu
        grown = rss_recorded - rss_before
        print(
            f"resident memory {rss_before:.1f} MB -> {rss_recorded:.1f} MB recorded "
            f"({grown * 10_000 / (meetings * lines):.2f} MB per 10,000 lines)",
            flush=True,
        )
        runner.cancel()
        publishing.close()
        for task in client._tasks:
            task.cancel()
        return used
    finally:
        await store.close()


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/pipeline.py")
    parser.add_argument("--lines", type=int, default=500, help="lines per meeting")
    parser.add_argument("--meetings", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    total = args.lines * args.meetings
    results = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="gavel-pipe-") as place:
            used = asyncio.run(one_round(args.meetings, args.lines, Path(place)))
        results.append(used)
        print(f"{total} lines: CPU {used:.3f} s = {used / total * 1e6:.1f} µs/line", flush=True)
    best, middle = min(results), statistics.median(results)
    print(f"median {middle / total * 1e6:.1f} µs/line, best {best / total * 1e6:.1f} µs/line")


if __name__ == "__main__":
    main()

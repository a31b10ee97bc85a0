"""The web archive under load: `gavel web` as its own process, 50 concurrent clients.

Builds an archive through the real core and store (meetings of 500 lines over ten years in
a number of series; `--scale 1` is OpenStack's 20,000 meetings and 200 series, the default
0.01 is 200 meetings), starts `gavel web` on a free loopback port, and has 50 clients
request home, a series, a 500-line meeting and its log, in turn, for `--seconds`. Prints
requests per second, p50/p99 per page kind and the web process's peak RSS; `--write FILE`
also writes them as Markdown.

Run: `.venv/bin/python -m bench.web [--scale 0.01] [--seconds 10] [--write FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.live import peak_rss_mb, percentile, throughput
from bot.core.effects import Effect
from bot.store import Store
from tests.browser import web_server
from tests.corekit import Room
from tests.ircserver import Ngircd

CLIENTS = 50
LINES = 500
FULL_MEETINGS = 20_000
FULL_SERIES = 200
SPAN = timedelta(days=3652)
WORDS = [
    "the",
    "release",
    "docs",
    "review",
    "gate",
    "patch",
    "branch",
    "tests",
    "spec",
    "plan",
    "owner",
    "cores",
    "ship",
    "merge",
]


def _said(i: int) -> str:
    pick = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8)]
    if i % 50 == 10:
        return f"#action someone to {' '.join(pick[:4])}"
    if i % 50 == 20:
        return f"#info {' '.join(pick)}"
    if i % 100 == 1:
        return f"#topic {' '.join(pick[:3])}"
    return " ".join(pick)


async def build(db: Path, meetings: int, series: int) -> list[int]:
    """`meetings` meetings of LINES lines each, over ten years, in `series` series."""
    start = datetime(2015, 1, 1, 15, tzinfo=UTC)
    step = SPAN / max(1, meetings)
    ids: list[int] = []
    async with await Store.open(db) as store:
        for n in range(meetings):
            room = Room(network="bench", channel=f"#team{n % series}", now=start + step * n)
            effects: list[Effect] = []
            effects += room.say("chair", f"#startmeeting team{n % series}")
            meeting = room.meeting
            assert meeting is not None
            for i in range(LINES - 3):
                effects += room.say(f"p{i % 9}", _said(i), after=0.5)
            effects += room.say("chair", "#endmeeting")
            await store.apply(effects)
            ids.append(meeting.id)
    return ids


def config(work: Path, db: Path) -> Path:
    path = work / "web.toml"
    path.write_text(
        f"""[[networks]]
name = "bench"
host = "127.0.0.1"
channels = ["#team0"]
[output]
dir = "{work / "meetings"}"
[storage]
path = "{db}"
[logging]
level = "warning"
format = "json"
""",
        encoding="utf-8",
    )
    return path


async def cold(base: str, ids: list[int]) -> dict[str, list[float]]:
    """One client, each page requested once (so rendered, not kept): what a page costs."""
    timings: dict[str, list[float]] = {"meeting, first view": [], "its log, first view": []}
    async with aiohttp.ClientSession() as session:
        for meeting_id in ids:
            pages = (f"/meeting/{meeting_id}", f"/meeting/{meeting_id}/log")
            for kind, url in zip(timings, pages, strict=True):
                began = time.perf_counter()
                async with session.get(base + url) as response:
                    await response.read()
                timings[kind].append(time.perf_counter() - began)
    return timings


async def bot_alone_and_beside_the_web(
    work: Path, archive: Path, urls: dict[str, str], rounds: int = 3
) -> tuple[float, float]:
    """The live bot's recording rate (lines/s, as `bench.live` measures it) on a copy of the
    archive: alone, then while `gavel web` serves that database to 50 clients; `rounds`
    times each, alternately, and the medians."""
    alone: list[float] = []
    beside: list[float] = []
    ircd = Ngircd(work / "ngircd")
    ircd.start()
    try:
        for n in range(rounds):
            for run, rates in ((f"alone{n}", alone), (f"beside{n}", beside)):
                data = work / run / "throughput" / "data"
                data.mkdir(parents=True)
                shutil.copy(archive, data / "gavel.sqlite3")
                if rates is alone:
                    rates.append((await throughput(work / run, ircd))[0])
                    continue
                web = web_server(config(work / run, data / "gavel.sqlite3"), work / f"{run}.log")
                with web as (base, _process):
                    busy = asyncio.create_task(load(base, urls, 600))
                    await asyncio.sleep(1)  # the load is on before the bot starts talking
                    rates.append((await throughput(work / run, ircd))[0])
                    busy.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await busy
    finally:
        ircd.stop()
    return statistics.median(alone), statistics.median(beside)


async def load(
    base: str, urls: dict[str, str], seconds: float
) -> tuple[dict[str, list[float]], int, float]:
    timings: dict[str, list[float]] = {kind: [] for kind in urls}
    errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=CLIENTS)

    async def client(number: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        kinds = itertools.cycle(list(urls)[number % len(urls) :] + list(urls)[: number % len(urls)])
        while time.monotonic() < deadline:
            kind = next(kinds)
            began = time.perf_counter()
            async with session.get(base + urls[kind]) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            timings[kind].append(time.perf_counter() - began)

    began = time.monotonic()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(client(n, session) for n in range(CLIENTS)))
    return timings, errors, time.monotonic() - began


def report(
    scale: float,
    meetings: int,
    series: int,
    timings: dict[str, list[float]],
    errors: int,
    elapsed: float,
    rss: float,
    first: dict[str, list[float]],
) -> str:
    total = sum(len(t) for t in timings.values())
    rows = [
        f"| {kind} | {len(t)} | {percentile(t, 50) * 1000:.1f} | {percentile(t, 99) * 1000:.1f} |"
        for kind, t in timings.items()
    ]
    firsts = [
        f"| {kind} | {len(t)} | {percentile(t, 50) * 1000:.1f} | {percentile(t, 99) * 1000:.1f} |"
        for kind, t in first.items()
    ]
    return "\n".join(
        [
            "# The web archive under load",
            "",
            f"`python -m bench.web --scale {scale}`: {meetings} meetings of {LINES} lines in "
            f"{series} series; {CLIENTS} concurrent clients for {elapsed:.0f} s against "
            f"`gavel web` on loopback ({platform.processor() or platform.machine()}, "
            "a shared 2-core machine: the figures move with its load).",
            "",
            f"- requests per second: {total / elapsed:.0f} ({errors} errors)",
            f"- peak RSS of the web process: {rss:.0f} MB",
            "",
            "| page | requests | p50 (ms) | p99 (ms) |",
            "|---|---|---|---|",
            *rows,
            "",
            "Pages are kept for a moment once rendered (a finished meeting's for 30 s, listings",
            "for 2 s), so under load most answers come from memory. What rendering costs, one",
            "client requesting each of a range of meetings once:",
            "",
            "| page | requests | p50 (ms) | p99 (ms) |",
            "|---|---|---|---|",
            *firsts,
            "",
        ]
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--write", type=Path)
    parser.add_argument(
        "--with-bot",
        action="store_true",
        help="also measure the live bot's recording rate alone and beside the loaded web",
    )
    args = parser.parse_args()
    meetings = max(10, round(FULL_MEETINGS * args.scale))
    series = max(5, round(FULL_SERIES * args.scale))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "gavel.sqlite3"
        began = time.monotonic()
        ids = await build(db, meetings, series)
        print(f"archive: {meetings} meetings in {time.monotonic() - began:.1f} s")
        middle = ids[len(ids) // 2]
        urls = {
            "home": "/",
            "series": "/series/bench/team1",
            "meeting (500 lines)": f"/meeting/{middle}",
            "its log": f"/meeting/{middle}/log",
        }
        with web_server(config(work, db), work / "web.log") as (base, process):
            first = await cold(base, ids[1 : 1 + min(100, len(ids) - 2) : 2])
            timings, errors, elapsed = await load(base, urls, args.seconds)
            rss = peak_rss_mb(process.pid)
        text = report(args.scale, meetings, series, timings, errors, elapsed, rss, first)
        if args.with_bot:
            alone, beside = await bot_alone_and_beside_the_web(work, db, urls)
            text += (
                "\nThe live bot's recording rate (`bench.live`'s measure: lines recorded per "
                "second, `rate = 0`; medians of three rounds, alternately), same run:\n\n"
                f"- alone: {alone:,.0f} lines/s\n"
                f"- while `gavel web` serves its database to {CLIENTS} clients: "
                f"{beside:,.0f} lines/s ({(beside - alone) / alone:+.0%})\n"
            )
    print(text)
    if args.write:
        args.write.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())

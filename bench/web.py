"""The web archive under load: `gavel web` as its own process, 50 concurrent clients.

Builds the archive of `bench/archive.py` (MeetBot logs of 500 lines over ten years with a
Zipf-like vocabulary; `--scale 1` is OpenStack's 20,000 meetings in 200 series, the default
0.01 is 200 meetings) and imports it with `gavel import`; starts `gavel web` on a free
loopback port exactly as deployed (at `[web] nice` and `[web] idle`, below the bot), and
has 50 clients (`bench.webload`, a process of their own) request home, a series, a 500-line
meeting, its log and the search mix of `bench/archive.py` (5 kinds of query x 5 filters),
in turn, for `--seconds`; the search pages count only once `gavel web` really searches
(else "not measured"). Prints requests per second, the CPU each request cost the web and
the clients, p50/p99 per page kind and the web process's peak RSS; `--write FILE` also
writes them as Markdown, as the web section of that file (`docs/benchmarks.md`).
`--with-bot` adds the live bot's recording rate alone and beside the loaded web (target:
within 5 %).

Run: `.venv/bin/python -m bench.web [--scale 0.01] [--seconds 10] [--with-bot] [--write FILE]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

import aiohttp

from bench import archive as archive_bench
from bench import sections
from bench.live import SPEAKERS, peak_rss_mb, throughput
from bench.stats import percentile
from bot.settings import WebSettings
from tests.browser import web_server
from tests.ircserver import Ngircd

CLIENTS = 50
# Lines of each round of the bot's measure: seconds of recording, so that the moments the
# load starts and stops, and the bench's own looks at the database, weigh little.
BOT_LINES = 60_000
WEB_NICE = WebSettings().nice  # the web's default niceness, the bench's load runs at it
WEB_IDLE = WebSettings().idle  # and its default policy
# The policy this run gives the web and its clients: the default, or not with `--no-idle`
# (one setting for the whole run, read where the web's configuration and the clients'
# priority are made).
run_idle = [WEB_IDLE]
LINES = archive_bench.LINES


@dataclass(frozen=True)
class Built:
    """The archive benchmark's archive (`bench/archive.py`), imported by `gavel import`."""

    db: Path
    ids: list[int]  # its meetings, oldest first
    series: str  # one series' URL
    searches: list[str]  # the archive benchmark's query mix: 5 kinds of query x 5 filters


def build(work: Path, meetings: int) -> Built:
    """`meetings` MeetBot logs of 500 lines as `bench/archive.py` generates them (ten years,
    a Zipf-like vocabulary, a cast per series), imported as an operator would."""
    tree = work / "logs"
    _, words = archive_bench.generate(tree, meetings)
    names = archive_bench.series_names(min(archive_bench.SERIES, max(1, meetings // 10)))
    command = [sys.executable, "-m", "bot", "import", "--config", str(archive_bench.config(work))]
    subprocess.run([*command, str(tree)], check=True, capture_output=True)
    db = work / "gavel.sqlite3"
    with sqlite3.connect(db) as conn:
        ids = [int(r[0]) for r in conn.execute("SELECT id FROM meetings ORDER BY started_at")]
    mix = archive_bench.queries(words, names, archive_bench.first_nick(tree))
    shutil.rmtree(tree)
    return Built(db, ids, f"/series/oftc/{names[1]}", list(mix.values()))


def config(work: Path, db: Path, nice: int = WEB_NICE) -> Path:
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
[web]
nice = {nice}
idle = {"true" if run_idle[0] else "false"}
[logging]
level = "warning"
format = "json"
""",
        encoding="utf-8",
    )
    return path


async def cold(base: str, ids: list[int], searches: list[str]) -> dict[str, list[float]]:
    """One client, each page requested once (so made, not kept): what a page costs; and
    each search of the mix once, in each order, the same way."""
    timings: dict[str, list[float]] = {"meeting, first view": [], "its log, first view": []}
    async with aiohttp.ClientSession() as session:

        async def timed(kind: str, url: str) -> None:
            began = time.perf_counter()
            async with session.get(base + url) as response:
                await response.read()
            timings.setdefault(kind, []).append(time.perf_counter() - began)

        for meeting_id in ids:
            await timed("meeting, first view", f"/meeting/{meeting_id}")
            await timed("its log, first view", f"/meeting/{meeting_id}/log")
        for query in searches:
            for sort in ("relevance", "new", "old"):
                await timed("search, first run", "/search?q=" + quote_plus(f"{query} sort:{sort}"))
    return timings


async def bot_alone_and_beside_the_web(
    work: Path,
    archive: Path,
    urls: dict[str, list[str]],
    nices: list[int],
    rounds: int,
    lines: int,
) -> dict[int | None, float]:
    """The live bot's recording rate (lines/s, as `bench.live` measures it) on a copy of the
    archive: alone (None), and while `gavel web` at each of `nices` serves that database to
    50 clients; `rounds` times each, in turn, and the medians."""
    rates: dict[int | None, list[float]] = {None: [], **{nice: [] for nice in nices}}
    ircd = Ngircd(work / "ngircd")
    ircd.start()
    try:
        for n in range(rounds):
            for nice in rates:
                run = work / (f"alone{n}" if nice is None else f"beside{n}-{nice}")
                try:
                    rates[nice].append(await _one_round(run, archive, urls, nice, ircd, lines))
                finally:  # each round's copy of the archive goes: 22 of them would fill a disk
                    shutil.rmtree(run, ignore_errors=True)
    finally:
        ircd.stop()
    return {nice: statistics.median(found) for nice, found in rates.items()}


async def _one_round(
    run: Path, archive: Path, urls: dict[str, list[str]], nice: int | None, ircd: Ngircd, lines: int
) -> float:
    """The bot's rate on a fresh copy of the archive, alone (`nice` None) or beside the web."""
    data = run / "throughput" / "data"
    data.mkdir(parents=True)
    shutil.copy(archive, data / "gavel.sqlite3")
    # The copy's pages on their way to the disk would slow the bot's first syncs (ext4
    # writes them out with its journal): written out before each round.
    os.sync()
    if nice is None:
        return await _recorded(run, ircd, lines)
    with web_server(config(run, data / "gavel.sqlite3", nice), run / "web.log") as (base, _):
        async with load_process(base, urls, 600, nice):
            await asyncio.sleep(1)  # the load is on before the bot starts talking
            return await _recorded(run, ircd, lines)


async def _recorded(run: Path, ircd: Ngircd, lines: int) -> float:
    rate, count = await throughput(run, ircd, lines)
    if count < lines // SPEAKERS * SPEAKERS:  # a round cut short (a talker dropped) is no rate
        raise RuntimeError(f"the bot recorded {count} of {lines} lines in {run.name}")
    return rate


SEARCH_PAGES = {"search": "/search?q=", "search (API)": "/api/v1/search?q="}


async def searchable(base: str, searches: list[str]) -> dict[str, list[str]]:
    """The search kinds `gavel web` really answers: a route counts only when what it gives
    for a word of every meeting differs from what it gives for a word of none (beyond the
    query itself), so a placeholder page is "not measured" rather than a fast number."""
    found: dict[str, list[str]] = {}
    async with aiohttp.ClientSession() as session:
        for kind, prefix in SEARCH_PAGES.items():
            bodies = []
            for word in ("patch", "qzxwv"):  # the same length: only the results differ
                async with session.get(base + prefix + word) as response:
                    text = await response.text()
                    bodies.append((response.status, text.replace(word, "")))
            if bodies[0][0] == 200 and bodies[0] != bodies[1]:
                found[kind] = [prefix + quote_plus(q) for q in searches]
    return found


@contextlib.asynccontextmanager
async def load_process(
    base: str, urls: dict[str, list[str]], seconds: float, nice: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`bench.webload` as its own process, at the web's niceness (it stands for the
    visitors, whose machines are elsewhere); stopped, by its pid, when the block ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.webload",
        base,
        str(seconds),
        str(CLIENTS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=lambda: as_the_web(nice),
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(urls).encode())
    process.stdin.close()
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


HOW = """
How it is measured, and why the web is set up as it is:

- The clients are closed-loop: 50 clients waiting on one answer each see a mean of
  50 / (requests per second), so p50 and p99 follow the CPU the web and its clients get;
  on a machine busy with other work they rise with its load.
- Answers are kept for a moment once made, gzip-compressed too: a finished meeting's for
  30 s, listings and searches for 2 s, and given for 2 s more while one request makes the
  next, so readers of a popular page never wait for it. Under load most answers come from
  memory; the "first view" and "first run" rows say what making them costs (a search runs
  on one of the web's read-only connections, each with its thread).
- The web runs under Linux's SCHED_IDLE policy (`[web] idle`, default true) as well as at
  `[web] nice`: at niceness 10 alone the bot lost 11 to 15 % of its recording rate beside
  a loaded web on this 2-core machine, since the searches keep several of the web's
  threads busy at once and each still takes its share of a CPU.
- The bot's rounds alternate alone / beside, on fresh copies of the archive, each copy
  synced to disk first: ext4 writes a fresh copy's pages out with the bot's first syncs,
  which had made whichever round came first look slow.
"""


def as_the_web(nice: int) -> None:
    """The clients' priority: the web's as deployed (its niceness and, by default, Linux's
    SCHED_IDLE policy): they stand for visitors on machines of their own."""
    os.nice(max(0, nice - os.nice(0)))
    if run_idle[0] and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


@dataclass
class Load:
    timings: dict[str, list[float]]
    errors: int
    elapsed: float
    web_cpu: float  # CPU seconds the web spent meanwhile
    client_cpu: float  # and the clients

    @property
    def requests(self) -> int:
        return sum(len(t) for t in self.timings.values())


def cpu_seconds(pid: int) -> float:
    """A process's user and system CPU time so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(base: str, urls: dict[str, list[str]], seconds: float, nice: int, web: int) -> Load:
    before = cpu_seconds(web)
    async with load_process(base, urls, seconds, nice) as process:
        out, _ = await process.communicate()
    result = json.loads(out)
    web_cpu = cpu_seconds(web) - before
    return Load(result["timings"], result["errors"], result["elapsed"], web_cpu, result["cpu"])


def niceness(pid: int) -> int:
    """A process's niceness, from /proc (field 19 of its stat line)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[16])


def report(
    meetings: int,
    series: int,
    done: Load,
    rss: float,
    first: dict[str, list[float]],
    nice: int,
    idle: bool,
) -> str:
    timings, errors, elapsed, total = done.timings, done.errors, done.elapsed, done.requests
    rows = [
        f"| {kind} | {len(t)} | {percentile(t, 50) * 1000:.1f} | {percentile(t, 99) * 1000:.1f} |"
        for kind, t in timings.items()
    ]
    rows += [
        f"| {kind} | not measured: `gavel web` has no search yet | | |"
        for kind in SEARCH_PAGES
        if kind not in timings
    ]
    pages = [t for kind, t in timings.items() if kind not in SEARCH_PAGES]
    searches = [t for kind, t in timings.items() if kind in SEARCH_PAGES]
    summary = [
        f"- page p99 (home, series, meeting, log together): "
        f"{percentile([x for t in pages for x in t], 99) * 1000:.1f} ms [target <= 20]"
    ]
    if searches:
        summary.append(
            f"- search p99 (both search routes together): "
            f"{percentile([x for t in searches for x in t], 99) * 1000:.1f} ms [target <= 60]"
        )
    policy = f"niceness {nice}" + (" under Linux's SCHED_IDLE policy" if idle else "")
    as_deployed = (nice, idle) == (WEB_NICE, WEB_IDLE)
    deployed = " as deployed (`[web] nice`, `[web] idle`)" if as_deployed else ""
    firsts = [
        f"| {kind} | {len(t)} | {percentile(t, 50) * 1000:.1f} | {percentile(t, 99) * 1000:.1f} |"
        for kind, t in first.items()
    ]
    return "\n".join(
        [
            f"`python -m bench.web {' '.join(sys.argv[1:])}` ({datetime.now(UTC):%Y-%m-%d}, "
            f"{os.cpu_count()} cores, {platform.machine()}, load average "
            f"{os.getloadavg()[0]:.1f} at the end): {meetings:,} meetings of {LINES} lines in "
            f"{series} series, generated as by `bench/archive.py` and imported by "
            f"`gavel import`; {CLIENTS} concurrent clients for {elapsed:.0f} s against "
            f"`gavel web` on loopback. The web runs at {policy}"
            f"{deployed}; "
            "the clients are a separate "
            "process (`bench.webload`: raw asyncio protocol callbacks, one kept-alive connection "
            "each, asking for gzip as browsers do) at the same priority, standing for visitors "
            "elsewhere. They ask in turn for home, a series, a 500-line meeting, its log and "
            "the search mix of the archive benchmark (a rare word, a common one, two words, a "
            "phrase, a prefix; each alone, with `from:`, `series:`, dates, `kind:action`; the "
            "page and the API).",
            "",
            *summary,
            f"- requests per second: {total / elapsed:.0f} ({errors} errors)",
            f"- CPU per request: {done.web_cpu / total * 1e6:.0f} µs in the web, "
            f"{done.client_cpu / total * 1e6:.0f} µs in the clients",
            f"- peak RSS of the web process: {rss:.0f} MB",
            "",
            "| page | requests | p50 (ms) | p99 (ms) |",
            "|---|---|---|---|",
            *rows,
            "",
            "Pages are kept for a moment once made (a finished meeting's for 30 s, listings and",
            "searches for 2 s, and given for 2 s more while the next is made), so under load",
            "most answers come from memory. What making them costs, one client requesting each",
            "of a range of meetings once, and each search of the mix once in each order:",
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
        "--nice",
        type=int,
        default=WEB_NICE,
        help=f"the web's (and the clients') niceness (default {WEB_NICE}, as deployed)",
    )
    parser.add_argument(
        "--with-bot",
        action="store_true",
        help="also measure the live bot's recording rate alone and beside the loaded web",
    )
    parser.add_argument(
        "--no-idle",
        action="store_true",
        help="run the web (and its clients) without Linux's SCHED_IDLE policy ([web] idle)",
    )
    parser.add_argument("--rounds", type=int, default=7, help="of the bot's measure, each way")
    parser.add_argument(
        "--bot-lines",
        type=int,
        default=BOT_LINES,
        help=f"lines the bot records in each round (default {BOT_LINES:,}: a few seconds)",
    )
    parser.add_argument(
        "--also-nice",
        type=int,
        action="append",
        default=[],
        help="with --with-bot: also the bot beside the web at this niceness (e.g. 0)",
    )
    args = parser.parse_args()
    run_idle[0] = WEB_IDLE and not args.no_idle
    meetings = max(10, round(archive_bench.MEETINGS * args.scale))
    series = min(archive_bench.SERIES, max(1, meetings // 10))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        began = time.monotonic()
        built = build(work, meetings)
        db, ids = built.db, built.ids
        print(f"archive: {meetings} meetings in {time.monotonic() - began:.1f} s", flush=True)
        middle = ids[len(ids) // 2]
        urls = {
            "home": ["/"],
            "series": [built.series],
            "meeting (500 lines)": [f"/meeting/{middle}"],
            "its log": [f"/meeting/{middle}/log"],
        }
        with web_server(config(work, db, args.nice), work / "web.log") as (base, process):
            urls |= await searchable(base, built.searches)
            first = await cold(base, ids[1 : 1 + min(100, len(ids) - 2) : 2], built.searches)
            done = await load(base, urls, args.seconds, args.nice, process.pid)
            rss = peak_rss_mb(process.pid)
            nice = niceness(process.pid)
            idle = hasattr(os, "SCHED_IDLE") and os.sched_getscheduler(process.pid) == os.SCHED_IDLE
        text = report(meetings, series, done, rss, first, nice, idle)
        if args.with_bot:
            nices = [args.nice, *(n for n in args.also_nice if n != args.nice)]
            found = await bot_alone_and_beside_the_web(
                work, db, urls, nices, args.rounds, args.bot_lines
            )
            alone = found[None]
            text += (
                "\nThe live bot's recording rate (`bench.live`'s measure: lines recorded per "
                f"second, `rate = 0`; {args.bot_lines:,} lines a round; medians of {args.rounds} "
                "rounds, in turn), same run:\n\n"
                f"- alone: {alone:,.0f} lines/s\n"
            )
            for nice in nices:
                change = (found[nice] - alone) / alone
                text += (
                    f"- while `gavel web` at niceness {nice}{' (SCHED_IDLE)' if idle else ''} "
                    f"serves its database to {CLIENTS} "
                    f"clients: {found[nice]:,.0f} lines/s ({change:+.1%}) [target: within 5 %]\n"
                )
    text += HOW
    print(text)
    if args.write:
        sections.write_section(args.write, sections.WEB, text)


if __name__ == "__main__":
    asyncio.run(main())

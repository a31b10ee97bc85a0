"""`python -m bench.compare`: Gavel against hcoop-meetbot, side by side, in one run.

Runs the five scenarios of `scenarios` for both bots, alternating which goes first, each
on a fresh InspIRCd and a fresh bot process; the idle scenario also for the floor reference
bot and the throughput scenarios for the ceiling one (`reference.py`). With `--runs N` all
of it N times, and every figure reported is the median of the N runs (each run's own values
are shown beside it). Then it writes the Markdown report (and the PNG chart beside it), and
the raw figures of every run as JSON next to it. `make bench` runs it; it expects
`bench/.venv` with limnoria, hcoop-meetbot, matplotlib and Gavel's own runtime
dependencies, and `/usr/sbin/inspircd`.

    python -m bench.compare --write docs/benchmarks.md [--runs 3] [--only idle,big] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.compare import ircd, report, scenarios
from bench.compare.bots import (
    REFERENCE_CEILING,
    REFERENCE_FLOOR,
    ROOT,
    gavel_imports_mb,
    gavel_version,
    peer_versions,
)
from bench.compare.scenarios import Figures, MakeBot
from bench.sections import with_sections_of

SCENARIO_SECONDS = 300.0  # one bot in one scenario; the whole run stays under 15 minutes
COMMAND = "make bench"

Scenario = Callable[[Path, MakeBot], Awaitable[Figures]]
UNTHROTTLED = ("Gavel", "hcoop-meetbot (throttle 0)")
DEFAULTS = ("Gavel (default bucket)", "hcoop-meetbot (default throttle)")


FLOOR = (REFERENCE_FLOOR, scenarios.reference(fsync=True))
CEILING = (REFERENCE_CEILING, scenarios.reference(fsync=False))
Plan = list[tuple[str, str, Scenario, bool, tuple[tuple[str, MakeBot], ...]]]


def plan() -> Plan:
    """(short name, report section, scenario, default flood settings?, reference bots) in
    running order."""
    runs: Plan = [("idle", "1. Idle", scenarios.idle, False, (FLOOR,))]
    for n in (1, 10, 50):
        title = f"2. Throughput, {n} meeting{'s' if n > 1 else ''}"

        async def tp(workdir: Path, make: MakeBot, n: int = n) -> Figures:
            return await scenarios.throughput(workdir, make, n)

        runs.append((f"tp{n}", title, tp, False, (CEILING,)))
    runs += [
        ("big", "3. One 20,000-line meeting", scenarios.big_meeting, False, (CEILING,)),
        ("scale", "4. Scale", scenarios.scale, False, ()),
        ("flood", "5. Default flood settings, 10 meetings", scenarios.flood, True, ()),
    ]
    return runs


async def run_all(
    workdir: Path, only: set[str], run: int = 0, which: tuple[str, ...] = ()
) -> tuple[report.Results, list[str]]:
    results: report.Results = {}
    problems: list[str] = []
    for index, (name, _title, scenario, defaults, references) in enumerate(plan()):
        if only and name not in only:
            continue
        bots: list[tuple[str, MakeBot]] = [
            (DEFAULTS[0] if defaults else UNTHROTTLED[0], scenarios.gavel(defaults)),
            (DEFAULTS[1] if defaults else UNTHROTTLED[1], scenarios.peer(defaults)),
            *references,
        ]
        if (index + run) % 2:
            bots.reverse()  # alternate who goes first, so drift favours neither
        for label, make in bots:
            if which and not label.startswith(which):
                continue
            started = time.monotonic()
            print(f"[{name}] {label} ...", flush=True)
            try:
                async with asyncio.timeout(SCENARIO_SECONDS):
                    place = workdir / f"run{run}" / f"{name}-{label.split()[0]}"
                    figures = await scenario(place, make)
            except Exception as exc:
                problems.append(f"{name} / {label}: {type(exc).__name__}: {exc}")
                traceback.print_exc()
                continue
            results.setdefault(label, {}).update(figures)
            shown = ", ".join(f"{k}={v:.4g}" for k, v in figures.items())
            print(f"[{name}] {label}: {time.monotonic() - started:.1f} s: {shown}", flush=True)
    derive(results)
    return results, problems


def derive(results: report.Results) -> None:
    """Gavel against the references of the same run: its idle replies' excess over the
    floor (ms), its rates as a percentage of the ceiling's."""
    gavel = results.get(UNTHROTTLED[0], {})
    floor = results.get(REFERENCE_FLOOR, {})
    ceiling = results.get(REFERENCE_CEILING, {})
    for key in report.FLOOR_KEYS:
        if key in gavel and key in floor:
            gavel[key + ".over_floor"] = gavel[key] - floor[key]
    for key in report.CEILING_KEYS:
        if key in gavel and ceiling.get(key, 0.0) > 0:
            gavel[key + ".of_ceiling"] = 100.0 * gavel[key] / ceiling[key]


def medians(runs: list[report.Results]) -> tuple[report.Results, report.Spread]:
    """Each figure's median over the runs that measured it, and every run's value."""
    spread: report.Spread = {}
    for results in runs:
        for label, figures in results.items():
            for key, value in figures.items():
                spread.setdefault(label, {}).setdefault(key, []).append(value)
    middle = {
        label: {key: statistics.median(values) for key, values in figures.items()}
        for label, figures in spread.items()
    }
    return middle, spread


def fsync_latency(directory: Path, count: int = 200) -> tuple[float, float]:
    """p50 and p99 of fsync after a 4 KiB write, in ms, on the disk the bots write to."""
    fd, name = tempfile.mkstemp(dir=directory)
    samples = []
    try:
        for _ in range(count):
            os.write(fd, b"x" * 4096)
            start = time.perf_counter()
            os.fsync(fd)
            samples.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        os.unlink(name)
    return _p50_p99_ms(samples)


def _p50_p99_ms(samples: list[float]) -> tuple[float, float]:
    return (
        scenarios.ms(scenarios.percentile(samples, 50)),
        scenarios.ms(scenarios.percentile(samples, 99)),
    )


def create_latency(directory: Path, count: int = 200) -> tuple[float, float]:
    """p50 and p99 of creating an empty file, in ms, in a new directory beside the bots'.

    Every file a bot publishes is a new one (written under a temporary name, renamed into
    place). On ext4 without a journal, as here, making a file steps over each inode of its
    group freed in the last minutes, so what it costs depends on how many files were
    deleted nearby just before, by anything on the machine."""
    place = Path(tempfile.mkdtemp(dir=directory))
    samples = []
    try:
        for n in range(count):
            start = time.perf_counter()
            os.close(os.open(place / f"f{n}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            samples.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(place, ignore_errors=True)
    return _p50_p99_ms(samples)


def machine(workdir: Path, load_before: str, load_after: str | None = None) -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        memory_kb = 0
    fs = "unknown"
    try:
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mount, kind, *_ = line.split()
            if str(workdir).startswith(mount) and len(mount) > len(best):
                best, fs = mount, kind
    except OSError:
        pass
    p50, p99 = fsync_latency(workdir)
    made50, made99 = create_latency(workdir)
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {memory_kb / 2**20:.0f} GiB",
        f"- OS: {platform.platform()}",
        f"- Disk the bots write to: {fs}; fsync after a 4 KiB write p50 {p50:.2f} ms, "
        f"p99 {p99:.2f} ms; creating an empty file there after the runs p50 {made50:.2f} ms, "
        f"p99 {made99:.2f} ms (each meeting's files are new files)",
        f"- Load average (1, 5, 15 min) when the run began: {load_before}; when it ended: "
        f"{load_after or load_average()}. Anything else running shares the two cores with the "
        "bots, the "
        "server and the driver",
    ]


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def versions() -> list[str]:
    peer = peer_versions()
    return [
        f"- Gavel {gavel_version()} (this working tree), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}",
        f"- Gavel's resident memory with every library it may need imported (the bot's own, "
        f"and Jinja2, aiohttp and aiosmtplib for static indexes and announcements) and "
        f"nothing done: {gavel_imports_mb():.1f} MB",
        f"- hcoop-meetbot {peer.get('hcoop-meetbot', '?')} on Limnoria "
        f"{peer.get('limnoria', '?')} (from PyPI, in `bench/.venv`)",
        f"- IRC server: {ircd.version()} (Debian package), flood limits lifted",
        f"- matplotlib {peer.get('matplotlib', '?')}",
    ]


METHOD = """\
## How it is measured

Everything is measured from outside the bots, by `bench/compare` (`python -m bench.compare`):

- **Server.** A fresh InspIRCd (Debian's package) per bot and scenario, on 127.0.0.1, with
  every flood limit lifted (`commandrate`, `threshold`, `fakelag="no"`, 512 MB send and
  receive queues), so it relays lines as fast as it reads them and never disconnects a
  client. It offers server-time, echo-message, message-tags, batch and msgid, as real
  networks do; each bot uses what it asks for. (ngircd cannot lift its penalties.)
- **Bots.** Each bot is a separate process started by the driver. Gavel: `python -m bot run`
  with a generated TOML file (`rate = 0`, or no `rate` for its default bucket), from
  `bench/.venv` where `make bench` installs it with its runtime dependencies only.
  hcoop-meetbot: Limnoria (`supybot`) with a generated registry file that loads the
  HcoopMeetbot plugin with its defaults; only `logDir` is set (its default is the home
  directory). `supybot.protocols.irc.throttleTime` is 0 for the unthrottled runs and left
  at Limnoria's default (1.0 s) for scenario 5. Both run with their modules' bytecode
  cached, as installed programs do (pip compiled the peer's; the driver compiles Gavel's
  working tree before the first start).
- **Speakers.** Plain IRC connections from the driver (`bench/compare/client.py`). Lines are
  written as fast as the socket takes them; a reply's latency runs from handing the command
  to the socket to reading the bot's answer. InspIRCd uses Nagle's algorithm, so the
  speakers acknowledge every read at once (`TCP_QUICKACK`): otherwise the kernel's delayed
  ACKs would hold the bot's answers up to 40 ms on their way to the observer, for both
  bots. Lines per second count the meeting lines sent
  (500 per meeting, probes included) over the time until the last meeting's files exist;
  `#endmeeting` is sent once every probe of the meeting has been answered, so every line is
  in the meeting. When a meeting's files existed is read from the files (the newest
  status-change time among them: a file's changes when it is written and when it is
  renamed into place), so it does not depend on how often the driver looks; it looks 500
  times a second in all, shared by the meetings still waiting (50 meetings each looking
  every 2 ms kept one of the two cores busy in the driver). CPU is the bot process's
  user + system time (all threads) over the measured part, memory its `VmRSS`/`VmHWM`
  from `/proc`. The 20,000-line meeting is said in two halves, each answered whole before
  the next begins, and the memory read between them: a bot's first burst of lines raises
  its memory once (what it holds while it catches up, which later bursts use again), so
  what each recorded line adds is read over the second half.
- **Probes** are `#chair <a speaker of the meeting>`: both bots answer with `Current chairs`.
  Gavel lets each person trigger at most ten replies to state changes a minute
  (`bot/core/limits.py`), so probes rotate over the three speakers of each meeting and every
  nick speaks in one meeting of one run only: no probe reply is ever held back by that
  allowance (a missing reply would show as a timeout). Replies in a channel come in the
  order the bot handled the probes, so the k-th probe is matched with the k-th answer.
- **Durability, checked from outside.** Gavel replies only after the batch holding the
  command is committed (`synchronous = FULL`, WAL). As each probe answer is read, the driver
  reads Gavel's database (read-only, as another process) and checks that at least as many
  of the meeting's lines are committed as must precede that answer; and that each
  `#startmeeting` answer finds its meeting committed. hcoop-meetbot keeps meetings in
  memory and writes nothing until `#endmeeting`.
"""


def document(
    runs: list[report.Results],
    problems: list[str],
    started: datetime,
    seconds: float,
    workdir: Path,
    load_before: str,
    load_after: str | None = None,
    invocations: tuple[int, ...] = (),
) -> str:
    """The Markdown report. `invocations`: how many runs each invocation made, when the
    runs come from several (`--from-json`)."""
    results, spread = medians(runs)
    pairs = {title: (DEFAULTS if defaults else UNTHROTTLED) for _, title, _, defaults, _ in plan()}
    rows = report.rows(results, pairs)
    machine_rows = report.machine_rows(results)
    gavel = spread.get(UNTHROTTLED[0], {})

    def total(key: str) -> float:
        return sum(gavel.get(key, []))

    checks = []
    for n in (1, 10, 50):
        if f"tp{n}.durable_checked" in gavel:
            checks.append(
                f"{n} meeting{'s' if n > 1 else ''}: {total(f'tp{n}.durable_checked'):.0f} "
                f"answers checked, {total(f'tp{n}.durable_violations'):.0f} found a line "
                f"missing; people's lines stored per run "
                + " / ".join(f"{v:,.0f}" for v in gavel[f"tp{n}.lines_stored"])
                + f" (= {n} × 503: 500 lines, `#startmeeting`, `#chair`, `#endmeeting`)"
            )
    if "idle.durable" in gavel:
        checks.append(
            f"idle: {total('idle.durable'):.0f} of {total('idle.samples'):.0f} "
            "`#startmeeting` answers found their meeting committed"
        )
    every = [*rows, *machine_rows]
    missed = [r for r in every if r.met is False]
    met = [r for r in every if r.met is True]
    count = len(runs)
    what = "run" if count == 1 else f"{count} runs"
    parts = [
        "# Benchmarks: Gavel and hcoop-meetbot, side by side",
        "",
        f"Regenerated by `{COMMAND}` on {started:%Y-%m-%d %H:%M} UTC; {what} took "
        f"{seconds / 60:.1f} minutes"
        + (
            f", in {len(invocations)} invocations one after another "
            f"({' + '.join(map(str, invocations))} runs)"
            if len(invocations) > 1
            else ""
        )
        + ". The bots ran alternately in the same invocation, "
        "on the same machine, against the same server build, driven by the same code."
        + (
            f" Every figure is the median of the {count} runs; the last column of each table "
            "gives Gavel's value in each run, in order."
            if count > 1
            else ""
        ),
        "",
        "## Machine and versions",
        "",
        *machine(workdir, load_before, load_after),
        *versions(),
        "",
        command_line(count, invocations),
        "",
        METHOD,
        "## Results",
        "",
        "![Throughput and probe latency against the number of meetings](benchmarks.png)",
        report.table(rows, pairs, spread if count > 1 else None),
        "",
        "### Against what the machine allows",
        "",
        report.MACHINE_INTRO,
        "",
        report.machine_table(machine_rows, spread if count > 1 else None),
        "",
        "## Targets",
        "",
        f"{len(met)} of {len(met) + len(missed)} targets met"
        + (" (medians)." if count > 1 else " in this run.")
        + (
            " Missed: " + "; ".join(f"{r.section}: {r.figure.label}" for r in missed) + "."
            if missed
            else ""
        ),
        "",
        "Durability checks on Gavel" + (f", all {count} runs:" if count > 1 else " in this run:"),
        "",
        *[f"- {c}" for c in checks],
        "",
    ]
    if problems:
        parts += ["## Problems in this run", "", *[f"- {p}" for p in problems], ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("--write", type=Path, help="write the Markdown report here")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--runs", type=int, default=1, help="run everything this many times")
    parser.add_argument(
        "--bots", default="", help="comma-separated label prefixes (Gavel,hcoop,reference)"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        help="make the report from the raw figures of earlier invocations instead of running",
    )
    parser.add_argument(
        "--first-run",
        type=int,
        default=0,
        help="number the runs from here (who goes first alternates with the run's number)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    args = parser.parse_args(argv)
    if args.from_json:
        return from_json(args.from_json, args.write)
    if not Path(ircd.INSPIRCD).exists():
        print("bench: /usr/sbin/inspircd is missing (apt-get install inspircd)", file=sys.stderr)
        return 2
    only = {name for name in args.only.split(",") if name}
    # The working tree is not installed: compile it as an install would, so no bot start
    # compiles (the peer's packages were compiled by pip).
    compileall.compile_dir(ROOT / "bot", quiet=1)
    started, clock, load_before = datetime.now(UTC), time.monotonic(), load_average()
    workdir = Path(tempfile.mkdtemp(prefix="gavel-bench-"))
    runs: list[report.Results] = []
    problems: list[str] = []
    try:
        for run in range(args.runs):
            print(f"bench: run {run + 1} of {args.runs}", flush=True)
            which = tuple(b for b in args.bots.split(",") if b)
            numbered = args.first_run + run
            results, trouble = asyncio.run(run_all(workdir, only, numbered, which))
            runs.append(results)
            problems += [f"run {run + 1}: {p}" for p in trouble]
        seconds = time.monotonic() - clock
        text = document(runs, problems, started, seconds, workdir, load_before)
        if args.write:
            meta = {
                "started": started.isoformat(),
                "seconds": seconds,
                "load_before": load_before,
                "load_after": load_average(),
            }
            write(args.write, text, runs, meta)
        else:
            print(text)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"bench: {(time.monotonic() - clock) / 60:.1f} minutes")
    return 1 if problems else 0


def write(path: Path, text: str, runs: list[report.Results], meta: dict[str, object]) -> None:
    """The report, its chart (medians) and the raw figures of every run beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    results, _ = medians(runs)
    if any(f"tp{n}.rate" in results.get(UNTHROTTLED[0], {}) for n in (1, 10, 50)):
        report.chart(results, UNTHROTTLED[0], UNTHROTTLED[1], path.with_suffix(".png"))
    path.write_text(with_sections_of(path, text), encoding="utf-8")
    raw = path.with_suffix(".json")
    raw.write_text(json.dumps({**meta, "runs": runs}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}, {path.with_suffix('.png')} and {raw}")


def command_line(count: int, invocations: tuple[int, ...]) -> str:
    module = "bench/.venv/bin/python -m bench.compare"
    if len(invocations) < 2:
        return (
            f"Command: `{COMMAND}` (that is, `{module} --runs {count} --write docs/benchmarks.md`)."
        )
    first, *more = invocations
    parts = [f"`{COMMAND}` ({first} runs)"]
    done = first
    for n in more:
        parts.append(f"`{module} --runs {n} --first-run {done} --write RUNS.md`")
        done += n
    return (
        "Commands: "
        + ", then ".join(parts)
        + "; then `--from-json` over the JSON files they wrote made this report from all "
        f"{count} runs."
    )


def from_json(paths: list[Path], target: Path | None) -> int:
    """The report from the runs saved by earlier invocations (each `--write` saves its
    runs as JSON beside the report), their medians taken together."""
    runs: list[report.Results] = []
    seconds = 0.0
    saved_all = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    for saved in saved_all:
        runs += saved["runs"]
        seconds += float(saved.get("seconds", 0.0))
    first, last = saved_all[0], saved_all[-1]
    started = datetime.fromisoformat(first["started"])
    loads = (first.get("load_before", "unknown"), last.get("load_after", "unknown"))
    workdir = Path(tempfile.mkdtemp(prefix="gavel-bench-"))
    invocations = tuple(len(saved["runs"]) for saved in saved_all)
    try:
        text = document(runs, [], started, seconds, workdir, *loads, invocations=invocations)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if target is None:
        print(text)
    else:
        meta = {
            "started": started.isoformat(),
            "seconds": seconds,
            "load_before": loads[0],
            "load_after": loads[1],
        }
        write(target, text, runs, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

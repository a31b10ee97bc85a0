"""docs/benchmarks.md and its chart, from the figures one run measured.

Every row names a figure, gives Gavel's value, the peer's, and how many times better
Gavel is (the peer's value over Gavel's for times and memory, Gavel's over the peer's for
rates; below 1 means Gavel is worse). Where a target is set for Gavel, the row
says whether this run met it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Results = dict[str, dict[str, float]]  # bot label -> figure name -> value
Spread = dict[str, dict[str, list[float]]]  # bot label -> figure name -> each run's value


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    unit: str
    higher_is_better: bool = False
    digits: int = 1
    # Gavel's target: (text, test on (gavel, peer)).
    target: tuple[str, Callable[[float, float], bool]] | None = None


def _at_most(limit: float) -> tuple[str, Callable[[float, float], bool]]:
    return f"≤ {limit:g}", lambda g, _p: g <= limit


def _times_rate(factor: float) -> tuple[str, Callable[[float, float], bool]]:
    return f"≥ {factor:g}× peer", lambda g, p: p > 0 and g >= factor * p


def _times_faster(factor: float) -> tuple[str, Callable[[float, float], bool]]:
    return f"≥ {factor:g}× faster", lambda g, p: g > 0 and p / g >= factor


SECTIONS: list[tuple[str, str, list[Figure]]] = [
    (
        "1. Idle",
        "`#startmeeting`, `#chair`, `#endmeeting`, one at a time, 0.1 s apart, 100 samples "
        "each, over 50 channels (unthrottled).",
        [
            Figure("idle.start.p50", "`#startmeeting` reply p50", "ms", digits=2),
            Figure("idle.start.p99", "`#startmeeting` reply p99", "ms", digits=2),
            Figure("idle.chair.p50", "`#chair` reply p50", "ms", digits=2),
            Figure("idle.chair.p99", "`#chair` reply p99", "ms", digits=2),
            Figure("idle.end.p50", "`#endmeeting` reply p50 (a 3-line meeting)", "ms", digits=2),
            Figure("idle.rss", "resident memory after the 100 meetings", "MB"),
        ],
    ),
    *[
        (
            f"2. Throughput, {n} meeting{'s' if n > 1 else ''}",
            f"{n} × 3 speakers, 500 lines per meeting as fast as the server takes them, a "
            "`#chair` probe every 50 lines (unthrottled).",
            [
                Figure(
                    f"tp{n}.rate",
                    "lines per second, until the last meeting's files exist",
                    "lines/s",
                    higher_is_better=True,
                    digits=0,
                    target=_times_rate(12) if n > 1 else None,
                ),
                Figure(f"tp{n}.probe.p50", "probe reply p50", "ms"),
                Figure(f"tp{n}.probe.p99", "probe reply p99", "ms"),
                Figure(f"tp{n}.cpu", "bot CPU (user + system)", "s", digits=2),
                Figure(
                    f"tp{n}.peak_rss",
                    "peak resident memory",
                    "MB",
                    target=_at_most(40) if n == 50 else None,
                ),
            ],
        )
        for n in (1, 10, 50)
    ],
    (
        "3. One 20,000-line meeting",
        "3 speakers, 20,000 lines as fast as the server takes them, then `#endmeeting` "
        "(unthrottled).",
        [
            Figure("big.ingest_rate", "lines per second while recording", "lines/s", True, 0),
            Figure("big.end_reply", "`#endmeeting` to its reply", "s", digits=3),
            Figure(
                "big.end_files",
                "`#endmeeting` to all files on disk",
                "s",
                digits=3,
                target=_times_faster(20),
            ),
            Figure("big.rss_before", "resident memory, meeting set up", "MB"),
            Figure("big.rss_half", "resident memory, 10,000 lines recorded", "MB"),
            Figure("big.rss_ingested", "resident memory, 20,000 lines recorded", "MB"),
            Figure(
                "big.growth_first_10k",
                "resident memory grown over the first 10,000 lines (the first burst's too)",
                "MB",
                digits=2,
            ),
            Figure(
                "big.growth_per_10k",
                "resident memory grown per 10,000 recorded lines (from 10,000 to 20,000)",
                "MB",
                digits=2,
                target=_at_most(2),
            ),
            Figure("big.peak_ingesting", "peak resident memory while recording", "MB"),
            Figure("big.peak_rss", "peak resident memory", "MB", target=_at_most(40)),
        ],
    ),
    (
        "4. Scale",
        "500 channels joined, 50 meetings running with 3 speakers each, 500 lines/s in "
        "total, a `#chair` probe every 25 lines (unthrottled).",
        [
            Figure("scale.join_seconds", "start to sitting in all 500 channels", "s", digits=2),
            Figure("scale.rss_joined", "resident memory, 500 channels joined", "MB"),
            Figure("scale.rss", "resident memory, 50 meetings running", "MB"),
            Figure("scale.peak_rss", "peak resident memory", "MB"),
            Figure("scale.start.p99", "`#startmeeting` reply p99 (50 at once)", "ms"),
            Figure("scale.probe.p50", "probe reply p50", "ms", digits=2),
            Figure("scale.probe.p99", "probe reply p99", "ms", digits=2),
            Figure("scale.cpu", "bot CPU over the 10 s of traffic", "s", digits=2),
        ],
    ),
    (
        "5. Default flood settings, 10 meetings",
        "Gavel's default bucket (4 lines, then 1 line/s) against Limnoria's default "
        "throttle (1 line/s). One channel asks for 10 replies at once; at the same moment "
        "each of the 9 others asks for one. 2 rounds. Both send the same 19 lines at the "
        "same pace; the order differs: Gavel takes channels in turn, so a quiet channel's "
        "answer does not wait behind the busy channel's ten, and the busy channel, which "
        "asked for most, finishes last.",
        [
            Figure("flood.quiet.p50", "reply wait in the 9 quiet channels, p50", "ms", digits=0),
            Figure("flood.quiet.p99", "reply wait in the 9 quiet channels, p99", "ms", digits=0),
            Figure("flood.busy.clear", "busy channel's 10 replies all out", "ms", digits=0),
        ],
    ),
]


def _format(value: float | None, digits: int) -> str:
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "timeout"
    return f"{value:,.{digits}f}"


def advantage(figure: Figure, gavel: float | None, peer: float | None) -> float | None:
    """How many times better Gavel is (None when either value is missing)."""
    if gavel is None or peer is None or math.isnan(gavel) or math.isnan(peer):
        return None
    if figure.higher_is_better:
        return gavel / peer if peer > 0 else None
    return peer / gavel if gavel > 0 else None


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    figure: Figure
    gavel: float | None
    peer: float | None
    ratio: float | None
    met: bool | None


def rows(results: Results, pairs: dict[str, tuple[str, str]]) -> list[Row]:
    """`pairs`: section title -> (Gavel's label, the peer's label) for that section."""
    out = []
    for title, _, figures in SECTIONS:
        gavel_label, peer_label = pairs[title]
        for figure in figures:
            g = results.get(gavel_label, {}).get(figure.key)
            p = results.get(peer_label, {}).get(figure.key)
            met = None
            if figure.target is not None and g is not None and p is not None:
                met = bool(figure.target[1](g, p))
            out.append(Row(title, figure, g, p, advantage(figure, g, p), met))
    return out


def _runs(spread: Spread | None, label: str, key: str, digits: int) -> str:
    values = (spread or {}).get(label, {}).get(key, [])
    return " / ".join(_format(v, digits) for v in values) or "—"


def table(
    all_rows: list[Row], pairs: dict[str, tuple[str, str]], spread: Spread | None = None
) -> str:
    """The figures of both bots, section by section; with `spread` (several runs) a last
    column gives Gavel's value in each run."""
    lines: list[str] = []
    current = ""
    for row in all_rows:
        if row.section != current:
            current = row.section
            gavel_label, peer_label = pairs[current]
            intro = next(text for title, text, _ in SECTIONS if title == current)
            extra = (" Gavel, each run |", "--:|") if spread else ("", "")
            lines += [
                "",
                f"### {current}",
                "",
                intro,
                "",
                f"| Figure | {gavel_label} | {peer_label} | Gavel better by | Target | Met |"
                + extra[0],
                "|---|--:|--:|--:|---|:-:|" + extra[1],
            ]
        f = row.figure
        ratio = "—" if row.ratio is None else f"{row.ratio:,.1f}×"
        target = f.target[0] if f.target else ""
        met = {None: "", True: "yes", False: "**no**"}[row.met]
        each = f" {_runs(spread, pairs[current][0], f.key, f.digits)} |" if spread else ""
        lines.append(
            f"| {f.label} ({f.unit}) | {_format(row.gavel, f.digits)} | "
            f"{_format(row.peer, f.digits)} | {ratio} | {target} | {met} |{each}"
        )
    return "\n".join(lines)


# --- Gavel against the reference bots (bench/compare/reference.py) ------------------------

GAVEL = "Gavel"
FLOOR = "reference + fsync (floor)"
CEILING = "reference (ceiling)"
FLOOR_KEYS = ("idle.start.p50", "idle.start.p99", "idle.chair.p50", "idle.chair.p99")
CEILING_KEYS = ("tp1.rate", "tp10.rate", "tp50.rate", "big.ingest_rate")
_FLOOR_LIMITS = {"p50": 0.3, "p99": 0.6}  # ms above the floor, by percentile
_CEILING_SHARE = {"tp10.rate": 75.0, "tp50.rate": 75.0}  # % of the ceiling
MACHINE_INTRO = (
    "Gavel against two reference bots run in the same invocation, through the same server "
    "(`bench/compare/reference.py`: a raw asyncio reader that answers `#startmeeting`, "
    "`#chair` and `#endmeeting`, keeps the lines in a list and writes one file at "
    "`#endmeeting`; no IRC library, no rendering, no database; like Gavel and the speakers "
    "it acknowledges every read at once, so InspIRCd's Nagle never waits on its delayed "
    "ACKs). The floor answers "
    "`#startmeeting` and `#chair` only after one `fsync` of a 4 KiB append to a file on the "
    "disk the bots write to, what persisting before replying costs at the least; it runs "
    "the idle scenario. The ceiling answers at once; it runs the throughput scenarios. The "
    "comparison is made within each run (Gavel's excess over the floor, Gavel's rate as a "
    "share of the ceiling's), then the median taken."
)


@dataclass(frozen=True, slots=True)
class MachineRow:
    section: str
    figure: Figure
    gavel: float | None
    reference: float | None
    compared: float | None  # ms above the floor, or % of the ceiling
    reference_label: str
    met: bool | None


def machine_rows(results: Results) -> list[MachineRow]:
    gavel = results.get(GAVEL, {})
    out: list[MachineRow] = []
    for _title, _, figures in SECTIONS:
        for figure in figures:
            if figure.key in FLOOR_KEYS:
                compared = gavel.get(figure.key + ".over_floor")
                limit = _FLOOR_LIMITS[figure.key.rsplit(".", 1)[1]]
                target: tuple[str, Callable[[float, float], bool]] | None = (
                    f"≤ +{limit:g} ms",
                    lambda g, _r, limit=limit: g <= limit,
                )
                label = FLOOR
            elif figure.key in CEILING_KEYS:
                compared = gavel.get(figure.key + ".of_ceiling")
                share = _CEILING_SHARE.get(figure.key)
                target = (
                    None
                    if share is None
                    else (f"≥ {share:g} %", lambda g, _r, share=share: g >= share)
                )
                label = CEILING
            else:
                continue
            met = None if target is None or compared is None else target[1](compared, 0.0)
            section = "Against what the machine allows"
            shown = Figure(
                figure.key,
                f"{_title.split('. ', 1)[1]}: {figure.label}",
                figure.unit,
                figure.higher_is_better,
                figure.digits,
                target,
            )
            out.append(
                MachineRow(
                    section,
                    shown,
                    gavel.get(figure.key),
                    results.get(label, {}).get(figure.key),
                    compared,
                    label,
                    met,
                )
            )
    return out


def machine_table(all_rows: list[MachineRow], spread: Spread | None = None) -> str:
    extra = (" Gavel − floor / % of ceiling, each run |", "--:|") if spread else ("", "")
    lines = [
        "| Figure | Gavel | Reference | Reference's value | Gavel − floor / % of ceiling "
        "| Target | Met |" + extra[0],
        "|---|--:|---|--:|--:|---|:-:|" + extra[1],
    ]
    for row in all_rows:
        f = row.figure
        floor = row.reference_label == FLOOR
        compared = (
            "—"
            if row.compared is None
            else (f"{row.compared:+.2f} ms" if floor else f"{row.compared:.0f} %")
        )
        suffix = ".over_floor" if floor else ".of_ceiling"
        each = f" {_runs(spread, GAVEL, f.key + suffix, 2 if floor else 0)} |" if spread else ""
        target = f.target[0] if f.target else ""
        met = {None: "", True: "yes", False: "**no**"}[row.met]
        lines.append(
            f"| {f.label} ({f.unit}) | {_format(row.gavel, f.digits)} | {row.reference_label} | "
            f"{_format(row.reference, f.digits)} | {compared} | {target} | {met} |{each}"
        )
    return "\n".join(lines)


def chart(results: Results, gavel_label: str, peer_label: str, path: Path) -> None:
    """Throughput and probe latency against the number of meetings, both bots."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = [1, 10, 50]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    for label, colour in ((gavel_label, "#1f6feb"), (peer_label, "#d1242f")):
        figures = results.get(label, {})
        rate = [figures.get(f"tp{n}.rate", math.nan) for n in counts]
        p50 = [figures.get(f"tp{n}.probe.p50", math.nan) for n in counts]
        p99 = [figures.get(f"tp{n}.probe.p99", math.nan) for n in counts]
        left.plot(counts, rate, "o-", color=colour, label=label)
        right.plot(counts, p50, "o-", color=colour, label=f"{label} p50")
        right.plot(counts, p99, "s--", color=colour, label=f"{label} p99")
    left.set(
        title="Throughput (until the last files exist)",
        xlabel="concurrent meetings",
        ylabel="lines per second",
        xscale="log",
    )
    left.set_ylim(bottom=0)
    right.set(
        title="#chair probe reply latency",
        xlabel="concurrent meetings",
        ylabel="milliseconds",
        xscale="log",
        yscale="log",
    )
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:,.0f}")
    # Latency spans decades: labels at 1, 2 and 5 times each power of ten, plain numbers.
    right.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    right.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for axis in (left, right):
        axis.yaxis.set_major_formatter(plain)
        axis.set_xticks(counts, [str(n) for n in counts])
        axis.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8, loc="center right")
    right.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

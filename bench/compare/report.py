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


@dataclass(frozen=True, slots=True)
class Figure:
    key: str
    label: str
    unit: str
    higher_is_better: bool = False
    digits: int = 1
    # Gavel's target: (text, test on (gavel, peer)).
    target: tuple[str, Callable[[float, float], bool]] | None = None


def _under(limit: float) -> tuple[str, Callable[[float, float], bool]]:
    return f"< {limit:g}", lambda g, _p: g < limit


def _at_most(limit: float) -> tuple[str, Callable[[float, float], bool]]:
    return f"≤ {limit:g}", lambda g, _p: g <= limit


def _times_rate(factor: float) -> tuple[str, Callable[[float, float], bool]]:
    return f"≥ {factor:g}× peer", lambda g, p: p > 0 and g >= factor * p


def _times_faster(factor: float, limit: float) -> tuple[str, Callable[[float, float], bool]]:
    return (
        f"≥ {factor:g}× faster and < {limit:g}",
        lambda g, p: g > 0 and p / g >= factor and g < limit,
    )


SECTIONS: list[tuple[str, str, list[Figure]]] = [
    (
        "1. Idle",
        "`#startmeeting`, `#chair`, `#endmeeting`, one at a time, 0.1 s apart, 100 samples "
        "each, over 50 channels (unthrottled).",
        [
            Figure("idle.start.p50", "`#startmeeting` reply p50", "ms", digits=2),
            Figure("idle.start.p99", "`#startmeeting` reply p99", "ms", digits=2, target=_under(2)),
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
                    target=_times_rate(10) if n > 1 else None,
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
                target=_times_faster(10, 0.25),
            ),
            Figure("big.peak_rss", "peak resident memory", "MB", target=_at_most(45)),
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


def table(all_rows: list[Row], pairs: dict[str, tuple[str, str]]) -> str:
    lines: list[str] = []
    current = ""
    for row in all_rows:
        if row.section != current:
            current = row.section
            gavel_label, peer_label = pairs[current]
            intro = next(text for title, text, _ in SECTIONS if title == current)
            lines += [
                "",
                f"### {current}",
                "",
                intro,
                "",
                f"| Figure | {gavel_label} | {peer_label} | Gavel better by | Target | Met |",
                "|---|--:|--:|--:|---|:-:|",
            ]
        f = row.figure
        ratio = "—" if row.ratio is None else f"{row.ratio:,.1f}×"
        target = f.target[0] if f.target else ""
        met = {None: "", True: "yes", False: "**no**"}[row.met]
        lines.append(
            f"| {f.label} ({f.unit}) | {_format(row.gavel, f.digits)} | "
            f"{_format(row.peer, f.digits)} | {ratio} | {target} | {met} |"
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

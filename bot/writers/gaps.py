"""Gaps in recording (the bot away after a crash, a disconnect or a kick) where people look.

In both logs a gap is one line at its place, before the first line recorded after it began:
`HH:MM:SS *** Gavel was not connected from HH:MM:SS to HH:MM:SS; lines said meanwhile are
missing`. `***` is the mark of a line nobody said, which `replay` skips, so a log read back
is the meeting again. The minutes carry one note per gap. Pure: no I/O, no escaping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import tzinfo

from bot.core.linelog import epoch_micros
from bot.core.record import Gap, MeetingRecord
from bot.core.timefmt import clock, zone, zone_label

MARK = "***"


def gap_text(gap: Gap, tz: tzinfo) -> str:
    """What a log says at the gap's place, after its time and the mark."""
    return (
        f"Gavel was not connected from {clock(gap.start, tz)} to {clock(gap.end, tz)}; "
        "lines said meanwhile are missing"
    )


def gap_notes(record: MeetingRecord) -> list[str]:
    """One sentence per gap for the minutes, in the meeting's time zone."""
    tz = zone(record.timezone)
    return [
        f"Gavel was not connected from {clock(gap.start, tz)} to {clock(gap.end, tz)} "
        f"{zone_label(gap.end, tz)}; lines said meanwhile are missing from the log."
        for gap in sorted(record.gaps, key=lambda g: g.start)
    ]


def gap_places(record: MeetingRecord) -> dict[int, list[Gap]]:
    """Gaps by the index of the line they come before (`len(lines)`: after the last line).

    A gap begins when recording stopped, so it comes before the first line later than that.
    """
    # Compared as microseconds since the epoch, as the log keeps its times: no datetime
    # per line.
    micros = list(record.lines.micros())
    places: dict[int, list[Gap]] = {}
    for gap in sorted(record.gaps, key=lambda g: g.start):
        start = epoch_micros(gap.start)
        index = next((i for i, m in enumerate(micros) if m > start), len(micros))
        places.setdefault(index, []).append(gap)
    return places


def with_gaps(
    rendered: Iterator[str], record: MeetingRecord, render_gap: Callable[[Gap, int], str]
) -> Iterator[str]:
    """The rendered lines of a log (one item per recorded line) with `render_gap(gap, k)`
    put at each gap's place (`k` counts the gaps from 1)."""
    # Most meetings have no gap: their lines are given as they come, with no generator of
    # this module's to pass each one through.
    return _interleaved(rendered, record, render_gap) if record.gaps else rendered


def _interleaved(
    rendered: Iterator[str], record: MeetingRecord, render_gap: Callable[[Gap, int], str]
) -> Iterator[str]:
    places = gap_places(record)
    count = 0
    for index, text in enumerate(rendered):
        for gap in places.get(index, ()):
            count += 1
            yield render_gap(gap, count)
        yield text
    for gap in places.get(len(record.lines), ()):
        count += 1
        yield render_gap(gap, count)

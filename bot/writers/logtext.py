"""The `.log.txt` raw log: one `HH:MM:SS <nick> text` line per recorded message.

Text is kept exactly as received, IRC formatting codes included, because this file is also
the input format of `replay`. Pure: no escaping, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.core.record import LINE_ACTION, Gap, MeetingRecord
from bot.core.timefmt import clock, zone
from bot.writers.gaps import MARK, gap_text, with_gaps
from bot.writers.times import CLOCK, line_times


def iter_log_text(record: MeetingRecord, times: Sequence[str] | None = None) -> Iterator[str]:
    """The `.log.txt`, one newline-terminated line at a time; `times` as `line_times`.
    A gap in recording is a `***` line at its place."""
    stamps = line_times(record) if times is None else times
    tz = zone(record.timezone)

    def gap_line(gap: Gap, _count: int) -> str:
        return f"{clock(gap.start, tz)} {MARK} {gap_text(gap, tz)}\n"

    return with_gaps(_lines(record, stamps), record, gap_line)


def _lines(record: MeetingRecord, stamps: Sequence[str]) -> Iterator[str]:
    for (_, nick, kind, text), stamp in zip(record.lines.rows(), stamps, strict=True):
        if kind == LINE_ACTION:
            yield f"{stamp[CLOCK]} * {nick} {text}\n"
        else:
            yield f"{stamp[CLOCK]} <{nick}> {text}\n"


def render_log_text(record: MeetingRecord) -> str:
    """The whole `.log.txt` (empty when nothing was recorded)."""
    return "".join(iter_log_text(record))

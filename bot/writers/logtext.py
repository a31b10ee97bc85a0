"""The `.log.txt` raw log: one `HH:MM:SS <nick> text` line per recorded message.

Text is kept exactly as received, IRC formatting codes included, because this file is also
the input format of `replay`. Pure: no escaping, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.core.record import LINE_ACTION, MeetingRecord
from bot.writers.times import CLOCK, line_times


def iter_log_text(record: MeetingRecord, times: Sequence[str] | None = None) -> Iterator[str]:
    """The `.log.txt`, one newline-terminated line at a time; `times` as `line_times`."""
    stamps = line_times(record) if times is None else times
    for (_, nick, kind, text), stamp in zip(record.lines.rows(), stamps, strict=True):
        if kind == LINE_ACTION:
            yield f"{stamp[CLOCK]} * {nick} {text}\n"
        else:
            yield f"{stamp[CLOCK]} <{nick}> {text}\n"


def render_log_text(record: MeetingRecord) -> str:
    """The whole `.log.txt` (empty when nothing was recorded)."""
    return "".join(iter_log_text(record))

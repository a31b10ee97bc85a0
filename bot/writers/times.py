"""The times of a meeting's lines, converted to its zone once for all the files.

Converting 20,000 times to a zone and formatting them is a large share of rendering, and
three files need them, so they are computed once as ISO 8601 strings; the log clock
`HH:MM:SS` is a slice of each (the same text `timefmt.clock` gives, which a test checks).
Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.core.record import MeetingRecord
from bot.core.timefmt import zone

# `datetime.isoformat` always starts `YYYY-MM-DDTHH:MM:SS` (years are zero-padded to four).
CLOCK = slice(11, 19)


def iso(moment: datetime, tz: tzinfo) -> str:
    """`moment` in `tz` as ISO 8601 with its offset, e.g. `2013-01-09T20:01:10+00:00`."""
    return moment.astimezone(tz).isoformat()


def line_times(record: MeetingRecord) -> list[str]:
    """ISO 8601 time of every line in the meeting's zone; `[CLOCK]` of each is its clock."""
    tz = zone(record.timezone)
    stamps: list[str] = []
    second, head, offset = None, "", ""
    for micros in record.lines.micros():
        whole, fraction = divmod(micros, 1_000_000)
        # A busy meeting says many lines a second: the zone is looked up once a second, and
        # a line's stamp is that second's text with its microseconds put in.
        if whole != second:
            text = datetime.fromtimestamp(whole, tz).isoformat()
            second, head, offset = whole, text[:19], text[19:]
        stamps.append(f"{head}.{fraction:06d}{offset}" if fraction else f"{head}{offset}")
    return stamps

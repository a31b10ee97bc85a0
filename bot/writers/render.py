"""All five files of a meeting rendered from its record, keyed by extension.

The one place that knows which renderer makes which file and which links each needs. Pure:
text out, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bot.core.record import MeetingRecord
from bot.writers.jsonfmt import iter_json
from bot.writers.loghtml import iter_log_html
from bot.writers.logtext import iter_log_text
from bot.writers.minutes_html import render_html_minutes
from bot.writers.minutes_text import render_text_minutes
from bot.writers.paths import (
    JSON,
    LOG_HTML,
    LOG_TEXT,
    MINUTES_HTML,
    MINUTES_TEXT,
    log_href,
    log_url,
)
from bot.writers.projection import project
from bot.writers.times import line_times


def render_files(
    record: MeetingRecord, base: str, url_prefix: str
) -> Iterator[tuple[str, Iterable[str]]]:
    """(extension, text in pieces) for each file. The big files come as streams of pieces,
    so the writer never holds a whole log (nor its encoding) in memory.

    The JSON comes first: it names the meeting the files belong to, so a crash part-way
    leaves files that are recognisably this meeting's.
    """
    full_log = log_url(url_prefix, base)
    # What several files share is worked out once: the lines' times and the minutes.
    times = line_times(record)
    minutes = project(record)
    yield JSON, iter_json(record, base, times, minutes.attendees)
    yield LOG_TEXT, iter_log_text(record, times)
    yield LOG_HTML, iter_log_html(record, times)
    yield MINUTES_TEXT, (render_text_minutes(record, full_log, minutes),)
    yield MINUTES_HTML, (render_html_minutes(record, full_log, log_href(base), minutes),)


def render_all(record: MeetingRecord, base: str, url_prefix: str) -> dict[str, str]:
    """Every file's whole text, keyed by extension."""
    return {ext: "".join(pieces) for ext, pieces in render_files(record, base, url_prefix)}

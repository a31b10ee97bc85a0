"""Gaps in recording where people look: a `***` line in both logs, a note in both minutes."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.logparse import parse_log
from bot.core.record import Gap
from bot.replay import meetings_in_log
from bot.writers.loghtml import render_log_html
from bot.writers.logtext import render_log_text
from bot.writers.minutes_html import render_html_minutes
from bot.writers.minutes_text import render_text_minutes
from tests.example_meeting import RECORD, START, at

AWAY = Gap(at("20:02:30"), at("20:02:55"), "restart")
GAPPED = replace(RECORD, gaps=(AWAY,))
LOG_LINE = (
    "20:02:30 *** Gavel was not connected from 20:02:30 to 20:02:55; "
    "lines said meanwhile are missing\n"
)
NOTE = (
    "Gavel was not connected from 20:02:30 to 20:02:55 UTC; lines said meanwhile are missing "
    "from the log."
)


def test_log_text_shows_the_gap_at_its_place() -> None:
    log = render_log_text(GAPPED)
    before = "20:02:30 <bob> #info all done\n"
    after = "20:03:00 <alice> #action bob to write docs\n"
    assert before + LOG_LINE + after in log
    assert log.replace(LOG_LINE, "") == render_log_text(RECORD)


def test_replay_skips_the_gap_line() -> None:
    log = render_log_text(GAPPED)
    parsed = parse_log(log)
    assert parsed.unreadable == ()
    assert len(parsed.lines) == len(RECORD.lines)
    (replayed,), unreadable = meetings_in_log(
        log,
        channel=RECORD.channel,
        bot_nick="meetbot",
        network="replay",
        timezone="UTC",
        fallback_day=START.date(),
    )
    assert unreadable == ()
    assert render_log_text(replayed) == render_log_text(RECORD)


def test_log_html_shows_the_gap_and_keeps_the_line_anchors() -> None:
    page = render_log_html(GAPPED)
    gap = (
        '<span id="gap-1" class="tm">20:02:30</span> <span class="gap">*** Gavel was not '
        "connected from 20:02:30 to 20:02:55; lines said meanwhile are missing</span>\n"
    )
    assert page.index('id="l-6"') < page.index(gap) < page.index('id="l-7"')
    assert re.findall(r'id="l-(\d+)"', page) == [str(n) for n in range(1, len(RECORD.lines) + 1)]


def test_gaps_after_the_last_line_and_several_gaps() -> None:
    late = Gap(at("20:05:00"), at("20:09:00"), "connection lost")
    log = render_log_text(replace(RECORD, gaps=(late, AWAY)))
    assert log.index(LOG_LINE) < log.index("<alice> #endmeeting")
    assert log.endswith(
        "20:05:00 <alice> #endmeeting\n20:05:00 *** Gavel was not connected from 20:05:00 to "
        "20:09:00; lines said meanwhile are missing\n"
    )
    page = render_log_html(replace(RECORD, gaps=(late, AWAY)))
    assert page.index('id="gap-1"') < page.index('id="l-7"') < page.index('id="gap-2"')


def test_text_minutes_note_the_gap_after_the_end_sentence() -> None:
    minutes = render_text_minutes(GAPPED, "http://example.org/heat.log.html")
    assert (
        "Meeting ended at 20:05:00 UTC.\n\n\n\n"
        "Gavel was not connected from 20:02:30 to 20:02:55 UTC; lines said\n"
        "meanwhile are missing from the log.\n\n\n\n"
        "Action items\n------------\n"
    ) in minutes
    # a script taking what follows the heading up to the next one still gets the actions
    (actions,) = re.findall(r"Action items\n------------\n(.*?)\n\n\n", minutes, re.DOTALL)
    assert actions.strip() == "* bob to write docs"
    ungapped = render_text_minutes(RECORD, "http://example.org/heat.log.html")
    assert "not connected" not in ungapped


def test_html_minutes_note_the_gap_after_the_end_sentence() -> None:
    page = render_html_minutes(GAPPED, "http://example.org/heat.log.html", "heat.log.html")
    ended = page.index("Meeting ended at 20:05:00 UTC.")
    note = page.index(f'<p class="details gap">{NOTE}</p>')
    assert ended < note < page.index("<h3>Action items</h3>")
    plain = render_html_minutes(RECORD, "http://example.org/heat.log.html", "heat.log.html")
    assert "not connected" not in plain

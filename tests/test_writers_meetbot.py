"""The minutes keep the structure MeetBot's consumers parse: archive viewers such as Fedora's
and scripts that take sections out of the text minutes.

Each test reads the minutes as `tests/meetbot_consumer.py` does (a consumer of MeetBot's
files) and pins one structure: the `TOPIC` class, list-shaped empty sections, items said before
the first topic nested in the summary's first entry, and the end sentence of an unfinished
meeting. `early.html`/`early.txt` pin the last three byte for byte, as `heat.*` pin the rest.
"""

from __future__ import annotations

from pathlib import Path

import html5lib

from bot.core.record import MeetingRecord
from bot.writers.minutes_html import render_html_minutes
from bot.writers.minutes_text import render_text_minutes
from bot.writers.render import render_all
from tests.example_meeting import RECORD, URL_PREFIX, item, meeting, said
from tests.meetbot_consumer import read_minutes, text_action_items

GOLDEN = Path(__file__).parent / "golden"
EARLY_BASE = "early/2013/early.2013-01-09-20.01"


def _html(record: MeetingRecord) -> str:
    return render_html_minutes(record, "full.log.html", "a.log.html")


def _text(record: MeetingRecord) -> str:
    return render_text_minutes(record, "http://example.org/a.log.html")


# A meeting that says things before its first topic, has no actions and has not ended.
EARLY = meeting(
    name="early",
    end=None,
    lines=said(
        ("alice", "#startmeeting heat"),
        ("alice", "#info before any topic"),
        ("bob", "#link https://example.org/agenda"),
        ("alice", "#topic First"),
        ("bob", "#agreed fine"),
        ("carol", "hello"),
    ),
    items=(
        item(2, "info", "before any topic"),
        item(3, "link", "https://example.org/agenda", "bob", url="https://example.org/agenda"),
        item(4, "topic", "First"),
        item(5, "agreed", "fine", "bob"),
    ),
    votes=(),
)


def test_topic_titles_carry_meetbots_upper_case_class() -> None:
    page = _html(RECORD)
    assert page.count('<b class="TOPIC">') == 2
    assert 'class="topic"' not in page
    minutes = read_minutes(page)
    assert minutes.topics == [
        (
            "Review action items",
            [
                "all done",
                "ACTION: bob to write docs",
                "AGREED: ship it",
                "LINK: https://review.example.org/123",
            ],
        ),
        ("Open discussion", ['VOTE: Voted on "Release now?" Results are, Yes: 2, No: 0']),
    ]
    assert minutes.actions == ["bob to write docs"]
    assert minutes.people == ["alice (9)", "meetbot (7)", "bob (3)"]


def test_an_empty_summary_and_no_actions_are_lists() -> None:
    page = _html(meeting(items=(), votes=()))
    assert "<h3>Meeting summary</h3>\n<ol></ol>\n" in page
    assert "<h3>Action items</h3>\n<ol><li>(none)</li></ol>\n" in page
    assert "<p>" not in page.split("<body>")[1].replace('<p class="details">', "")
    minutes = read_minutes(page)
    # Taking the first list after each heading gets that section, never the next one.
    assert minutes.topics == [] and minutes.before_topics == []
    assert minutes.actions == []
    assert minutes.people == ["alice (9)", "meetbot (7)", "bob (3)"]


def test_nobody_present_is_a_list_too() -> None:
    page = _html(meeting(lines=(), items=(), votes=(), chairs=()))
    assert "<h3>People present (lines said)</h3>\n<ol><li>(none)</li></ol>\n" in page
    assert read_minutes(page).people == []


def test_items_before_the_first_topic_are_nested_as_meetbot_does() -> None:
    page = _html(EARLY)
    summary = page.split("<h3>Meeting summary</h3>\n")[1]
    assert summary.startswith('<ol>\n<li>\n<ol type="a">\n<li>before any topic <span')
    assert '</ol>\n</li>\n<li><b class="TOPIC">First</b>' in summary
    minutes = read_minutes(page)
    assert minutes.before_topics == [
        "before any topic",
        "LINK: https://example.org/agenda",
    ]
    assert minutes.topics == [("First", ["AGREED: fine"])]


def test_an_unfinished_meeting_has_the_end_sentence_then_says_it_runs() -> None:
    page = _html(EARLY)
    minutes = read_minutes(page)
    assert (minutes.started, minutes.ended) == ("20:01:10", "20:01:15")
    ended = page.index('<p class="details">Meeting ended at 20:01:15 UTC.</p>\n')
    assert page.index("The meeting is still in progress") > ended
    text = _text(EARLY)
    assert "\n\n\n\nMeeting ended at 20:01:15 UTC.\nThe meeting is still in progress" in text


def test_an_unfinished_meeting_without_lines_ends_at_its_start() -> None:
    minutes = read_minutes(_html(meeting(end=None, lines=(), items=(), votes=())))
    assert minutes.ended == minutes.started == "20:01:10"


def test_a_finished_meeting_says_nothing_about_running() -> None:
    assert "still in progress" not in _html(RECORD) + _text(RECORD)


def test_text_action_items_are_exactly_what_follows_their_heading() -> None:
    long = "carol to write the release notes for " + "every single component " * 4
    record = meeting(
        items=(
            item(1, "topic", "T"),
            item(2, "action", "bob to write docs"),
            item(3, "info", "not an action"),
            item(4, "action", long.strip()),
        )
    )
    text = _text(record)
    assert text_action_items(text) == ["bob to write docs", long.strip()]
    assert text_action_items(_text(meeting(items=()))) == []
    assert text_action_items(_text(RECORD)) == ["bob to write docs"]


def test_early_golden_files() -> None:
    rendered = render_all(EARLY, EARLY_BASE, URL_PREFIX)
    for extension in (".html", ".txt"):
        golden = (GOLDEN / f"early{extension}").read_bytes().decode("utf-8")
        assert rendered[extension] == golden
    html5lib.HTMLParser(strict=True).parse(rendered[".html"])

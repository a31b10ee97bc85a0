"""The `.log.txt` parser: lines in, logged lines and events out."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.core.logparse import parse_log, parse_log_line, start_date, to_events
from bot.core.timefmt import zone


def test_message_and_action_lines() -> None:
    msg = parse_log_line(1, "20:01:10 <alice> #startmeeting heat")
    assert msg is not None and (msg.nick, msg.action, msg.text) == (
        "alice",
        False,
        "#startmeeting heat",
    )
    act = parse_log_line(2, "20:03:45 * bob waves")
    assert act is not None and (act.nick, act.action, act.text) == ("bob", True, "waves")
    empty = parse_log_line(3, "20:03:46 <bob> ")
    assert empty is not None and empty.text == ""
    assert parse_log_line(4, "garbage") is None
    assert parse_log_line(5, "25:00:00 <bob> x") is None


def test_unreadable_lines_are_reported_not_fatal() -> None:
    parsed = parse_log("20:01:10 <alice> hi\nnot a line\n20:01:11 <bob> \x02bold\r\n")
    assert [line.text for line in parsed.lines] == ["hi", "\x02bold\r"]
    assert parsed.unreadable == (2,)


def test_notes_nobody_said_are_skipped_not_unreadable() -> None:
    parsed = parse_log(
        "20:01:10 <alice> hi\n"
        "20:01:10 *** Gavel was not connected from 20:01:10 to 20:02:00; lines said meanwhile "
        "are missing\n"
        "20:02:00 * bob is back\n"
    )
    assert [(line.nick, line.text) for line in parsed.lines] == [
        ("alice", "hi"),
        ("bob", "is back"),
    ]
    assert parsed.unreadable == ()


def test_start_date_from_the_bots_line() -> None:
    parsed = parse_log(
        "23:59:58 <al> #startmeeting x\n"
        "23:59:59 <bot> Meeting started Sat Dec 31 23:59:58 2016 UTC and is due to finish\n"
    )
    assert start_date(parsed.lines, "bot") == date(2016, 12, 31)
    assert start_date(parsed.lines, "other") is None


def test_midnight_rolls_the_date_and_zones_convert() -> None:
    parsed = parse_log("23:59:59 <a> one\n00:00:01 <a> two\n")
    events = to_events(
        parsed.lines,
        day=date(2020, 1, 1),
        tz=zone("Europe/Prague"),
        network="n",
        channel="#c",
        bot_nick="bot",
    )
    assert [e.time for e in events] == [
        datetime(2020, 1, 1, 22, 59, 59, tzinfo=UTC),
        datetime(2020, 1, 1, 23, 0, 1, tzinfo=UTC),
    ]
    assert all(e.echoes_own_lines for e in events)


_nick = st.text(
    alphabet=st.characters(blacklist_characters="> \n\r", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
)
_text = st.text(
    alphabet=st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=80
)


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), _nick, _text, st.booleans())
def test_format_then_parse_round_trips(
    hour: int, minute: int, second: int, nick: str, text: str, action: bool
) -> None:
    stamp = f"{hour:02d}:{minute:02d}:{second:02d}"
    raw = f"{stamp} * {nick} {text}" if action else f"{stamp} <{nick}> {text}"
    line = parse_log_line(1, raw)
    assert line is not None
    assert (line.hour, line.minute, line.second) == (hour, minute, second)
    assert (line.nick, line.action, line.text) == (nick, action, text)

"""Unit tests for the product defects reliability scenarios 6 and 7 found (the scenarios,
run by `test_reliability.py`, are the end-to-end regression tests; these pin the rules)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.effects import MeetingChanged
from bot.core.events import Quit
from bot.core.record import Chair
from bot.irc.wire import server_time
from tests.corekit import Room


def _tag(value: str) -> list[dict[str, str]]:
    return [{"key": "time", "value": value}]


def test_a_time_tag_at_the_ends_of_the_calendar_is_ignored() -> None:
    # Scenario 6: year 1 or 9999 overflowed every time zone conversion, so the
    # #startmeeting failed half-way and the meeting's files could never be written.
    for value in ("0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "1970-01-01T00:00Z"):
        assert server_time(_tag(value)) is None
    assert server_time(_tag("2013-01-09T20:01:10.000Z")) == datetime(
        2013, 1, 9, 20, 1, 10, tzinfo=UTC
    )


def _meeting_with_bob_chaired_by_nick() -> Room:
    room = Room()
    room.members("alice", "bob", "eve")  # NAMES tells no accounts
    room.say("alice", "#startmeeting binding", account="alice-acct")
    room.say("alice", "#chair bob", account="alice-acct")
    return room


def test_a_chair_known_only_by_nick_is_bound_by_their_account_tag() -> None:
    # Scenario 7: a stranger who took the nick of a chair chaired before they spoke
    # could end the meeting.
    room = _meeting_with_bob_chaired_by_nick()
    effects = room.say("bob", "thanks", account="bob-acct")
    assert room.meeting is not None
    assert Chair("bob", "bob-acct") in room.meeting.chairs
    assert any(isinstance(e, MeetingChanged) for e in effects)  # persisted
    room.feed(Quit(room.network, room.tick(), 9_000_001, "bob", "bye"))
    room.join("BOB", "eve-acct")
    room.say("BOB", "#endmeeting", account="eve-acct")
    assert room.meeting is not None and room.meeting.end is None
    room.join("bob_back", "bob-acct")
    room.say("bob_back", "#topic still a chair", account="bob-acct")
    assert [i.text for i in room.meeting.items] == ["still a chair"]


def test_the_account_tag_of_a_line_before_chair_binds_the_new_chair() -> None:
    room = Room()
    room.members("alice", "bob")
    room.say("bob", "o/", account="bob-acct")
    room.say("alice", "#startmeeting binding", account="alice-acct")
    room.say("alice", "#chair bob", account="alice-acct")
    assert room.meeting is not None
    assert Chair("bob", "bob-acct") in room.meeting.chairs

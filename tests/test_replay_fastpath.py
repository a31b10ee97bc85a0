"""The short path for plain chat (`record_chat`) decides exactly what `step` decides: a log
read through `meetings_in_log` gives the same records as every line stepped as an event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from bot.core.effects import Publish
from bot.core.events import ChannelSettings, MessageSeen
from bot.core.logparse import parse_log, start_date, to_events
from bot.core.record import MeetingRecord
from bot.core.state import World
from bot.core.step import record_chat, step
from bot.core.timefmt import zone
from bot.replay import meetings_in_log

EXAMPLE = Path(__file__).parent / "data" / "example.log.txt"

# Chat before, between and after meetings; actions; the bot's own lines and actions; commands
# with odd spacing and case; links; text that only looks like a command; a nick that is the
# bot's in another case; a clock that goes backwards (midnight); an unfinished meeting.
MIXED = """\
23:58:00 <amy> hello before the meeting
23:58:01 * bob waves
23:58:02 <meetbot> Meeting started Tue Jan  8 23:58:02 2013 UTC.  The chair is amy.
23:58:02 <amy> #startmeeting weekly
23:58:02 <MeetBot> Meeting started Tue Jan  8 23:58:02 2013 UTC.  The chair is amy.
23:58:03 <bob> plain text
23:58:03 <bob> same second, another line
23:58:04 * bob thinks #action not a command in an action
23:58:05 <amy>   #TOPIC first topic
23:58:06 <carl> #1234 is a bug number, not a command
23:58:07 <carl> #open-stack is not a command either
23:58:08 <carl> http://example.org/ a bare link
23:58:09 <carl>  https://example.org/x link after a space
23:59:59 <amy> #action carl to write it
00:00:01 <dave> after midnight
00:00:02 * meetbot acts
00:00:03 <amy> #chair bob
00:00:04 <bob> #agreed we agree
00:00:05 <amy> #endmeeting
00:00:06 <amy> chat after the meeting
00:00:07 <amy> #startmeeting second
00:00:08 <erin> a line in a meeting that never ends
00:00:09 * erin leaves
"""


def stepped(text: str, **where: str) -> list[MeetingRecord]:
    """Every line as a `MessageSeen` through `step`: the reference."""
    parsed = parse_log(text)
    settings = ChannelSettings(timezone=zone("UTC"))
    world = World()
    records: list[MeetingRecord] = []
    day = start_date(parsed.lines, where["bot_nick"]) or date(2013, 1, 8)
    for event in to_events(parsed.lines, day=day, tz=zone("UTC"), settings=settings, **where):
        records += [e.meeting for e in step(world, event) if isinstance(e, Publish) and e.final]
    return records + [m.to_record() for m in world.running_meetings()]


def test_short_path_gives_the_records_of_stepping_every_line() -> None:
    where = {"network": "oftc", "channel": "#chan", "bot_nick": "meetbot"}
    for text in (MIXED, EXAMPLE.read_text(encoding="utf-8")):
        expected = stepped(text, **where)
        got, _ = meetings_in_log(text, timezone="UTC", fallback_day=date(2013, 1, 8), **where)
        assert len(expected) >= 1
        assert got == expected
        assert [list(r.lines) for r in got] == [list(r.lines) for r in expected]
    records, _ = meetings_in_log(MIXED, timezone="UTC", fallback_day=date(2013, 1, 8), **where)
    assert [r.name for r in records] == ["weekly", "second"]
    assert [len(r.lines) for r in records] == [16, 3]


def test_record_chat_declines_what_step_must_decide() -> None:
    moment = datetime(2013, 1, 8, 20, 0, tzinfo=UTC)
    world = World()
    args = ("oftc", "#chan", "meetbot", moment)
    for nick, text, action in (
        ("amy", "#startmeeting x", False),
        ("amy", "  #endmeeting", False),
        ("amy", "http://example.org/", False),
        ("MeetBot", "plain words from the bot", False),
        ("meetbot", "an action of the bot", True),
    ):
        assert not record_chat(world, *args, nick, text, action)
    assert record_chat(world, *args, "amy", "plain words", False)
    assert record_chat(world, *args, "amy", "#action inside an action", True)
    # Outside a meeting a plain line is taken and changes nothing, as `step` does.
    event = MessageSeen("oftc", moment, 1, "#chan", "amy", "plain", "meetbot")
    assert step(World(), event) == []
    assert world.running_meetings() == []

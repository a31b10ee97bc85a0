"""The worked example of outputs.md, line by line through the core."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.core.effects import Publish, Say
from bot.core.logparse import parse_log, start_date, to_events
from bot.core.state import World
from bot.core.step import step
from bot.core.timefmt import clock, zone

EXAMPLE = Path(__file__).parent / "data" / "example.log.txt"
UTC = zone("UTC")


def example_events(echo: bool) -> tuple[list[str], list]:  # type: ignore[type-arg]
    parsed = parse_log(EXAMPLE.read_text(encoding="utf-8"))
    assert parsed.unreadable == ()
    day = start_date(parsed.lines, "meetbot")
    assert day == date(2013, 1, 9)
    events = to_events(
        parsed.lines,
        day=day,
        tz=UTC,
        network="local",
        channel="#openstack-meeting",
        bot_nick="meetbot",
    )
    if not echo:
        events = [e for e in events if e.nick != "meetbot"]
        events = [e.__class__(**{**_fields(e), "echoes_own_lines": False}) for e in events]
    lines = [f"{line.nick}: {line.text}" for line in parsed.lines]
    return lines, events


def _fields(event: object) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__slots__}  # type: ignore[attr-defined]


def test_the_example_meeting_gives_exactly_the_bot_lines_shown() -> None:
    log_lines, events = example_events(echo=False)
    world = World()
    said: list[str] = []
    for event in events:
        said += [e.text for e in step(world, event) if isinstance(e, Say)]
    expected = [line.split(": ", 1)[1] for line in log_lines if line.startswith("meetbot: ")]
    assert len(expected) == 7
    assert said == expected


def test_replaying_the_example_records_the_log_unchanged() -> None:
    _, events = example_events(echo=True)
    world = World()
    publishes: list[Publish] = []
    for event in events:
        publishes += [e for e in step(world, event) if isinstance(e, Publish)]
    (final,) = publishes
    record = final.meeting
    text = "".join(f"{clock(line.time, UTC)} <{line.nick}> {line.text}\n" for line in record.lines)
    assert text == EXAMPLE.read_text(encoding="utf-8")
    assert record.owner == "alice" and record.name == "heat" and record.topic == "heat"
    assert [(i.kind, i.text) for i in record.items] == [
        ("topic", "Review action items"),
        ("info", "all done"),
        ("action", "bob to write docs"),
        ("agreed", "ship it"),
        ("link", "https://review.example.org/123"),
        ("topic", "Open discussion"),
        ("vote", 'Voted on "Release now?" Results are, Yes: 2, No: 0'),
    ]
    assert [i.line for i in record.items] == [5, 6, 7, 8, 9, 10, 16]
    (vote,) = record.votes
    assert [(b.nick, b.option) for b in vote.ballots] == [("alice", "Yes"), ("bob", "Yes")]

"""The worked example of `outputs.md` as a `MeetingRecord`, built by hand for writer tests.

It is assembled from plain data (not by running the core), so the writer tests stand on
their own; the bot's replies come from `bot.core.messages` so their wording is the bot's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.events import DEFAULT_INFO_URL
from bot.core.messages import (
    USEFUL_COMMANDS,
    VOTE_HOW,
    meeting_started,
    name_set,
    vote_begins,
    vote_item_text,
    vote_result_heading,
    vote_tallies,
)
from bot.core.record import (
    LINE_MESSAGE,
    Ballot,
    Chair,
    Item,
    LogLine,
    MeetingRecord,
    VoteRecord,
)
from bot.core.timefmt import zone

URL_PREFIX = "http://eavesdrop.example.org/meetings/"
BASE = "heat/2013/heat.2013-01-09-20.01"
START = datetime(2013, 1, 9, 20, 1, 10, tzinfo=UTC)
END = datetime(2013, 1, 9, 20, 5, 0, tzinfo=UTC)


def at(hms: str) -> datetime:
    hour, minute, second = (int(p) for p in hms.split(":"))
    return datetime(2013, 1, 9, hour, minute, second, tzinfo=UTC)


VOTE = VoteRecord(
    id=1,
    question="Release now?",
    options=("Yes", "No"),
    ballots=(Ballot("alice", "Yes"), Ballot("bob", "Yes")),
    opened_by="alice",
    opened_at=at("20:04:30"),
    opened_line=11,
    closed_at=at("20:04:50"),
    closed_line=16,
)

_SAID = (
    ("20:01:10", "alice", "#startmeeting heat"),
    ("20:01:11", "meetbot", meeting_started(START, zone("UTC"), 60, "alice", DEFAULT_INFO_URL)),
    ("20:01:11", "meetbot", USEFUL_COMMANDS),
    ("20:01:11", "meetbot", name_set("heat")),
    ("20:02:00", "alice", "#topic Review action items"),
    ("20:02:30", "bob", "#info all done"),
    ("20:03:00", "alice", "#action bob to write docs"),
    ("20:04:00", "alice", "#agreed ship it"),
    ("20:04:10", "bob", "https://review.example.org/123"),
    ("20:04:20", "alice", "#topic Open discussion"),
    ("20:04:30", "alice", "#startvote Release now? Yes, No"),
    ("20:04:30", "meetbot", vote_begins("Release now?", ("Yes", "No"))),
    ("20:04:30", "meetbot", VOTE_HOW),
    ("20:04:35", "alice", "#vote yes"),
    ("20:04:40", "bob", "#vote Yes"),
    ("20:04:50", "alice", "#endvote"),
    ("20:04:50", "meetbot", vote_result_heading("Release now?")),
    *(("20:04:50", "meetbot", tally) for tally in vote_tallies(VOTE)),
    ("20:05:00", "alice", "#endmeeting"),
)

LINES = tuple(
    LogLine(n=n, time=at(hms), nick=nick, kind=LINE_MESSAGE, text=text)
    for n, (hms, nick, text) in enumerate(_SAID, start=1)
)

# As the core does, an item's id is the number of the line that made it.
ITEMS = (
    Item(5, "topic", "Review action items", "alice", at("20:02:00"), 5),
    Item(6, "info", "all done", "bob", at("20:02:30"), 6),
    Item(7, "action", "bob to write docs", "alice", at("20:03:00"), 7),
    Item(8, "agreed", "ship it", "alice", at("20:04:00"), 8),
    Item(
        9,
        "link",
        "https://review.example.org/123",
        "bob",
        at("20:04:10"),
        9,
        url="https://review.example.org/123",
    ),
    Item(10, "topic", "Open discussion", "alice", at("20:04:20"), 10),
    Item(16, "vote", vote_item_text(VOTE), "alice", at("20:04:50"), 16),
)

RECORD = MeetingRecord(
    id=1,
    network="example",
    channel="#openstack-meeting",
    name="heat",
    topic="heat",
    owner="alice",
    chairs=(Chair("alice"),),
    timezone="UTC",
    start=START,
    end=END,
    length_minutes=60,
    info_url=DEFAULT_INFO_URL,
    bot_nick="meetbot",
    casemapping="rfc1459",
    restricted=False,
    lurking=False,
    lines=LINES,
    items=ITEMS,
    votes=(VOTE,),
    named=(),
    presence=(),
    gaps=(),
)


def said(*lines: tuple[str, str] | tuple[str, str, str]) -> tuple[LogLine, ...]:
    """Log lines from `(nick, text)` pairs (or `(nick, text, kind)`), one second apart."""
    out = []
    for n, entry in enumerate(lines, start=1):
        kind = entry[2] if len(entry) == 3 else LINE_MESSAGE
        out.append(LogLine(n, START + timedelta(seconds=n - 1), entry[0], kind, entry[1]))
    return tuple(out)


def item(n: int, kind: str, text: str, nick: str = "alice", url: str | None = None) -> Item:
    """An item made at line `n` (with `said`'s timing)."""
    return Item(n, kind, text, nick, START + timedelta(seconds=n - 1), n, url)


def meeting(**changes: Any) -> MeetingRecord:
    """The example meeting with some fields replaced."""
    return replace(RECORD, **changes)

"""Odd text from IRC survives the database unchanged: NUL, control, bidi, emoji, anything."""

from __future__ import annotations

import asyncio
import random
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.effects import (
    GapRecorded,
    ItemRecorded,
    LineRecorded,
    MeetingStarted,
    PersonNamed,
    PresenceRecorded,
    VoteChanged,
)
from bot.core.record import (
    Ballot,
    Chair,
    Gap,
    Item,
    LogLine,
    MeetingRecord,
    Named,
    Presence,
    VoteRecord,
)
from bot.store import Store
from bot.store.codec import dt_to_text
from tests.recordkit import blank_record

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)

ODD = [
    "nul\x00inside",
    "\x00",
    "\x01ACTION waves\x01",
    "ctrl \x02bold\x02 \x03" + "4red\x0f \x1d\x1f\x16 \x07bell \x1b[31mansi",
    "tab\there\rlone CR\x0bvt\x0cff\x7fdel\x85nel",
    "bidi \u202eevil\u202c \u2066iso\u2069 \u200f\u200e \u061c",
    "emoji 🎉👩‍👩‍👧‍👦 🇫🇷 e\u0301 \u00a0nbsp \ufeffbom \ufffd \U0010fffd",
    "  leading spaces",
    "trailing spaces  ",
    "",
    "x" * 16384,
    "'; DROP TABLE lines; --",
    '\\u0000 not an escape "quoted"',
]


def header(text: str) -> MeetingRecord:
    return blank_record(
        network=text,
        channel="#" + text,
        name=text,
        topic=text,
        owner=text,
        owner_account=text,
        chairs=(Chair(text, text),),
        start=T0,
        info_url=text,
        bot_nick=text,
    )


async def round_trip(path: Path, texts: list[str]) -> None:
    """Put each text in every text field of a meeting, effect by effect, and read it back."""
    async with await Store.open(path) as store:
        for mid, text in enumerate(texts, start=1):
            head = replace(header(text), id=mid)
            meeting = with_parts(head, text)
            await store.apply(
                [
                    MeetingStarted(head),
                    *(LineRecorded(mid, x) for x in meeting.lines),
                    *(ItemRecorded(mid, x) for x in meeting.items),
                    *(VoteChanged(mid, x) for x in meeting.votes),
                    *(PersonNamed(mid, x) for x in meeting.named),
                    *(PresenceRecorded(mid, x) for x in meeting.presence),
                    *(GapRecorded(mid, x) for x in meeting.gaps),
                ]
            )
            assert await store.load(mid) == meeting, repr(text)


def with_parts(m: MeetingRecord, text: str) -> MeetingRecord:
    t = T0 + timedelta(seconds=1)
    vote = VoteRecord(1, text, (text, text + "2"), (Ballot(text, text, text),), text, t, 1)
    return replace(
        m,
        lines=(LogLine(1, t, text, "action", text),),
        items=(Item(1, "info", text, text, t, 1, url=text),),
        votes=(vote,),
        named=(Named(text, 1),),
        presence=(Presence(t, "nick", text, text),),
        gaps=(Gap(t, t, text),),
    )


async def test_odd_text_round_trips(tmp_path: Path) -> None:
    await round_trip(tmp_path / "gavel.sqlite3", ODD)


# Valid Unicode only: incoming bytes are decoded leniently, so lone surrogates never arrive.
unicode_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=200)


@settings(max_examples=40, deadline=None)
@given(st.lists(unicode_text, min_size=1, max_size=3))
def test_any_text_round_trips(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(round_trip(Path(tmp) / "gavel.sqlite3", texts))


def test_stored_times_are_isoformat_to_the_microsecond_across_the_calendar() -> None:
    # The text of each second is cached; whatever the second, zone or microsecond, the
    # stored text is what isoformat gives in UTC.
    rng = random.Random(7)
    base = datetime(1, 1, 2, tzinfo=UTC)
    for _ in range(5000):
        moment = base + timedelta(microseconds=rng.randrange(0, 315_537_000_000_000_000))
        shifted = moment.astimezone(timezone(timedelta(hours=-7, minutes=-30)))
        assert dt_to_text(moment) == moment.isoformat(timespec="microseconds")
        assert dt_to_text(shifted) == moment.isoformat(timespec="microseconds")
    same_second = [datetime(2026, 1, 1, 0, 0, 0, us, tzinfo=UTC) for us in (0, 1, 999_999)]
    assert [dt_to_text(m) for m in same_second] == [
        "2026-01-01T00:00:00.000000+00:00",
        "2026-01-01T00:00:00.000001+00:00",
        "2026-01-01T00:00:00.999999+00:00",
    ]

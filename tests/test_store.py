"""The store against real SQLite files: round trips, queries, reservations, failed batches."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.core.effects import (
    Effect,
    GapRecorded,
    ItemRecorded,
    ItemRemoved,
    LineRecorded,
    MeetingChanged,
    MeetingEnded,
    MeetingStarted,
    PersonNamed,
    PresenceRecorded,
    Publish,
    Say,
    SetTopic,
    VoteChanged,
)
from bot.core.events import AccountChanged, NickChanged
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
from bot.core.state import Meeting
from bot.store import MeetingSummary, Store, StoreError
from bot.store.writes import INSERT_LINE, plan
from tests.corekit import Room
from tests.recordkit import blank_record

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
NET = "libera"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def header(mid: int = 7, start: datetime = T0, channel: str = "#heat") -> MeetingRecord:
    return blank_record(
        id=mid,
        network=NET,
        channel=channel,
        owner_account="alice_acct",
        chairs=(Chair("alice", "alice_acct"),),
        timezone="Europe/Paris",
        start=start,
        info_url="https://example.org/meetbot",
    )


def line(n: int, nick: str, text: str, kind: str = "message") -> LogLine:
    return LogLine(n=n, time=at(n * 10), nick=nick, kind=kind, text=text)


def rec(mid: int, n: int, nick: str, text: str) -> LineRecorded:
    return LineRecorded(mid, line(n, nick, text))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "data" / "gavel.sqlite3")
    yield s
    await s.close()


# --- the round trip --------------------------------------------------------------------------

CHAIRS3 = (Chair("alice", "alice_acct"), Chair("bob", None), Chair("carol", "carol_acct"))
VOTE_OPEN = VoteRecord(
    id=1,
    question="Ship it?",
    options=("yes", "no"),
    ballots=(),
    opened_by="alice",
    opened_at=at(60),
    opened_line=6,
)
VOTE_BOB = replace(VOTE_OPEN, ballots=(Ballot("bob", "yes"),))
VOTE_CAROL_NO = replace(
    VOTE_OPEN, ballots=(Ballot("bob", "yes"), Ballot("carol", "no", "carol_acct"))
)
VOTE_CAROL_YES = replace(
    VOTE_OPEN, ballots=(Ballot("bob", "yes"), Ballot("carol", "yes", "carol_acct"))
)
VOTE_CLOSED = replace(VOTE_CAROL_YES, closed_at=at(100), closed_line=10)
TOPIC = Item(1, "topic", "agenda", "alice", at(20), 2)
UNDONE = Item(2, "info", "wrong info", "bob", at(30), 3)
VOTE_ITEM = Item(3, "vote", "Ship it? yes: 2, no: 0", "alice", at(100), 10)
LINK = Item(4, "link", "the spec", "carol", at(110), 11, url="https://example.org/spec")
JOIN = Presence(at(45), "join", "dave", "")
NICK = Presence(at(47), "nick", "dave", "dave_away")
GAP = Gap(at(105), at(107), "restart")
END = at(120)


def meeting_batches(mid: int = 7) -> list[list[Effect]]:
    """What the engine would hand the store, event by event, for a short real meeting."""
    return [
        [MeetingStarted(header(mid)), rec(mid, 1, "alice", "#startmeeting heat")],
        [Say(NET, "#heat", "Meeting started"), SetTopic(NET, "#heat", "heat")],
        [rec(mid, 2, "alice", "#topic agenda"), ItemRecorded(mid, TOPIC)],
        [rec(mid, 3, "bob", "#info wrong info"), ItemRecorded(mid, UNDONE)],
        [rec(mid, 4, "alice", "#undo"), ItemRemoved(mid, 2), Say(NET, "#heat", "Removed")],
        [PresenceRecorded(mid, JOIN), PresenceRecorded(mid, NICK)],
        [
            rec(mid, 5, "alice", "#chair bob carol"),
            MeetingChanged(mid, "heat", None, CHAIRS3, False, False),
            PersonNamed(mid, Named("bob", 5)),
            PersonNamed(mid, Named("carol", 5)),
        ],
        [rec(mid, 6, "alice", "#startvote Ship it? yes, no"), VoteChanged(mid, VOTE_OPEN)],
        [rec(mid, 7, "bob", "#vote yes"), VoteChanged(mid, VOTE_BOB)],
        [rec(mid, 8, "carol", "#vote no"), VoteChanged(mid, VOTE_CAROL_NO)],
        [rec(mid, 9, "carol", "#vote yes"), VoteChanged(mid, VOTE_CAROL_YES)],
        [GapRecorded(mid, GAP)],
        [
            rec(mid, 10, "alice", "#endvote"),
            VoteChanged(mid, VOTE_CLOSED),
            ItemRecorded(mid, VOTE_ITEM),
        ],
        [rec(mid, 11, "carol", "#link https://example.org/spec the spec"), ItemRecorded(mid, LINK)],
        [
            rec(mid, 12, "alice", "#meetingname heat-team"),
            MeetingChanged(mid, "heat-team", "Release", CHAIRS3, True, False),
        ],
        [rec(mid, 13, "alice", "#endmeeting"), MeetingEnded(mid, END)],
    ]


def expected_record(mid: int = 7) -> MeetingRecord:
    texts = [
        ("alice", "#startmeeting heat"),
        ("alice", "#topic agenda"),
        ("bob", "#info wrong info"),
        ("alice", "#undo"),
        ("alice", "#chair bob carol"),
        ("alice", "#startvote Ship it? yes, no"),
        ("bob", "#vote yes"),
        ("carol", "#vote no"),
        ("carol", "#vote yes"),
        ("alice", "#endvote"),
        ("carol", "#link https://example.org/spec the spec"),
        ("alice", "#meetingname heat-team"),
        ("alice", "#endmeeting"),
    ]
    return replace(
        header(mid),
        name="heat-team",
        topic="Release",
        chairs=CHAIRS3,
        end=END,
        restricted=True,
        lines=tuple(line(n, nick, text) for n, (nick, text) in enumerate(texts, start=1)),
        items=(TOPIC, VOTE_ITEM, LINK),
        votes=(VOTE_CLOSED,),
        named=(Named("bob", 5), Named("carol", 5)),
        presence=(JOIN, NICK),
        gaps=(GAP,),
    )


async def test_round_trip_of_a_whole_meeting(store: Store) -> None:
    for batch in meeting_batches():
        await store.apply(batch)
    loaded = await store.load(7)
    assert loaded == expected_record()
    assert loaded is not None
    assert all(line.time.tzinfo is UTC for line in loaded.lines)


async def test_round_trip_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    async with await Store.open(path) as first:
        for batch in meeting_batches():
            await first.apply(batch)
    async with await Store.open(path) as second:
        assert await second.load(7) == expected_record()
        assert await second.integrity_check() == "ok"


async def test_whole_meeting_in_one_batch_is_the_same(store: Store) -> None:
    await store.apply([e for batch in meeting_batches() for e in batch])
    assert await store.load(7) == expected_record()


async def test_meeting_started_with_parts_imports_them(store: Store) -> None:
    whole = expected_record(9)
    await store.apply([MeetingStarted(whole)])
    assert await store.load(9) == whole


async def test_undone_item_row_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "gavel.sqlite3"
    async with await Store.open(path) as store:
        for batch in meeting_batches():
            await store.apply(batch)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, removed FROM items ORDER BY id").fetchall()
    db.close()
    assert rows == [(1, 0), (2, 1), (3, 0), (4, 0)]


async def test_load_of_unknown_meeting_is_none(store: Store) -> None:
    assert await store.load(1) is None


def started_id(effects: list[Effect]) -> int:
    (started,) = [e for e in effects if isinstance(e, MeetingStarted)]
    return started.meeting.id


async def test_an_owner_identified_after_the_start_is_stored_in_the_header(store: Store) -> None:
    room = Room()
    room.members("alice", "meetbot")  # NAMES tells no accounts
    effects = room.say("alice", "#startmeeting heat")
    effects += room.feed(AccountChanged(room.network, room.tick(), 900, "alice", "alice_acct"))
    await store.apply(effects)
    loaded = await store.load(started_id(effects))
    assert loaded is not None
    assert (loaded.owner, loaded.owner_account) == ("alice", "alice_acct")
    assert loaded.chairs == (Chair("alice", "alice_acct"),)


async def test_a_renamed_owner_is_the_owner_after_a_restart(store: Store) -> None:
    room = Room()
    room.members("alice", "meetbot")
    effects = room.say("alice", "#startmeeting heat")
    effects += room.feed(NickChanged(room.network, room.tick(), 901, "alice", "alice_away"))
    await store.apply(effects)
    (running,) = await store.load_running()
    assert running.owner == "alice_away"
    # Not an owner "alice" beside a chair "alice_away": whoever took the old nick would chair.
    restored = Meeting.from_record(running)
    assert restored.owner == Chair("alice_away") and restored.chairs == []


# --- running meetings, publishing ------------------------------------------------------------


async def test_load_running_lists_only_meetings_not_ended(store: Store) -> None:
    batches = meeting_batches(7)
    for batch in batches[:-1]:
        await store.apply(batch)
    await store.apply([MeetingStarted(header(8, start=at(5), channel="#other"))])
    await store.apply([rec(8, 1, "zed", "hello")])

    running = await store.load_running()
    assert [m.id for m in running] == [7, 8]
    assert running[0] == replace(expected_record(7), end=None, lines=expected_record(7).lines[:-1])
    assert running[1].lines == (line(1, "zed", "hello"),)

    await store.apply(batches[-1])
    assert [m.id for m in await store.load_running()] == [8]


async def test_end_marks_publish_pending_until_published(store: Store) -> None:
    for batch in meeting_batches(7):
        await store.apply(batch)
    assert await store.pending_publishes() == [7]
    assert await store.published_at(7) is None
    when = at(130)
    await store.mark_published(7, when)
    assert await store.pending_publishes() == []
    assert await store.published_at(7) == when


async def test_publish_for_save_marks_pending(store: Store) -> None:
    await store.apply([MeetingStarted(header(3))])
    assert await store.pending_publishes() == []
    await store.apply([Publish(header(3), final=False, announce=True)])
    assert await store.pending_publishes() == [3]


async def test_files_of_an_older_record_leave_the_meeting_pending(store: Store) -> None:
    # A #save's files are being written while the meeting goes on and asks again: marking
    # the older files written must not clear what the newer request owes.
    await store.apply([MeetingStarted(header(3)), rec(3, 1, "alice", "#save")])
    await store.apply([Publish(header(3), final=False, announce=False)])
    await store.apply(
        [rec(3, 2, "alice", "#save"), Publish(header(3), final=False, announce=False)]
    )
    await store.mark_published(3, at(10), upto_line=1)
    assert await store.pending_publishes() == [3]
    assert await store.published_at(3) == at(10)
    await store.mark_published(3, at(11), upto_line=2)
    assert await store.pending_publishes() == []


async def test_mark_published_unknown_meeting_raises(store: Store) -> None:
    with pytest.raises(StoreError, match="no meeting 4"):
        await store.mark_published(4, T0)


async def test_batch_of_only_non_recording_effects_writes_nothing(store: Store) -> None:
    await store.apply([Say(NET, "#heat", "hi"), SetTopic(NET, "#heat", "t")])
    assert await store.all_meeting_ids() == []


# --- failed batches leave nothing behind -----------------------------------------------------


async def test_removing_unknown_item_rolls_back_whole_batch(store: Store) -> None:
    await store.apply([MeetingStarted(header(1))])
    with pytest.raises(StoreError, match="ItemRemoved"):
        await store.apply([rec(1, 1, "alice", "#undo"), ItemRemoved(1, 99)])
    loaded = await store.load(1)
    assert loaded is not None and loaded.lines == ()
    await store.apply([rec(1, 1, "alice", "again")])  # the store is still usable


async def test_duplicate_line_rolls_back_whole_batch(store: Store) -> None:
    await store.apply([MeetingStarted(header(1)), rec(1, 1, "a", "one")])
    with pytest.raises(sqlite3.IntegrityError):
        await store.apply([rec(1, 2, "a", "two"), rec(1, 1, "a", "one again")])
    loaded = await store.load(1)
    assert loaded is not None and [x.n for x in loaded.lines] == [1]


async def test_line_for_unknown_meeting_is_refused(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await store.apply([rec(5, 1, "a", "orphan")])


async def test_ending_unknown_meeting_raises(store: Store) -> None:
    with pytest.raises(StoreError, match="MeetingEnded"):
        await store.apply([MeetingEnded(5, END)])


async def test_naive_datetime_is_refused(store: Store) -> None:
    await store.apply([MeetingStarted(header(1))])
    naive = LogLine(1, datetime(2024, 5, 1, 12), "a", "message", "x")
    with pytest.raises(StoreError, match="naive"):
        await store.apply([LineRecorded(1, naive)])


async def test_other_time_zones_come_back_as_the_same_instant_in_utc(store: Store) -> None:
    tokyo = timezone(timedelta(hours=9))
    start = datetime(2024, 5, 1, 21, 0, 0, 1, tzinfo=tokyo)
    await store.apply([MeetingStarted(header(1, start=start))])
    loaded = await store.load(1)
    assert loaded is not None
    assert loaded.start == start
    assert loaded.start.tzinfo is UTC
    assert loaded.start.hour == 12 and loaded.start.microsecond == 1


# --- queries ---------------------------------------------------------------------------------


async def test_empty_database_queries(store: Store) -> None:
    assert await store.max_id() == 0
    assert await store.all_meeting_ids() == []
    assert await store.list_meetings() == []
    assert await store.load_running() == []
    assert await store.pending_publishes() == []
    assert await store.integrity_check() == "ok"


async def test_list_meetings_newest_first_with_line_counts(store: Store) -> None:
    await store.apply([MeetingStarted(header(3, start=at(0)))])
    await store.apply([MeetingStarted(header(12, start=at(500)))])
    await store.apply([MeetingStarted(header(5, start=at(100)))])
    await store.apply([rec(5, n, "a", "x") for n in range(1, 4)] + [MeetingEnded(5, at(200))])
    await store.reserve_file_base(5, "heat/2024/heat.2024-05-01-12.01")

    assert await store.list_meetings(limit=2) == [
        MeetingSummary(12, NET, "#heat", "heat", at(500), None, 0, None),
        MeetingSummary(
            5, NET, "#heat", "heat", at(100), at(200), 3, "heat/2024/heat.2024-05-01-12.01"
        ),
    ]
    assert [s.id for s in await store.list_meetings()] == [12, 5, 3]
    assert await store.all_meeting_ids() == [3, 5, 12]
    assert await store.max_id() == 12


async def test_last_activity(store: Store) -> None:
    await store.apply([MeetingStarted(header(1))])
    assert await store.last_activity(1) == T0
    await store.apply([rec(1, 1, "a", "x"), rec(1, 2, "a", "y")])
    assert await store.last_activity(1) == at(20)
    await store.apply([PresenceRecorded(1, Presence(at(25), "part", "b"))])
    assert await store.last_activity(1) == at(25)
    await store.apply([GapRecorded(1, Gap(at(25), at(90), "restart"))])
    assert await store.last_activity(1) == at(90)
    with pytest.raises(StoreError, match="no meeting 2"):
        await store.last_activity(2)


# --- output base paths -----------------------------------------------------------------------

BASE = "heat/2013/heat.2013-01-09-20.01"


async def started(store: Store, *ids: int) -> None:
    await store.apply([MeetingStarted(header(mid)) for mid in ids])


async def test_file_base_collisions_get_suffixes(store: Store) -> None:
    await started(store, 1, 2, 3)
    assert await store.reserve_file_base(1, BASE) == BASE
    assert await store.reserve_file_base(2, BASE) == BASE + "-2"
    assert await store.reserve_file_base(3, BASE) == BASE + "-3"
    assert await store.file_base(2) == BASE + "-2"


async def test_file_base_is_kept_while_candidate_unchanged(store: Store) -> None:
    await started(store, 1, 2)
    await store.reserve_file_base(1, BASE)
    assert await store.reserve_file_base(2, BASE) == BASE + "-2"
    assert await store.reserve_file_base(2, BASE) == BASE + "-2"
    assert await store.reserve_file_base(1, BASE) == BASE


async def test_renamed_meeting_gets_new_base_and_frees_old(store: Store) -> None:
    await started(store, 1, 2, 3)
    await store.reserve_file_base(1, BASE)
    await store.reserve_file_base(2, BASE)
    renamed = "ops/2013/ops.2013-01-09-20.01"
    assert await store.reserve_file_base(1, renamed) == renamed
    assert await store.reserve_file_base(3, BASE) == BASE  # freed by meeting 1
    assert await store.reserve_file_base(2, BASE) == BASE + "-2"


async def test_file_base_suffix_fills_first_hole(store: Store) -> None:
    await started(store, 1, 2, 3, 4)
    await store.reserve_file_base(1, BASE)
    await store.reserve_file_base(2, BASE)
    await store.reserve_file_base(3, BASE)
    await store.reserve_file_base(2, "elsewhere")
    assert await store.reserve_file_base(4, BASE) == BASE + "-2"


async def test_file_base_prefix_lookalikes_do_not_collide(store: Store) -> None:
    await started(store, 1, 2, 3, 4)
    assert await store.reserve_file_base(1, "a/b-2") == "a/b-2"
    assert await store.reserve_file_base(2, "a/b") == "a/b"
    assert await store.reserve_file_base(3, "a/b") == "a/b-3"
    assert await store.reserve_file_base(4, "a/b_%") == "a/b_%"


async def test_file_base_skips_names_taken_elsewhere_and_keeps_what_it_chose(
    store: Store,
) -> None:
    await started(store, 1, 2)
    on_disk = {BASE, BASE + "-2"}  # say, files of meetings this database never held
    asked: list[str] = []

    def taken(base: str) -> bool:
        asked.append(base)
        return base in on_disk

    assert await store.reserve_file_base(1, BASE, taken_elsewhere=taken) == BASE + "-3"
    assert await store.reserve_file_base(2, BASE, taken_elsewhere=taken) == BASE + "-4"
    asked.clear()
    # chosen once: a later publish reads it back, whatever lies on disk by then
    assert await store.reserve_file_base(1, BASE, taken_elsewhere=taken) == BASE + "-3"
    assert asked == []
    assert await store.file_base(1) == BASE + "-3"


async def test_file_base_of_unknown_meeting_or_empty_candidate(store: Store) -> None:
    with pytest.raises(StoreError, match="no meeting 1"):
        await store.reserve_file_base(1, BASE)
    await started(store, 1)
    with pytest.raises(StoreError, match="empty"):
        await store.reserve_file_base(1, "")


# --- several tasks at once -------------------------------------------------------------------


async def test_concurrent_calls_do_not_share_transactions(store: Store) -> None:
    await started(store, 1, 2)

    async def lines(mid: int) -> None:
        for n in range(1, 41):
            await store.apply([rec(mid, n, "a", f"line {n}")])

    async def reserve() -> None:
        for _ in range(20):
            await store.reserve_file_base(2, BASE)
            await store.load_running()

    await asyncio.gather(lines(1), lines(2), reserve())
    for mid in (1, 2):
        loaded = await store.load(mid)
        assert loaded is not None and [x.n for x in loaded.lines] == list(range(1, 41))


# --- the plan --------------------------------------------------------------------------------


def test_plan_merges_consecutive_lines_into_one_step() -> None:
    effects: list[Effect] = [rec(1, n, "a", "x") for n in range(1, 101)]
    steps = plan(effects)
    assert len(steps) == 1
    assert steps[0].sql == INSERT_LINE and len(steps[0].rows) == 100


def test_plan_keeps_order_across_kinds() -> None:
    effects: list[Effect] = [
        rec(1, 1, "a", "x"),
        ItemRecorded(1, TOPIC),
        rec(1, 2, "a", "y"),
        rec(1, 3, "a", "z"),
        Say(NET, "#c", "ignored"),
        rec(1, 4, "a", "w"),
    ]
    assert [len(s.rows) for s in plan(effects)] == [1, 1, 3]


async def test_publishing_notes_commit_without_waiting_for_the_disk(store: Store) -> None:
    # The base reservation and the "published" note are about derived files: their commits
    # are not synced (synchronous NORMAL for that transaction only); the journal's are.
    def mode(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA synchronous").fetchone()[0])

    assert await store._write_in_thread(mode, wait_for_disk=False) == 1  # NORMAL
    assert await store._write_in_thread(mode) == 2  # FULL again, for the journal
    await store.apply([MeetingStarted(blank_record(id=9))])
    assert await store.reserve_file_base(9, "a/b") == "a/b"
    await store.mark_published(9, T0)
    assert await store._write_in_thread(mode) == 2
    assert await store.pending_publishes() == []

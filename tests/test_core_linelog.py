"""The column-wise line log: what goes in comes out, snapshots stay as they were taken."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.linelog import LineLog, epoch_micros, from_epoch_micros
from bot.core.record import LINE_ACTION, LINE_MESSAGE, LogLine
from bot.writers.times import line_times
from tests.recordkit import blank_record

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def some_lines(count: int, start: datetime = T0) -> list[LogLine]:
    rng = random.Random(count)
    steps = [0, 1, 999_999, 1_000_000, 123_456, 514_285_714]
    lines, moment = [], start
    for n in range(1, count + 1):
        moment += timedelta(microseconds=rng.choice(steps))
        kind = LINE_ACTION if n % 7 == 0 else LINE_MESSAGE
        lines.append(LogLine(n, moment, f"nick{n % 3}", kind, f"line {n} \u00e9\U0001f600"))
    return lines


def test_lines_come_back_as_they_went_in() -> None:
    lines = some_lines(500)
    log = LineLog(lines)
    assert list(log) == lines
    assert [log[i] for i in range(len(lines))] == lines
    assert log[-1] == lines[-1] and log[-500] == lines[0]
    assert log[10:20] == tuple(lines[10:20]) and log[::-50] == tuple(lines[::-50])
    assert list(log.rows()) == [(x.n, x.nick, x.kind, x.text) for x in lines]
    assert list(log.times()) == [x.time for x in lines]
    assert all(t.tzinfo is UTC for t in log.times())
    with pytest.raises(IndexError):
        log[500]
    with pytest.raises(IndexError):
        log[-501]


def test_numbers_out_of_the_usual_order_are_kept() -> None:
    # A meeting read back from the database may miss a line that was set aside: the
    # numbers then come back as they were, before and after the gap, in snapshots too.
    lines = [x for x in some_lines(1200) if x.n not in (700, 701)]
    log = LineLog()
    for line in lines[:600]:
        log.append(line)
    before = log.snapshot()
    for line in lines[600:]:
        log.append(line)
    assert [n for n, _, _, _ in log.rows()] == [x.n for x in lines]
    assert log[698].n == 699 and log[699].n == 702 and log[-1].n == 1200
    assert [s[1] for s in log.speakers()] == [1, 2, 3]
    assert [n for n, _, _, _ in before.rows()] == list(range(1, 601))
    assert log.snapshot().snapshot()[-1] == lines[-1]


def test_speakers_are_counted_in_the_order_they_first_spoke() -> None:
    nicks = ["carol", "alice", "carol", "Alice", "bob", "alice", "carol", "bob", "dave"]
    log = LineLog(
        LogLine(n, T0 + timedelta(seconds=n), nick, LINE_MESSAGE, f"x{n}")
        for n, nick in enumerate(nicks, start=3)
    )
    assert log.speakers() == [
        ("carol", 3, 3),
        ("alice", 4, 2),
        ("Alice", 6, 1),
        ("bob", 7, 2),
        ("dave", 11, 1),
    ]
    grown = LineLog(log)
    view = grown.snapshot()
    grown.add(12, T0, "erin", LINE_ACTION, "late")
    assert view.speakers() == log.speakers()  # a snapshot counts only its own lines
    assert grown.speakers()[-1] == ("erin", 12, 1)
    assert LineLog().speakers() == []


def test_times_keep_every_microsecond_far_from_1970() -> None:
    moments = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 30, 0, 1, tzinfo=ZoneInfo("Europe/Prague")),
    ]
    log = LineLog(LogLine(n, m, "a", LINE_MESSAGE, "x") for n, m in enumerate(moments, 1))
    # The same instants, in UTC (the last one is in the hour Prague lives twice).
    assert list(log.times()) == [m.astimezone(UTC) for m in moments]
    assert [t.utcoffset() for t in log.times()] == [timedelta(0)] * 4


def test_epoch_micros_and_back() -> None:
    assert epoch_micros(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    assert epoch_micros(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1
    assert epoch_micros(datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Prague"))) == (
        1_774_744_200_000_000
    )
    # A naive time can only be UTC (recorded times are aware).
    assert epoch_micros(datetime(1970, 1, 1, 0, 0, 1)) == 1_000_000
    assert from_epoch_micros(-1) == datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert from_epoch_micros(1_774_744_200_000_000) == T0
    assert from_epoch_micros(1).tzinfo is UTC


def test_a_snapshot_does_not_see_later_lines_and_cannot_grow() -> None:
    lines = some_lines(30)
    log = LineLog(lines[:20])
    snap = log.snapshot()
    for line in lines[20:]:
        log.append(line)
    assert len(snap) == 20 and list(snap) == lines[:20]
    assert list(snap.rows()) == [(x.n, x.nick, x.kind, x.text) for x in lines[:20]]
    assert list(log) == lines
    with pytest.raises(ValueError, match="cannot grow"):
        snap.append(lines[0])


def test_a_record_keeps_its_lines_unchangeable() -> None:
    lines = some_lines(5)
    record = blank_record(lines=tuple(lines))
    assert isinstance(record.lines, LineLog) and record.lines == tuple(lines)
    with pytest.raises(ValueError, match="cannot grow"):
        record.lines.append(lines[0])


def test_equal_logs_compare_and_hash_equal() -> None:
    lines = some_lines(12)
    assert LineLog(lines) == LineLog(lines)
    assert LineLog(lines) == lines and LineLog(lines) == tuple(lines)
    assert hash(LineLog(lines).snapshot()) == hash(LineLog(lines).snapshot())
    assert LineLog(lines) != LineLog(lines[:-1])
    assert LineLog(lines) != [*lines[:-1], lines[0]]


def test_each_nick_is_stored_once() -> None:
    log = LineLog()
    for n in range(1, 4):
        log.add(n, T0, "".join(["al", "ice"]), LINE_MESSAGE, "hi")
    nicks = [nick for _, nick, _, _ in log.rows()]
    assert nicks == ["alice"] * 3 and nicks[0] is nicks[1] is nicks[2]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Prague", "America/St_Johns", "Asia/Kolkata"])
def test_line_times_match_a_conversion_line_by_line(zone: str) -> None:
    # Many lines a second, whole seconds, and both of 2026's daylight-saving changes.
    lines = some_lines(3000) + some_lines(3000, datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    lines = [LogLine(n, x.time, x.nick, x.kind, x.text) for n, x in enumerate(lines, 1)]
    record = blank_record(lines=tuple(lines), timezone=zone)
    assert line_times(record) == [x.time.astimezone(ZoneInfo(zone)).isoformat() for x in lines]


def test_texts_of_many_blocks_and_any_characters_come_back_whole() -> None:
    # Texts are kept as UTF-8 a block at a time and decoded in blocks: across block edges, in
    # snapshots taken mid-block, with lone surrogates and four-byte characters.
    odd = ["", "plain", "\u00e9t\u00e9", "\U0001f600 smile", "lone \udcff", "\x00\u202e", "z" * 600]
    lines = [
        LogLine(n, T0 + timedelta(seconds=n), f"n{n % 5}", LINE_MESSAGE, f"{n} {odd[n % 7]}")
        for n in range(1, 2100)
    ]
    log = LineLog()
    snaps = []
    for line in lines:
        log.append(line)
        if line.n in (511, 512, 513, 1024, 1500):
            snaps.append((line.n, log.snapshot()))
    assert list(log.texts()) == [x.text for x in lines]
    assert [log[i].text for i in (0, 511, 512, 1023, 1024, 2098)] == [
        lines[i].text for i in (0, 511, 512, 1023, 1024, 2098)
    ]
    for count, snap in snaps:
        assert [t for _, _, _, t in snap.rows()] == [x.text for x in lines[:count]]
        assert snap[count - 1] == lines[count - 1]


def test_a_recorded_line_costs_about_its_text_and_a_few_words() -> None:
    # Each line: its time, a nick and a kind by index, where its text ends, and its UTF-8
    # bytes; no object per line (a str object per text costs ~50 bytes more), and no
    # number while the lines are numbered 1, 2, 3...
    log = LineLog()
    for n in range(1, 10_001):
        log.add(n, T0, f"nick{n % 3}", LINE_MESSAGE, "x" * 60)
    assert log._numbers is None
    held = sum(sys.getsizeof(part) for part in (log._micros, log._who, log._which, log._ends))
    held += sum(map(sys.getsizeof, log._chunks)) + sys.getsizeof(log._chunks)
    held += sys.getsizeof(log._tail)
    assert held / 10_000 < 60 + 20 + 6  # the text, four columns, growth headroom

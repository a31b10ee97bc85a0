"""The outbox: token bucket, priority, fairness and bounds, as data in and lines out."""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.irc.outbox import Outbox, OutboxPump, is_priority


def drain(outbox: Outbox, start: float, max_steps: int = 10_000) -> list[tuple[float, str]]:
    """Take lines whenever allowed, on a fake clock; returns (time, line)."""
    sent = []
    now = start
    for _ in range(max_steps):
        if not len(outbox):
            break
        line = outbox.take(now)
        if line is None:
            delay = outbox.delay(now)
            assert delay is not None and delay > 0
            now += delay
        else:
            sent.append((now, line))
    return sent


def test_burst_then_rate() -> None:
    outbox = Outbox(rate=10, burst=4)
    for i in range(20):
        outbox.put(f"PRIVMSG #a :{i}", target="#a")
    sent = drain(outbox, start=100.0)
    times = [t for t, _ in sent]
    assert len(sent) == 20
    assert times[:4] == [100.0] * 4
    assert times[-1] - 100.0 >= 1.6 - 1e-9
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times[3:]))
    assert [line for _, line in sent] == [f"PRIVMSG #a :{i}" for i in range(20)]


def test_rate_zero_is_unthrottled() -> None:
    outbox = Outbox(rate=0, burst=1)
    for i in range(50):
        outbox.put(f"PRIVMSG #a :{i}", target="#a")
    assert [t for t, _ in drain(outbox, 0.0)] == [0.0] * 50


def test_tokens_refill_up_to_burst_only() -> None:
    outbox = Outbox(rate=1, burst=4)
    assert outbox.take(0.0) is None  # nothing queued
    for i in range(10):
        outbox.put(f"PRIVMSG #a :{i}", target="#a")
    now = 1000.0  # a long idle time still only gives `burst` lines at once
    taken = 0
    while outbox.take(now) is not None:
        taken += 1
    assert taken == 4
    assert outbox.delay(now) == 1.0


def test_priority_lines_go_first_and_ignore_the_bucket() -> None:
    outbox = Outbox(rate=1, burst=2)
    for text in ("one", "two", "three"):
        outbox.put(f"PRIVMSG #a :{text}", target="#a")
    assert outbox.take(0.0) == "PRIVMSG #a :one"
    outbox.put("PONG :x", priority=True)
    assert outbox.take(0.0) == "PONG :x"  # spent the last token
    assert outbox.take(0.0) is None
    outbox.put("PONG :y", priority=True)
    assert outbox.delay(0.0) == 0.0
    assert outbox.take(0.0) == "PONG :y"  # no token needed, and no debt made
    assert outbox.take(0.9) is None
    assert outbox.take(1.0) == "PRIVMSG #a :two"


def test_round_robin_between_targets() -> None:
    outbox = Outbox(rate=1, burst=1)
    for i in range(10):
        outbox.put(f"PRIVMSG #busy :{i}", target="#busy")
    outbox.put("PRIVMSG #quiet :hello", target="#quiet")
    sent = [line for _, line in drain(outbox, 0.0)]
    assert sent.index("PRIVMSG #quiet :hello") <= 1
    assert [s for s in sent if "#busy" in s] == [f"PRIVMSG #busy :{i}" for i in range(10)]


def test_targets_are_case_insensitive_queues() -> None:
    outbox = Outbox(rate=1, burst=1)
    outbox.put("PRIVMSG #A :1", target="#A")
    outbox.put("PRIVMSG #a :2", target="#a")
    outbox.put("PRIVMSG #b :3", target="#b")
    sent = [line for _, line in drain(outbox, 0.0)]
    assert sent == ["PRIVMSG #A :1", "PRIVMSG #b :3", "PRIVMSG #a :2"]


def test_full_queue_drops_oldest_line_of_the_busiest_target() -> None:
    outbox = Outbox(rate=1, burst=1, max_queued=5)
    for i in range(4):
        assert outbox.put(f"PRIVMSG #busy :{i}", target="#busy") == []
    assert outbox.put("PRIVMSG #other :x", target="#other") == []
    dropped = outbox.put("PRIVMSG #other :y", target="#other")
    assert [(d.target, d.line) for d in dropped] == [("#busy", "PRIVMSG #busy :0")]
    assert len(outbox) == 5


def test_priority_lane_is_bounded_too() -> None:
    outbox = Outbox(rate=1, burst=1, max_priority=2)
    outbox.put("PONG :1", priority=True)
    outbox.put("PONG :2", priority=True)
    dropped = outbox.put("PONG :3", priority=True)
    assert [d.line for d in dropped] == ["PONG :1"]


def test_put_never_blocks_even_when_flooded() -> None:
    outbox = Outbox(rate=1, burst=4, max_queued=100)
    dropped = 0
    for i in range(10_000):
        dropped += len(outbox.put(f"PRIVMSG #a :{i}", target="#a"))
    assert len(outbox) == 100
    assert dropped == 9_900


def test_clear_forgets_everything() -> None:
    outbox = Outbox()
    outbox.put("PRIVMSG #a :x", target="#a")
    outbox.put("PONG :x", priority=True)
    outbox.clear()
    assert len(outbox) == 0
    assert outbox.delay(0.0) is None


def test_priority_commands() -> None:
    assert is_priority("PONG :x")
    assert is_priority("cap END")
    assert is_priority("QUIT :bye")
    assert not is_priority("PRIVMSG #a :PONG")
    assert not is_priority("JOIN #a")


async def test_pump_paces_real_time() -> None:
    outbox = Outbox(rate=20, burst=2)
    written: list[tuple[float, str]] = []
    pump = OutboxPump(outbox, lambda line: written.append((time.monotonic(), line)))
    task = asyncio.create_task(pump.run())
    try:
        start = time.monotonic()
        for i in range(6):
            outbox.put(f"PRIVMSG #a :{i}", target="#a")
        pump.wake()
        await asyncio.wait_for(pump.drained(), 3.0)
        assert [line for _, line in written] == [f"PRIVMSG #a :{i}" for i in range(6)]
        assert written[-1][0] - start >= 0.2 - 0.02  # 4 lines after the burst at 20/s
    finally:
        task.cancel()


def test_one_queue_per_channel_as_the_server_folds_names() -> None:
    outbox = Outbox(rate=0, burst=1)  # RFC 1459 unless told otherwise: `[` is `{` upper-cased
    outbox.put("PRIVMSG #a[1] :x1", target="#a[1]")
    outbox.put("PRIVMSG #A{1} :x2", target="#A{1}")
    outbox.put("PRIVMSG #b :y", target="#b")
    assert [line for _, line in drain(outbox, 0.0)] == [
        "PRIVMSG #a[1] :x1",
        "PRIVMSG #b :y",  # round robin: #a{1} already had its turn
        "PRIVMSG #A{1} :x2",
    ]
    ascii_outbox = Outbox(rate=0, burst=1, fold=str.lower)  # CASEMAPPING=ascii
    ascii_outbox.put("PRIVMSG #a[1] :x1", target="#a[1]")
    ascii_outbox.put("PRIVMSG #A{1} :x2", target="#A{1}")
    ascii_outbox.put("PRIVMSG #b :y", target="#b")
    assert [line for _, line in drain(ascii_outbox, 0.0)][1] == "PRIVMSG #A{1} :x2"


async def test_unpaced_lines_are_written_at_once_paced_ones_by_the_pump() -> None:
    # Without pacing a reply does not wait for the pump's turn of the loop; with pacing the
    # pump takes the channels in turn, so nothing is written before it runs.
    written: list[str] = []
    unpaced = OutboxPump(Outbox(rate=0), written.append)
    unpaced.outbox.put("PRIVMSG #a :one", target="#a")
    unpaced.outbox.put("PRIVMSG #b :two", target="#b")
    unpaced.wake()
    assert written == ["PRIVMSG #a :one", "PRIVMSG #b :two"]
    paced_lines: list[str] = []
    paced = OutboxPump(Outbox(rate=1.0, burst=4), paced_lines.append)
    paced.outbox.put("PRIVMSG #a :one", target="#a")
    paced.wake()
    assert paced_lines == []
    task = asyncio.create_task(paced.run())
    try:
        await asyncio.wait_for(paced.drained(), 1.0)
    finally:
        task.cancel()
    assert paced_lines == ["PRIVMSG #a :one"]

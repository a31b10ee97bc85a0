"""End to end: the bot survives kill -9, server restarts, a squatted nick, kicks, floods
and SIGTERM, against a real ngircd with real client connections."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.botproc import BotProcess
from tests.ircserver import Ngircd, RawClient

CHANNEL = "#openstack-meeting"


def bot_says(nick: str, text: str = "") -> re.Pattern[str]:
    return re.compile(rf"^:{re.escape(nick)}!\S+ PRIVMSG {CHANNEL} :{re.escape(text)}")


def bot_joins(nick: str) -> re.Pattern[str]:
    return re.compile(rf"^:{re.escape(nick)}!\S+ JOIN :?{CHANNEL}")


async def open_meeting(
    chair: RawClient, watcher: RawClient, name: str, nick: str = "meetbot"
) -> None:
    """Wait for the bot to join, start a meeting and wait for the bot to confirm it."""
    await watcher.expect(bot_joins(nick), 20)
    await chair.say(CHANNEL, f"#startmeeting {name}")
    await watcher.expect(bot_says(nick, "The meeting name has been set to"), 10)


async def connect(ircd: Ngircd, *nicks: str) -> list[RawClient]:
    clients = []
    for nick in nicks:
        client = await RawClient.connect(ircd.host, ircd.port, nick)
        await client.join(CHANNEL)
        clients.append(client)
    return clients


@pytest.fixture
async def room(ircd: Ngircd) -> AsyncIterator[list[RawClient]]:
    clients = await connect(ircd, "alice", "watcher")
    yield clients
    for client in clients:
        await client.close()


def minutes_files(bot: BotProcess) -> dict[str, Path]:
    (json_path,) = bot.meetings.rglob("*.json")
    base = str(json_path)[: -len(".json")]
    return {ext: Path(base + ext) for ext in (".txt", ".html", ".log.txt", ".log.html", ".json")}


async def test_kill_9_then_restart_resumes_the_meeting(
    ircd: Ngircd, room: list[RawClient], tmp_path: Path
) -> None:
    alice, watcher = room
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.start()
    try:
        await open_meeting(alice, watcher, "crash test")
        said = [f"line {n} before the crash" for n in range(20)]
        for text in said:
            await alice.say(CHANNEL, text)
        await alice.say(CHANNEL, "#chair")
        await watcher.expect(bot_says("meetbot", "Current chairs: alice"), 10)
        bot.kill()
        await watcher.expect(re.compile(r"^:meetbot!\S+ QUIT"), 10)
        await alice.say(CHANNEL, "said while the bot was away")
        bot.start()
        await watcher.expect(bot_joins("meetbot"), 20)
        resumed = await watcher.expect(bot_says("meetbot", "Recording again: I was away from "), 10)
        # the meeting goes on without a new #startmeeting: alice is still its chair
        await alice.say(CHANNEL, "#chair")
        await watcher.expect(bot_says("meetbot", "Current chairs: alice"), 10)
        await alice.say(CHANNEL, "after the restart")
        await alice.say(CHANNEL, "#endmeeting")
        await watcher.expect(bot_says("meetbot", "Log:"), 15)
    finally:
        bot.stop()
    files = minutes_files(bot)
    log_text = files[".log.txt"].read_text(encoding="utf-8")
    for text in [*said, "after the restart", "#startmeeting crash test", "#endmeeting"]:
        assert f"<alice> {text}\n" in log_text
    assert log_text.count("#startmeeting") == 1
    record = json.loads(files[".json"].read_text(encoding="utf-8"))
    (gap,) = record["gaps"]
    assert gap["reason"] == "restart"
    # the gap where people look: the channel, both logs at its place, both minutes
    start, end = gap["start"][11:19], gap["end"][11:19]
    assert f"I was away from {start} to {end} UTC;" in resumed
    missing = f"Gavel was not connected from {start} to {end}; lines said meanwhile are missing"
    assert f"{start} *** {missing}\n" in log_text
    assert "said while the bot was away" not in log_text
    assert (
        log_text.index("<alice> line 19 before the crash")
        < log_text.index(missing)
        < log_text.index("<alice> after the restart")
    )
    assert f'<span class="gap">*** {missing}</span>' in files[".log.html"].read_text("utf-8")
    note = f"Gavel was not connected from {start} to {end} UTC; lines said meanwhile are missing"
    minutes_text = " ".join(files[".txt"].read_text(encoding="utf-8").split())
    assert f"Meeting ended at {record['end'][11:19]} UTC. {note} from the log." in minutes_text
    assert f'<p class="details gap">{note} from the log.</p>' in files[".html"].read_text("utf-8")
    with sqlite3.connect(bot.database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_server_restart_mid_meeting_reconnects_and_records_a_gap(
    ircd: Ngircd, tmp_path: Path
) -> None:
    alice, watcher = await connect(ircd, "alice", "watcher")
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.start()
    try:
        await open_meeting(alice, watcher, "outage")
        await alice.say(CHANNEL, "before the outage")
        await alice.say(CHANNEL, "#chair")
        await watcher.expect(bot_says("meetbot", "Current chairs"), 10)
        await alice.close()
        await watcher.close()
        ircd.restart()
        alice, watcher = await connect(ircd, "alice", "watcher")
        started = time.monotonic()
        await watcher.expect(bot_joins("meetbot"), 40)
        rejoin_seconds = time.monotonic() - started
        await alice.say(CHANNEL, "after the outage")
        await alice.say(CHANNEL, "#endmeeting")
        await watcher.expect(bot_says("meetbot", "Log:"), 15)
    finally:
        bot.stop()
        await alice.close()
        await watcher.close()
    assert rejoin_seconds < 35
    files = minutes_files(bot)
    log_text = files[".log.txt"].read_text(encoding="utf-8")
    assert "<alice> before the outage\n" in log_text and "<alice> after the outage\n" in log_text
    record = json.loads(files[".json"].read_text(encoding="utf-8"))
    assert len(record["gaps"]) == 1
    assert record["end"] is not None


async def test_nick_in_use_at_connect_takes_the_alternative(
    ircd: Ngircd, room: list[RawClient], tmp_path: Path
) -> None:
    alice, watcher = room
    squatter = await RawClient.connect(ircd.host, ircd.port, "meetbot")
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.start()
    try:
        await open_meeting(alice, watcher, "squat", nick="meetbot_")
    finally:
        bot.stop()
        await squatter.close()


async def test_kicked_bot_rejoins_and_keeps_recording(
    ircd: Ngircd, room: list[RawClient], tmp_path: Path
) -> None:
    alice, watcher = room  # alice founded the channel: she is an operator
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.start()
    try:
        await open_meeting(alice, watcher, "kick")
        await alice.send(f"KICK {CHANNEL} meetbot :out")
        await watcher.expect(f"KICK {CHANNEL} meetbot", 5)
        await watcher.expect(bot_joins("meetbot"), 20)
        await alice.say(CHANNEL, "#endmeeting")
        await watcher.expect(bot_says("meetbot", "Log:"), 15)
    finally:
        bot.stop()
    record = json.loads(minutes_files(bot)[".json"].read_text(encoding="utf-8"))
    (gap,) = record["gaps"]
    assert gap["reason"].startswith("kicked by alice")


async def test_flood_of_commands_never_exceeds_the_rate(ircd: Ngircd, tmp_path: Path) -> None:
    nicks = ["p1", "p2", "p3", "p4", "p5"]
    people = await connect(ircd, *nicks, "watcher")
    watcher = people.pop()
    bot = BotProcess(tmp_path / "bot", ircd.port, rate=1.0)
    bot.start()
    arrivals: list[float] = []
    original = watcher.on_line

    def timed(line: str) -> None:
        if line.startswith(":meetbot!") and " PRIVMSG " in line:
            arrivals.append(time.monotonic())
        original(line)

    watcher.on_line = timed  # type: ignore[method-assign]
    try:
        await open_meeting(people[0], watcher, "flood")
        await people[0].say(CHANNEL, "#chair p2 p3")
        commands = ["#commands", "#chair", "#showvote", "#vote nothing", "#startmeeting x"]
        started = time.monotonic()
        for n in range(200):
            who = people[n % len(people)]
            await who.say(CHANNEL, commands[n % len(commands)])
            await asyncio.sleep(max(0.0, started + n * 0.025 - time.monotonic()))
        # the bot still answers afterwards: it was never disconnected for flooding
        await asyncio.sleep(3)
        await people[0].say(CHANNEL, "#endmeeting")
        await watcher.expect(bot_says("meetbot", "Log:"), 90)
        assert not watcher.seen(re.compile(r"^:meetbot!\S+ QUIT"))
    finally:
        bot.stop()
        for client in [*people, watcher]:
            await client.close()
    assert "Excess Flood" not in "\n".join(watcher.lines)
    # token bucket: burst 4, then 1 line/s; allow 0.5 s of network jitter
    for i, first in enumerate(arrivals):
        within = [t for t in arrivals[i:] if t - first <= 10.0]
        assert len(within) <= 4 + 10.5, (i, len(within))


async def test_sigterm_exits_within_five_seconds_and_the_meeting_survives(
    ircd: Ngircd, room: list[RawClient], tmp_path: Path
) -> None:
    alice, watcher = room
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.start()
    try:
        await open_meeting(alice, watcher, "term")
        await alice.say(CHANNEL, "one line")
        await alice.say(CHANNEL, "#chair")
        await watcher.expect(bot_says("meetbot", "Current chairs"), 10)
        started = time.monotonic()
        bot.signal(signal.SIGTERM)
        code = bot.wait(10)
        elapsed = time.monotonic() - started
        await watcher.expect(re.compile(r"^:meetbot!\S+ QUIT"), 5)
        bot.start()
        await watcher.expect(bot_joins("meetbot"), 20)
        await alice.say(CHANNEL, "#endmeeting")
        await watcher.expect(bot_says("meetbot", "Log:"), 15)
    finally:
        bot.stop()
    assert code == 0
    assert elapsed < 5.0
    log_text = minutes_files(bot)[".log.txt"].read_text(encoding="utf-8")
    assert "<alice> one line\n" in log_text

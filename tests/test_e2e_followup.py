"""End to end, between meetings: #success/#thanks and #previous with the bot as a process
on a real ngircd, and announcements to a webhook receiver started here, through kill -9."""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.botproc import ROOT, URL_PREFIX, BotProcess, wait_for
from tests.ircserver import Ngircd
from tests.receivers import HookReceiver
from tests.test_e2e_meeting import CHANNEL, Meeting, join_people

FOLLOWUP = """
[archive]
aliases = { heat = ["heat_team"] }
"""


def hook_config(hook: HookReceiver) -> str:
    return f"""
[announce]
retry_first_delay = 0.2
retry_max_delay = 1.0
timeout = 10.0

[[announce.webhooks]]
url = "{hook.url}"
secret_env = "GAVEL_TEST_HOOK_SECRET"
"""


async def open_meeting(
    ircd: Ngircd, tmp_path: Path, extra: str, *, previous_at_start: bool = False
) -> Meeting:
    people = await join_people(ircd, "alice", "bob", "carol", "watcher")
    observer = people.pop("watcher")
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.write_config()
    text = bot.config.read_text(encoding="utf-8")
    if previous_at_start:
        plain = f'channels = ["{CHANNEL}"]'
        assert plain in text
        text = text.replace(
            plain, f'channels = [{{ name = "{CHANNEL}", previous_at_start = true }}]'
        )
    bot.config.write_text(text + extra, encoding="utf-8")
    bot.start()
    await observer.expect(re.compile(rf"^:{bot.nick}!\S+ JOIN :?{CHANNEL}"), timeout=20)
    return Meeting(people, observer, bot)


async def close_meeting(m: Meeting) -> None:
    m.bot.stop()
    for client in [*m.people.values(), m.observer]:
        await client.close()


@pytest.fixture
async def followup(ircd: Ngircd, tmp_path: Path) -> AsyncIterator[Meeting]:
    m = await open_meeting(ircd, tmp_path, FOLLOWUP)
    try:
        yield m
    finally:
        await close_meeting(m)


def page_has(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text(encoding="utf-8")


async def test_success_and_thanks_in_and_out_of_a_meeting(followup: Meeting) -> None:
    m = followup
    await m.say("bob", "#success the gate is green <again>")
    await m.replies(f"bob: Added success to Success page ({URL_PREFIX}successes.html)")
    page = m.bot.meetings / "successes.html"
    assert wait_for(lambda: page_has(page, "the gate is green &lt;again&gt;"), 10)
    await m.say("alice", "#startmeeting heat")
    await m.replies("The meeting name has been set to 'heat'")
    await m.say("carol", "#thanks bob for the gate")
    await m.replies(f"carol: Added your thanks to Thanks page ({URL_PREFIX}thanks.html)")
    thanks = m.bot.meetings / "thanks.html"
    assert wait_for(lambda: page_has(thanks, "carol (on #openstack-meeting)"), 10)
    assert page_has(m.bot.meetings / "thanks.atom", "bob for the gate")
    await m.say("carol", "#success")
    await m.replies("Usage: #success TEXT")
    await m.say("alice", "#endmeeting")
    await m.observer.expect(re.compile(r"PRIVMSG #openstack-meeting :Log: "), timeout=10)
    # the thanks said in the meeting links to its log once the files are written
    await m.say("bob", "#thanks carol, within a minute of his #success")  # refused: no reply
    await m.say("alice", "#thanks bob for taking notes")
    await m.replies(f"alice: Added your thanks to Thanks page ({URL_PREFIX}thanks.html)")
    assert wait_for(lambda: page_has(thanks, "bob for taking notes"), 10)
    assert "within a minute" not in thanks.read_text("utf-8")
    assert re.search(r'<a href="[^"]+heat[^"]+\.log\.html">carol', thanks.read_text("utf-8"))
    listed = subprocess.run(
        [sys.executable, "-m", "bot", "successes", "--config", str(m.bot.config)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=True,
    )
    assert listed.stdout == "• bob: the gate is green <again>\n"


@pytest.fixture
async def previous_at_start(ircd: Ngircd, tmp_path: Path) -> AsyncIterator[Meeting]:
    m = await open_meeting(ircd, tmp_path, FOLLOWUP, previous_at_start=True)
    try:
        yield m
    finally:
        await close_meeting(m)


async def test_previous_lists_ten_action_items_and_counts_the_rest(
    previous_at_start: Meeting,
) -> None:
    m = previous_at_start
    await m.say("alice", "#startmeeting heat")
    # previous_at_start: the answer follows the start replies
    await m.replies("The meeting name has been set to 'heat'", "No previous heat meeting found.")
    for n in range(1, 13):
        await m.say("carol", f"#action carol to do thing {n}")
    await m.say("alice", "#endmeeting")
    url = re.compile(rf"PRIVMSG {CHANNEL} :Minutes:        ({re.escape(URL_PREFIX)}\S+\.html)$")
    minutes_url = url.search(await m.observer.expect(url, timeout=10)).group(1)  # type: ignore[union-attr]
    day = time.strftime("%Y-%m-%d", time.gmtime())
    answer = (
        f"Previous heat meeting: {minutes_url} ({day})",
        "Action items from it:",
        *[f"* carol to do thing {n}" for n in range(1, 11)],
        "… and 2 more in the minutes",
    )
    await m.say("alice", "#startmeeting heat_team")  # an alias of the heat series
    await m.replies("The meeting name has been set to 'heat_team'", *answer)
    await m.say("bob", "#previous")
    await m.replies(*answer)
    assert m.bot_lines()[-13:] == list(answer)  # exactly these lines, nothing after


async def test_a_hanging_receiver_never_delays_a_reply(
    ircd: Ngircd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAVEL_TEST_HOOK_SECRET", "s3cret-for-tests")
    hook = HookReceiver(hang=True)
    await hook.start()
    m = await open_meeting(ircd, tmp_path, hook_config(hook))
    try:
        await m.say("alice", "#startmeeting hang")
        await m.replies("The meeting name has been set to 'hang'")
        deadline = time.monotonic() + 5  # the receiver runs on this loop: wait without blocking
        while hook.attempts < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert hook.attempts == 1  # meeting.start is hanging now
        delays = []
        for _ in range(3):
            sent = time.monotonic()
            await m.people["alice"].say(CHANNEL, "#chair bob")
            await m.replies("Current chairs: alice bob")
            delays.append(time.monotonic() - sent)
        print(f"#chair reply while the receiver hangs: max {max(delays) * 1000:.0f} ms")
        assert max(delays) < 1.5
        assert hook.received == []
    finally:
        await close_meeting(m)
        await hook.stop()


def meeting_state(database: Path, name: str) -> str:
    """'missing', 'running' or 'ended', read with plain sqlite3."""
    with sqlite3.connect(database, timeout=5) as db:
        row = db.execute("SELECT ended_at FROM meetings WHERE name = ?", (name,)).fetchone()
    return "missing" if row is None else ("running" if row[0] is None else "ended")


def completed_at(hook: HookReceiver, name: str) -> float | None:
    for r in hook.received:
        if r.event == "meeting.complete" and r.body["meeting_name"] == name:
            return r.at
    return None


async def test_kill_9_across_30_meetings_loses_no_announcement(
    ircd: Ngircd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAVEL_TEST_HOOK_SECRET", "s3cret-for-tests")
    hook = HookReceiver(refuse=2)
    await hook.start()
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    m = await open_meeting(ircd, tmp_path, hook_config(hook))
    log_line = re.compile(r"^:meetbot_?!\S+ PRIVMSG #openstack-meeting :Log: ")
    expected = {(e, f"m{i}") for i in range(30) for e in ("meeting.start", "meeting.complete")}

    def arrived() -> set[tuple[str, str]]:
        return {(r.event, r.body["meeting_name"]) for r in hook.received}

    latencies: list[float] = []
    kills = 0
    try:
        for i in range(30):
            name = f"m{i}"
            # Three people take turns: one person may have ten meetings started (answered)
            # a minute, and these 30 take a few seconds (one started over eleven times
            # without a kill between would be refused, as it should be).
            chair = m.people[("alice", "bob", "carol")[i % 3]]
            await chair.say(CHANNEL, f"#startmeeting {name}")
            await m.observer.expect(f":The meeting name has been set to '{name}'", timeout=10)
            await chair.say(CHANNEL, "#action bob to report")
            ended_at = time.monotonic()
            await chair.say(CHANNEL, "#endmeeting")
            if rng.random() < 0.35:
                # the kill lands anywhere from before the end is recorded to mid-delivery
                await asyncio.sleep(rng.uniform(0.0, 0.4))
                m.bot.kill()
                kills += 1
                m.bot.start()
                await m.observer.expect(re.compile(rf"^:meetbot_?!\S+ JOIN :?{CHANNEL}"), 20)
                if meeting_state(m.bot.database, name) == "running":
                    await chair.say(CHANNEL, "#endmeeting")
                    await m.observer.expect(log_line, 10)
                continue
            await m.observer.expect(log_line, 10)
            deadline = time.monotonic() + 10
            while completed_at(hook, name) is None and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            at = completed_at(hook, name)
            if at is not None:
                latencies.append(at - ended_at)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and arrived() != expected:
            await asyncio.sleep(0.05)
    finally:
        await close_meeting(m)
        await hook.stop()
    lost = expected - arrived()
    ids_of: dict[tuple[str, str], set[str]] = {}
    for r in hook.received:
        ids_of.setdefault((r.event, r.body["meeting_name"]), set()).add(r.delivery)
    duplicates = len(hook.received) - len({r.delivery for r in hook.received})
    print(
        f"seed {seed}: {kills} kill -9 over 30 meetings, {len(hook.received)} deliveries, "
        f"lost {len(lost)}, duplicates {duplicates} (each with its delivery id); "
        f"meeting.complete after #endmeeting: median {statistics.median(latencies) * 1000:.0f} "
        f"ms, max {max(latencies) * 1000:.0f} ms over {len(latencies)} meetings"
    )
    assert lost == set()
    assert all(len(ids) == 1 for ids in ids_of.values())  # a repeat carries the same id
    assert all(r.signed for r in hook.received)

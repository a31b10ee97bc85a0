"""End to end: a channel configured with Fedora's layout and name rule, on a real server.

The meeting is saved while it runs and then ended; both times the files must be where
Fedora's archive looks for them, and the minutes must read as MeetBot's do to its viewer.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.botproc import BotProcess
from tests.ircserver import Ngircd, RawClient
from tests.meetbot_consumer import read_minutes

CHANNEL = "#fedora-meeting"
FEDORA_CHANNEL = (
    '{ name = "#fedora-meeting", output = { meeting_names = "fedora", '
    'pattern = "{channel}/%Y-%m-%d/{meetingname}.%Y-%m-%d-%H.%M" } }'
)
FEDORA_NAME = re.compile(
    r"^fedora-meeting/(\d{4}-\d\d-\d\d)/f41_blocker-review\.\1-\d\d\.\d\d\.html$"
)


async def _minutes_file(meetings: Path, timeout: float = 10) -> Path:
    for _ in range(int(timeout / 0.05)):
        found = [
            p for p in meetings.glob("fedora-meeting/*/*.html") if not p.name.endswith(".log.html")
        ]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no minutes under {meetings}")


async def test_fedora_channel_files_and_minutes(ircd: Ngircd, tmp_path: Path) -> None:
    alice = await RawClient.connect(ircd.host, ircd.port, "alice")
    await alice.join(CHANNEL)
    bob = await RawClient.connect(ircd.host, ircd.port, "bob")
    await bob.join(CHANNEL)
    bot = BotProcess(tmp_path / "bot", ircd.port, channels=[CHANNEL])
    bot.write_config()
    config = bot.config.read_text(encoding="utf-8")
    bot.config.write_text(config.replace(f'"{CHANNEL}"', FEDORA_CHANNEL), encoding="utf-8")
    bot.start()
    try:
        await bob.expect(re.compile(rf"^:{bot.nick}!\S+ JOIN :?{CHANNEL}"), timeout=20)
        await alice.say(CHANNEL, "#startmeeting F41 Blocker-Review")
        await bob.expect(
            f"PRIVMSG {CHANNEL} :The meeting name has been set to 'f41_blocker-review'"
        )
        for text in ("#info agenda first", "#topic Proposed blockers", "#save"):
            await alice.say(CHANNEL, text)
            await bob.expect(re.compile(rf":alice!\S+ PRIVMSG {CHANNEL} :{re.escape(text)}$"))
        minutes_path = await _minutes_file(bot.meetings)
        assert FEDORA_NAME.match(str(minutes_path.relative_to(bot.meetings)))

        page = minutes_path.read_text(encoding="utf-8")
        saved = read_minutes(page)
        log = minutes_path.with_name(minutes_path.name.removesuffix(".html") + ".log.txt")
        last_time = log.read_text(encoding="utf-8").splitlines()[-1][:8]
        assert saved.ended == last_time
        assert "The meeting is still in progress" in page
        assert saved.title == f"{CHANNEL}: F41 Blocker-Review"
        assert saved.before_topics == ["agenda first"]
        assert saved.topics == [("Proposed blockers", [])]
        assert saved.actions == []

        await bob.say(CHANNEL, "#action alice to file the bug")
        await alice.say(CHANNEL, "#endmeeting")
        await bob.expect(re.compile(rf"PRIVMSG {CHANNEL} :Minutes: +\S+\.html$"), timeout=10)
        page = minutes_path.read_text(encoding="utf-8")
        final = read_minutes(page)
        assert "still in progress" not in page
        assert final.topics == [("Proposed blockers", ["ACTION: alice to file the bug"])]
        assert final.actions == ["alice to file the bug"]
        assert [p.split(" ")[0] for p in final.people] == ["alice", bot.nick, "bob"]
        assert sorted(p.name for p in minutes_path.parent.iterdir()) == sorted(
            minutes_path.name.removesuffix(".html") + ext
            for ext in (".html", ".json", ".log.html", ".log.txt", ".txt")
        )
    finally:
        bot.stop()
        await alice.close()
        await bob.close()

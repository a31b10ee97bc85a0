"""End to end: the real bot process, a real ngircd, and people on real connections."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.botproc import ROOT, URL_PREFIX, BotProcess
from tests.ircserver import Ngircd, RawClient

CHANNEL = "#openstack-meeting"


class Meeting:
    """People in a channel with the bot, and an observer who checks what the channel sees."""

    def __init__(self, people: dict[str, RawClient], observer: RawClient, bot: BotProcess):
        self.people = people
        self.observer = observer
        self.bot = bot

    async def say(self, nick: str, text: str) -> None:
        """Say a line and wait until the channel has seen it (so order is certain)."""
        await self.people[nick].say(CHANNEL, text)
        await self.observer.expect(f":{nick}!", timeout=5)

    async def replies(self, *expected: str | re.Pattern[str], timeout: float = 10) -> None:
        for line in expected:
            pattern = (
                line
                if isinstance(line, re.Pattern)
                else re.compile(rf"^:{self.bot.nick}!\S+ PRIVMSG {CHANNEL} :{re.escape(line)}$")
            )
            await self.observer.expect(pattern, timeout=timeout)

    def bot_lines(self) -> list[str]:
        prefix = f":{self.bot.nick}!"
        return [
            line.split(" :", 1)[1]
            for line in self.observer.lines
            if line.startswith(prefix) and " PRIVMSG " in line
        ]


async def join_people(ircd: Ngircd, *nicks: str) -> dict[str, RawClient]:
    people = {}
    for nick in nicks:
        client = await RawClient.connect(ircd.host, ircd.port, nick)
        await client.join(CHANNEL)
        people[nick] = client
    return people


@pytest.fixture
async def meeting(ircd: Ngircd, tmp_path: Path) -> AsyncIterator[Meeting]:
    people = await join_people(ircd, "alice", "bob", "carol", "watcher")
    observer = people.pop("watcher")
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.start()
    try:
        await observer.expect(re.compile(rf"^:{bot.nick}!\S+ JOIN :?{CHANNEL}"), timeout=20)
        # alice founded the channel, so she is its operator; she makes the bot one too
        await people["alice"].send(f"MODE {CHANNEL} +o {bot.nick}")
        await observer.expect(f"MODE {CHANNEL} +o {bot.nick}")
        yield Meeting(people, observer, bot)
    finally:
        bot.stop()
        for client in [*people.values(), observer]:
            await client.close()


STARTED = re.compile(
    r"^:meetbot!\S+ PRIVMSG #openstack-meeting :Meeting started \w{3} \w{3} [ \d]\d "
    r"\d\d:\d\d:\d\d \d{4} UTC and is due to finish in 60 minutes\.  The chair is alice\. "
    r"Information about MeetBot at http://wiki\.debian\.org/MeetBot\.$"
)


async def test_a_whole_meeting_with_every_kind_of_command(meeting: Meeting) -> None:
    m = meeting
    await m.say("alice", "#startmeeting Heat")
    await m.replies(
        STARTED,
        "Useful Commands: #action #agreed #help #info #idea #link #topic #startvote.",
        "The meeting name has been set to 'heat'",
    )
    await m.say("bob", "#startmeeting again")
    await m.replies(
        "Error: Can't start another meeting, one is in progress.  Use #endmeeting first."
    )
    await m.say("alice", "#chair bob zed")
    await m.replies("Warning: Nick not in channel: zed", "Current chairs: alice bob zed")
    await m.say("alice", "#unchair zed")
    await m.replies("Current chairs: alice bob")
    await m.say("bob", "#topic Review action items")
    await m.observer.expect(f"TOPIC {CHANNEL} :Review action items (Meeting topic: Heat)")
    for who, text in [
        ("bob", "#info all done"),
        ("carol", "#action carol to write docs"),
        ("carol", "https://review.example.org/123"),
        ("alice", "#agreed ship it"),
        ("carol", "#agreed not a chair"),
        ("carol", "#idea use a gavel"),
        ("carol", "#help reviewers wanted"),
        ("carol", "#link http://example.org/spec spec"),
        ("alice", "#accepted the spec"),
        ("alice", "#rejected the old plan"),
        ("bob", "#nick erin"),
        ("carol", "\x01ACTION waves\x01"),
    ]:
        await m.say(who, text)
    await m.say("alice", "#undo")
    await m.replies("Removing item from minutes: #rejected the old plan")
    await m.say("alice", "#meetingname Heat Team")
    await m.replies("The meeting name has been set to 'heat_team'")
    await m.say("alice", "#meetingtopic Heat weekly")
    await m.say("alice", "#startvote Release now? Yes, No")
    await m.replies(
        "Begin voting on: Release now? Valid vote options are Yes, No.",
        "Vote using '#vote OPTION'. Only your last vote counts.",
    )
    await m.say("bob", "#vote yes")
    await m.say("carol", "#vote maybe")
    await m.replies("carol: maybe is not a valid option. Valid options are Yes, No.")
    await m.say("carol", "#vote No")
    await m.say("bob", "#showvote")
    await m.replies("Yes (1): bob", "No (1): carol")
    await m.say("alice", "#endvote")
    await m.replies('Voted on "Release now?" Results are', "Yes (1): bob", "No (1): carol")
    await m.say("carol", "#commands")
    await m.replies(re.compile(r"PRIVMSG #openstack-meeting :Available commands: #accept "))
    await m.say("alice", "#save")
    base = m.bot.meetings / "heat_team"
    await m.say("alice", "#lurk")
    await m.say("alice", "#chair")
    await m.say("alice", "#unlurk")
    await m.say("alice", "#restrictlogs")
    await m.replies("Restricting permissions on minutes: -0o77 on next #save")
    await m.say("alice", "#endmeeting")
    ended = re.compile(
        r"PRIVMSG #openstack-meeting :Meeting ended .* UTC\.  Information about MeetBot at "
        r"http://wiki\.debian\.org/MeetBot \. \(v 1\.0\.0\)$"
    )
    await m.replies(ended)
    url = re.compile(rf"PRIVMSG {CHANNEL} :Minutes:        ({re.escape(URL_PREFIX)}\S+)\.html$")
    line = await m.observer.expect(url)
    url_base = url.search(line).group(1)  # type: ignore[union-attr]
    await m.replies(f"Minutes (text): {url_base}.txt", f"Log:            {url_base}.log.html")
    # the lurk silenced exactly one reply: no "Current chairs" after "#chair" while lurking
    assert m.bot_lines().count("Current chairs: alice bob") == 1

    relative = url_base.removeprefix(URL_PREFIX)
    files = {
        ext: m.bot.meetings / f"{relative}{ext}"
        for ext in (".txt", ".html", ".log.txt", ".log.html", ".json")
    }
    for path in files.values():
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # restricted
    assert base.is_dir()
    minutes = files[".txt"].read_text(encoding="utf-8")
    title = "#openstack-meeting: Heat weekly"
    assert minutes.startswith(f"{'=' * len(title)}\n{title}\n{'=' * len(title)}\n")
    for expected in (
        "* Review action items  (bob,",
        "  * all done  (bob,",
        "  * ACTION: carol to write docs  (carol,",
        "  * LINK: https://review.example.org/123  (carol,",
        "  * AGREED: ship it  (alice,",
        "  * IDEA: use a gavel  (carol,",
        "  * HELP: reviewers wanted  (carol,",
        "  * LINK: http://example.org/spec spec  (carol,",
        "  * ACCEPTED: the spec  (alice,",
        '  * VOTE: Voted on "Release now?" Results are, Yes: 1, No: 1  (alice,',
        "* carol\n  * carol to write docs",
        "* erin (0)",
    ):
        assert expected in minutes, expected
    assert "the old plan" not in minutes.split("People present")[0].split("Meeting summary")[1]
    assert "not a chair" not in minutes.split("Meeting ended")[0].split("Meeting summary")[1]
    log_txt = files[".log.txt"].read_text(encoding="utf-8")
    assert "> #startmeeting Heat\n" in log_txt and "> #endmeeting\n" in log_txt
    assert " * carol waves\n" in log_txt
    assert "<meetbot> Useful Commands:" in log_txt
    assert "Meeting ended" not in log_txt
    record = json.loads(files[".json"].read_text(encoding="utf-8"))
    assert record["channel"] == CHANNEL and record["name"] == "heat_team"
    assert record["restricted"] is True


async def test_invalid_config_is_rejected_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[[networks]]\nname = "x"\nhost = "127.0.0.1"\n'
        'channels = [{ name = "#a", timezone = "Mars/Base" }]\n',
        encoding="utf-8",
    )
    for command in ("check-config", "run"):
        run = subprocess.run(
            [sys.executable, "-m", "bot", command, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=ROOT,
            check=False,
        )
        assert run.returncode == 2
        assert "networks[0].channels[0].timezone: unknown time zone 'Mars/Base'" in run.stderr


async def test_channel_topic_is_put_back_at_the_end(meeting: Meeting) -> None:
    m = meeting
    welcome = "Welcome to the meeting channel | agenda: https://wiki.example.org/Meetings"
    await m.people["alice"].send(f"TOPIC {CHANNEL} :{welcome}")
    await m.observer.expect(f"TOPIC {CHANNEL} :{welcome}")
    await m.say("alice", "#startmeeting Heat")
    await m.replies("The meeting name has been set to 'heat'")
    await m.say("alice", "#topic Reviews")
    await m.observer.expect(f"TOPIC {CHANNEL} :Reviews (Meeting topic: Heat)")
    await m.say("alice", "#meetingtopic Heat weekly")
    await m.observer.expect(f"TOPIC {CHANNEL} :Reviews (Meeting topic: Heat weekly)")
    await m.say("alice", "#endmeeting")
    bot_topic = re.compile(rf"^:meetbot!\S+ TOPIC {CHANNEL} :(.*)$")
    restored = await m.observer.expect(bot_topic, timeout=10)
    assert restored.endswith(f" :{welcome}")


async def test_every_mistake_answered_then_told_once(meeting: Meeting) -> None:
    m = meeting
    await m.say("alice", "#startmeeting Heat")
    await m.replies("The meeting name has been set to 'heat'")
    await m.say("alice", "#startvote Release now? Yes, No")
    await m.replies("Vote using '#vote OPTION'. Only your last vote counts.")
    await m.say("alice", "#vote maybe")
    await m.replies("alice: maybe is not a valid option. Valid options are Yes, No.")
    await m.say("alice", "#endvote")
    await m.replies('Voted on "Release now?" Results are')
    for _ in range(4):  # the second to fifth mistakes of the minute are answered
        await m.say("alice", "#startvote no question mark")
        await m.replies("Unable to parse vote topic and options.")
    await m.say("alice", "#startvote no question mark")  # the sixth: told once
    await m.replies("alice: too many commands; I will answer again in a minute")
    await m.say("alice", "#startvote no question mark")  # the seventh: silence
    await m.say("alice", "#endmeeting")
    await m.replies(re.compile(r"PRIVMSG #openstack-meeting :Log: "))
    lines = m.bot_lines()
    assert lines.count("Unable to parse vote topic and options.") == 4
    assert lines.count("alice: too many commands; I will answer again in a minute") == 1

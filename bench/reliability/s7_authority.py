"""Scenario 7 — authority: nobody but a chair changes a meeting.

1. Core, exhaustively (`tests.corekit.Room`, no network): every chair-only command word
   (the spec's list and the command table's, which must agree) × case and spacing variants
   × people who are not chairs: a non-chair logged in, a non-chair not logged in, and
   strangers who take a departed chair's (or the owner's) nick in any letter case — after
   a QUIT, a PART or a nick change, logged in as someone else or not at all. Chairs were
   made the ways a network with accounts allows: joined after the bot (extended-join),
   or listed by NAMES and known by the `account` tag of a line before or after `#chair`.
   Each try starts from a fresh meeting with an open vote, items and a second chair, and
   compares the meeting (name, topic, chairs, flags, items, votes, end) and the effects
   that change state, before and after. Positive controls: the same commands from the real
   chair, and from the departed chair back under another nick, must change the meeting
   (so the comparison can see a change).
2. Live (ngircd and the real bot): a non-chair sends every chair-only command in several
   cases; the files written at the end must show the meeting as the chairs left it, and
   no file may have been written before `#endmeeting`.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.reliability import Profile, Result
from bench.reliability._abuse import Bot, files_under
from bot.core.commands import COMMANDS, Who
from bot.core.effects import (
    Effect,
    ItemRecorded,
    ItemRemoved,
    MeetingChanged,
    MeetingEnded,
    MeetingStarted,
    PersonNamed,
    Publish,
    Say,
    SetTopic,
    VoteChanged,
)
from bot.core.events import Member, NickChanged, Parted, Quit
from tests.corekit import Room
from tests.ircserver import Ngircd, RawClient

TITLE = "Authority: chair-only commands from non-chairs and impostors"

SPEC_CHAIR_ONLY = (
    "endmeeting",
    "topic",
    "meetingtopic",
    "meetingname",
    "chair",
    "unchair",
    "undo",
    "save",
    "lurk",
    "unlurk",
    "restrictlogs",
    "agreed",
    "accepted",
    "rejected",
    "startvote",
    "endvote",
)
ARGS = {
    "topic": "a new topic",
    "meetingtopic": "a new title",
    "meetingname": "renamed",
    "chair": "mallory carol",
    "unchair": "bob",
    "startvote": "Again? Yes, No",
}
HOSTILE_ARGS = ("", "none", "<script>x</script>", "alice bob mallory", "../../x")
STATE_EFFECTS = (
    ItemRecorded,
    ItemRemoved,
    MeetingChanged,
    MeetingEnded,
    MeetingStarted,
    PersonNamed,
    Publish,
    SetTopic,
    VoteChanged,
)
ALICE, BOB = "alice-account", "bob-account"


def chair_only_words() -> list[str]:
    table = {word for word, command in COMMANDS.items() if command.who is not Who.ANYONE}
    return sorted(table | set(SPEC_CHAIR_ONLY))


def case_variants(word: str, full: bool) -> list[str]:
    variants = [f"#{word}", f"#{word.upper()}", f"#{word.title()}", f"  #{word}"]
    if full:
        mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
        variants += [f"#{mixed}", f"\t#{word}", f" \t #{word.swapcase().title()}"]
    return variants


# -- the core ------------------------------------------------------------------------


def state(room: Room) -> object:
    """What a chair-only command could change: the header, items, votes, end, people."""
    meeting = room.meeting
    if meeting is None:
        return "no meeting"
    r = meeting.to_record()
    header = (r.name, r.topic, r.owner, r.owner_account, r.chairs, r.restricted, r.lurking)
    votes = [(v.question, v.options, v.ballots, v.closed_at) for v in r.votes]
    return (header, r.items, votes, r.end, r.named)


def state_effects(effects: list[Effect]) -> list[Effect]:
    return [e for e in effects if isinstance(e, STATE_EFFECTS)]


Making = Callable[[Room], None]


def chair_joined_after_bot(room: Room) -> None:
    """bob joins after the bot: extended-join tells his account; then he is chaired."""
    room.join("bob", BOB)
    room.say("alice", "#chair bob", account=ALICE)


def chair_spoke_before(room: Room) -> None:
    """bob was listed by NAMES (no account); a tagged line of his comes before #chair."""
    room.say("bob", "o/", account=BOB)
    room.say("alice", "#chair bob", account=ALICE)


def chair_spoke_after(room: Room) -> None:
    """bob was listed by NAMES (no account) and chaired first; he speaks (tagged) later."""
    room.say("alice", "#chair bob", account=ALICE)
    room.say("bob", "thanks", account=BOB)


CHAIR_MAKINGS: dict[str, Making] = {
    "joined-after-bot": chair_joined_after_bot,
    "tagged-before-chair": chair_spoke_before,
    "tagged-after-chair": chair_spoke_after,
}


def meeting_room(making: Making, word: str) -> Room:
    """A meeting owned by alice, bob a chair, items, and a vote open (unless the command
    to try is #startvote), lurking when it is #unlurk."""
    room = Room()
    room.members(Member("alice"), Member("bob"), Member("carol"), Member("mallory"))
    room.say("alice", "#startmeeting authority", account=ALICE)
    making(room)
    room.say("alice", "#topic first", account=ALICE)
    room.say("alice", "#info something", account=ALICE)
    if word != "startvote":
        room.say("alice", "#startvote Ready? Yes, No", account=ALICE)
        room.say("bob", "#vote Yes", account=BOB)
    if word == "unlurk":
        room.say("alice", "#lurk", account=ALICE)
    return room


@dataclass(frozen=True)
class Actor:
    """Someone who is not a chair, and how they come to speak."""

    name: str
    nick: str
    account: str | None
    arrive: Callable[[Room, str, str | None], None]


def already_there(_room: Room, _nick: str, _account: str | None) -> None:
    pass


def _leaving(how: str, who: str) -> Callable[[Room, str, str | None], None]:
    def arrive(room: Room, nick: str, account: str | None) -> None:
        room.tick()
        if how == "quit":
            room.feed(Quit(room.network, room.now, room._id(), who, "bye"))
        elif how == "part":
            room.feed(Parted(room.network, room.now, room._id(), room.channel, who, room.bot))
        else:
            room.feed(NickChanged(room.network, room.now, room._id(), who, f"{who}_away"))
        if how == "nick":
            room.join("eve", account)
            room.tick()
            room.feed(NickChanged(room.network, room.now, room._id(), "eve", nick))
        else:
            room.join(nick, account)

    return arrive


def actors(full: bool) -> list[Actor]:
    people = [
        Actor("non-chair logged in", "mallory", "mallory-account", already_there),
        Actor("non-chair not logged in", "carol", None, already_there),
    ]
    hows = ("quit", "part", "nick")
    for who in ("bob", "alice"):
        nicks = [who, who.upper(), who.title()] if full else [who, who.upper()]
        for how in hows:
            for nick in nicks:
                for account in ("eve-account", None):
                    label = f"stranger as {nick} after {who}'s {how}, account {account}"
                    people.append(Actor(label, nick, account, _leaving(how, who)))
    return people


@dataclass
class CoreCounts:
    tries: int = 0
    changed: int = 0
    replies: int = 0
    control_tries: int = 0
    control_missed: int = 0
    returning_missed: int = 0


def try_command(making: Making, word: str, text: str, actor: Actor) -> tuple[bool, bool]:
    """(state changed, bot replied) when `actor` types `text` (a `word` command)."""
    room = meeting_room(making, word)
    actor.arrive(room, actor.nick, actor.account)
    before = state(room)
    effects = room.say(actor.nick, text, account=actor.account)
    changed = state(room) != before or bool(state_effects(effects))
    return changed, any(isinstance(e, Say) for e in effects)


def control(making: Making, word: str, text: str, nick: str, account: str) -> bool:
    """Whether the same command from a real chair changes the meeting."""
    room = meeting_room(making, word)
    before = state(room)
    if nick != "alice":  # bob left and is back under another nick, same account
        room.tick()
        room.feed(Quit(room.network, room.now, room._id(), "bob", "net split"))
        room.join(nick, account)
        before = state(room)
    effects = room.say(nick, text, account=account)
    return state(room) != before or bool(state_effects(effects))


def arguments(word: str, full: bool) -> list[str]:
    """What follows the command word: one that makes it take effect, and (full) odd ones."""
    usual = ARGS.get(word, "x")
    return [usual, *HOSTILE_ARGS] if full else [usual]


def core_trials(full: bool) -> CoreCounts:
    counts = CoreCounts()
    everyone = actors(full)
    for making in CHAIR_MAKINGS.values():
        for word in chair_only_words():
            for variant in case_variants(word, full):
                for arg in arguments(word, full):
                    text = f"{variant} {arg}".rstrip()
                    for actor in everyone:
                        changed, replied = try_command(making, word, text, actor)
                        counts.tries += 1
                        counts.changed += changed
                        counts.replies += replied
                    if arg == ARGS.get(word, "x"):
                        counts.control_tries += 1
                        counts.control_missed += not control(making, word, text, "alice", ALICE)
                        counts.returning_missed += not control(making, word, text, "bob_back", BOB)
    return counts


# -- live ----------------------------------------------------------------------------

CHANNEL = "#authority"


def _bot_says(text: str) -> re.Pattern[str]:
    return re.compile(rf"^:meetbot!\S+ PRIVMSG {re.escape(CHANNEL)} :{re.escape(text)}")


@dataclass
class LiveCounts:
    commands: int = 0
    changes: int = 0
    replies: int = 0
    early_files: int = 0


def _live_changes(record: dict[str, Any]) -> int:
    """Differences between the meeting as written and as the chairs left it."""
    chairs = [(c["nick"], c["account"]) for c in record["chairs"]]
    items = [(i["kind"], i["nick"]) for i in record["items"]]
    found = [
        record["name"] != "authority",
        record["topic"] != "authority",
        record["restricted"] is not False,
        chairs != [("alice", None), ("bob", None)],
        items != [("topic", "alice"), ("vote", "alice")],
        record["items"][0]["text"] != "chairs only" if record["items"] else True,
        [v["question"] for v in record["votes"]] != ["Ship it?"],
        any(b["nick"] == "mallory" for v in record["votes"] for b in v.get("ballots", [])),
    ]
    return sum(found)


async def live(workdir: Path, full: bool, counts: LiveCounts) -> None:
    ircd = Ngircd(workdir / "ngircd")
    ircd.start()
    bot = Bot(workdir / "bot", ircd.port, channels=[CHANNEL])
    people: list[RawClient] = []
    try:
        for nick in ("alice", "bob", "mallory", "watcher"):
            client = await RawClient.connect(ircd.host, ircd.port, nick)
            await client.join(CHANNEL)
            people.append(client)
        alice, _bob, mallory, watcher = people
        # alice founded the channel and is its operator; ops_are_chairs must not help
        # mallory, who is not one.
        bot.start()
        await watcher.expect(re.compile(rf"^:meetbot!\S+ JOIN :?{CHANNEL}"), 20)
        await alice.say(CHANNEL, "#startmeeting authority")
        await watcher.expect(_bot_says("The meeting name has been set to"), 10)
        await alice.say(CHANNEL, "#chair bob")
        await alice.say(CHANNEL, "#topic chairs only")
        await alice.say(CHANNEL, "#startvote Ship it? Yes, No")
        await watcher.expect(_bot_says("Vote using"), 10)
        said_before = len(watcher.seen(_bot_says("")))
        for word in chair_only_words():
            for variant in case_variants(word, full)[:3]:
                await mallory.say(CHANNEL, f"{variant} {ARGS.get(word, 'x')}".strip())
                counts.commands += 1
        # a reply to alice after mallory's lines (which ngircd relays first, given a
        # moment: they come on another connection) shows every one of them was handled
        await asyncio.sleep(0.3)
        await alice.say(CHANNEL, "#chair")
        await watcher.expect(_bot_says("Current chairs: alice bob"), 10)
        counts.replies = len(watcher.seen(_bot_says(""))) - said_before - 1
        counts.early_files = len(files_under(bot.meetings))
        await alice.say(CHANNEL, "#endmeeting")
        await watcher.expect(_bot_says("Log:"), 15)
    finally:
        bot.stop()
        for client in people:
            await client.close()
        ircd.stop()
    (json_file,) = bot.meetings.rglob("*.json")
    counts.changes = _live_changes(json.loads(json_file.read_text(encoding="utf-8")))


async def run(profile: Profile) -> Result:
    result = Result(
        TITLE,
        must_be_zero=(
            "spec_words_open_to_anyone",
            "core_state_changes",
            "core_control_missed",
            "core_returning_chair_missed",
            "live_state_changes",
            "live_files_before_end",
        ),
        must_be_true=("completed",),
    )
    started = time.monotonic()
    open_words = [w for w in SPEC_CHAIR_ONLY if w not in COMMANDS or COMMANDS[w].who is Who.ANYONE]
    core = core_trials(profile.full)
    core_seconds = time.monotonic() - started
    counts = LiveCounts()
    completed = True
    with tempfile.TemporaryDirectory(prefix="gavel-s7-") as tmp:
        try:
            await asyncio.wait_for(live(Path(tmp), profile.full, counts), 60)
        except Exception as exc:
            completed = False
            result.notes.append(f"live part did not complete: {exc!r}")
            result.notes.append(traceback.format_exc(limit=3))
    result.figures.update(
        {
            "chair_only_words": len(chair_only_words()),
            "spec_words_open_to_anyone": len(open_words),
            "core_tries": core.tries,
            "core_state_changes": core.changed,
            "core_refusal_replies": core.replies,
            "core_controls": core.control_tries,
            "core_control_missed": core.control_missed,
            "core_returning_chair_missed": core.returning_missed,
            "core_seconds": round(core_seconds, 1),
            "live_commands": counts.commands,
            "live_state_changes": counts.changes,
            "live_refusal_replies": counts.replies,
            "live_files_before_end": counts.early_files,
            "completed": completed,
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    return result

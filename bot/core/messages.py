"""Every line the bot says in a channel, in one place.

The wording follows MeetBot's replies exactly (double spaces included), because people
and scripts watching channels match on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo

from bot.core.record import VoteRecord
from bot.core.timefmt import asctime, clock, zone_label

USEFUL_COMMANDS = "Useful Commands: #action #agreed #help #info #idea #link #topic #startvote."
NAME_REQUIRED = "Error: A meeting name is required, e.g., '#startmeeting Marketing Committee'"
ALREADY_RUNNING = "Error: Can't start another meeting, one is in progress.  Use #endmeeting first."
CHANNELS_ONLY = "Meetings can only be held in channels."
RESTRICTED = "Restricting permissions on minutes: -0o77 on next #save"
VOTE_UNPARSABLE = "Unable to parse vote topic and options."
VOTE_HOW = "Vote using '#vote OPTION'. Only your last vote counts."


def meeting_started(
    start: datetime, tz: tzinfo, length_minutes: int, owner: str, info_url: str
) -> str:
    return (
        f"Meeting started {asctime(start, tz)} {zone_label(start, tz)} and is due to finish "
        f"in {length_minutes} minutes.  The chair is {owner}. "
        f"Information about MeetBot at {info_url}."
    )


def name_set(name: str) -> str:
    return f"The meeting name has been set to '{name}'"


def meeting_ended(
    end: datetime, tz: tzinfo, info_url: str, version: str, url_base: str
) -> tuple[str, ...]:
    """The four `#endmeeting` lines; `url_base` is the files' URL without extension."""
    return (
        f"Meeting ended {asctime(end, tz)} {zone_label(end, tz)}.  "
        f"Information about MeetBot at {info_url} . (v {version})",
        f"Minutes:        {url_base}.html",
        f"Minutes (text): {url_base}.txt",
        f"Log:            {url_base}.log.html",
    )


def recording_resumed(start: datetime, end: datetime, tz: tzinfo) -> str:
    """Said when the bot is back in a meeting's channel after a gap in recording."""
    return (
        f"Recording again: I was away from {clock(start, tz)} to {clock(end, tz)} "
        f"{zone_label(end, tz)}; lines said meanwhile are missing from the log."
    )


def too_many_commands(nick: str) -> str:
    """Said once when someone runs out of replies for the minute, instead of silence."""
    return f"{nick}: too many commands; I will answer again in a minute"


def nick_not_in_channel(nick: str) -> str:
    return f"Warning: Nick not in channel: {nick}"


def current_chairs(nicks: Iterable[str]) -> str:
    return "Current chairs: " + " ".join(sorted(nicks))


def removing_item(command_like: str) -> str:
    return f"Removing item from minutes: {command_like}"


def available_commands(words: Iterable[str]) -> str:
    return "Available commands: " + " ".join(f"#{w}" for w in sorted(words))


def vote_begins(question: str, options: Sequence[str]) -> str:
    return f"Begin voting on: {question} Valid vote options are {', '.join(options)}."


def already_voting(question: str) -> str:
    return f"Already voting on '{question}'"


def invalid_option(nick: str, option: str, options: Sequence[str]) -> str:
    return f"{nick}: {option} is not a valid option. Valid options are {', '.join(options)}."


def vote_tallies(vote: VoteRecord) -> list[str]:
    """One line per option that has votes: `Yes (2): alice, bob`."""
    lines = []
    for option in vote.options:
        voters = vote.voters(option)
        if voters:
            lines.append(f"{option} ({len(voters)}): {', '.join(voters)}")
    return lines


def vote_result_heading(question: str) -> str:
    return f'Voted on "{question}" Results are'


def vote_item_text(vote: VoteRecord) -> str:
    """The VOTE item: every option with its count, zeros included, in the order given."""
    counts = ", ".join(f"{option}: {vote.count(option)}" for option in vote.options)
    return f"{vote_result_heading(vote.question)}, {counts}"


def channel_topic(topic: str, meeting_topic: str | None) -> str:
    if meeting_topic:
        return f"{topic} (Meeting topic: {meeting_topic})"
    return topic


# --- between meetings (the #success and #thanks replies are the statusbot's own) --------

PREVIOUS_ACTIONS = "Action items from it:"
NO_PREVIOUS_ACTIONS = "There were no action items."


def success_added(nick: str, url: str) -> str:
    return f"{nick}: Added success to Success page ({url})"


def thanks_added(nick: str, url: str) -> str:
    return f"{nick}: Added your thanks to Thanks page ({url})"


def usage_text(word: str) -> str:
    return f"Usage: #{word} TEXT"


def previous_meeting(series: str, url: str, date: str) -> str:
    return f"Previous {series} meeting: {url} ({date})"


def previous_action(text: str) -> str:
    return f"* {text}"


def previous_more(count: int) -> str:
    return f"… and {count} more in the minutes"


def no_previous(series: str) -> str:
    return f"No previous {series} meeting found."

"""Command recognition: what is a command, a bare link, or ordinary text."""

from __future__ import annotations

import pytest

from bot.core.recognise import CommandLine, LinkLine, link_url, recognise, split_nicks


@pytest.mark.parametrize(
    ("text", "word", "arg"),
    [
        ("#topic Review", "topic", "Review"),
        ("#TOPIC Review", "topic", "Review"),
        ("   #info  spaced out  ", "info", "spaced out"),
        ("#endmeeting", "endmeeting", ""),
        ("#endmeeting   ", "endmeeting", ""),
        ("#start_meeting x", "start_meeting", "x"),
        ("#action\tbob to do it", "action", "bob to do it"),
        ("#startmeetingfoo", "startmeetingfoo", ""),
    ],
)
def test_commands_are_recognised(text: str, word: str, arg: str) -> None:
    assert recognise(text) == CommandLine(word, arg)


@pytest.mark.parametrize(
    "text",
    [
        "#1234",
        "#openstack-meeting is busy",
        "#heat:",
        "##foo",
        "# topic",
        "see #topic later",
        "hello",
        "",
        "#topic-x",
        "#top1c",
    ],
)
def test_ordinary_lines_are_not_commands(text: str) -> None:
    assert recognise(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "http://example.org/",
        "https://review.example.org/123 look",
        "  HTTPS://x.org",
        "irc://irc.example.net/#x",
        "ircs://irc.example.net/#x",
        "ftp://ftp.example.org/f",
        "mailto:someone@example.org",
        "ssh://git@example.org",
    ],
)
def test_lines_starting_with_a_url_are_links(text: str) -> None:
    assert recognise(text) == LinkLine(text.strip())


def test_link_url_only_for_known_schemes() -> None:
    assert link_url("https://x.org/a?b=c more words") == "https://x.org/a?b=c"
    assert link_url("javascript:alert(1)") is None
    assert link_url("data:text/html,hi") is None
    assert link_url("just words") is None
    assert link_url("") is None


def test_split_nicks_on_commas_and_spaces() -> None:
    assert split_nicks("a b, c,d  ,, e") == ["a", "b", "c", "d", "e"]
    assert split_nicks("") == []

"""The outgoing choke point: sanitising and splitting (data in, lines out)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.irc import choke

NICK = "gavel"
USER = "~gavel"
HOST = "h" * choke.MAX_HOST

texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\r", "\n", "\x00", " ", "\x01", "é", "€", "😀"]),
    ),
    max_size=2000,
)


def relayed(line: str) -> bytes:
    """The line as the server would relay it to others."""
    return f":{NICK}!{USER}@{HOST} {line}\r\n".encode()


def test_clean_removes_cr_lf_nul() -> None:
    assert choke.clean("a\rb\nc\x00d\x01") == "abcd\x01"


def test_command_line_sanitises_every_parameter() -> None:
    assert choke.command_line("JOIN", "#a\r\n", trailing="x\r\nQUIT") == "JOIN #a :xQUIT"


@pytest.mark.parametrize("bad", ["", "a b", ":x", "\r\n"])
def test_middle_param_refuses_what_would_change_the_command(bad: str) -> None:
    with pytest.raises(ValueError):
        choke.middle_param(bad)


def test_short_text_is_one_line() -> None:
    assert choke.privmsg_lines(NICK, USER, "#c", "hello") == ["PRIVMSG #c :hello"]


def test_empty_text_gives_no_line() -> None:
    assert choke.privmsg_lines(NICK, USER, "#c", "\r\n") == []


def test_long_text_splits_at_a_space_near_the_end() -> None:
    words = " ".join(f"word{i:03d}" for i in range(200))
    lines = choke.privmsg_lines(NICK, USER, "#c", words)
    assert len(lines) > 1
    assert all(len(relayed(line)) <= 512 for line in lines)
    pieces = [line.split(" :", 1)[1] for line in lines]
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in pieces)
    assert " ".join(pieces) == words


def test_split_never_cuts_a_multibyte_character() -> None:
    text = "€" * 400  # 3 bytes each, no spaces
    lines = choke.privmsg_lines(NICK, USER, "#c", text)
    assert all(len(relayed(line)) <= 512 for line in lines)
    assert "".join(line.split(" :", 1)[1] for line in lines) == text


def test_topic_is_cut_to_fit() -> None:
    line = choke.topic_line(NICK, USER, "#c", "é" * 600 + "\n")
    assert len(relayed(line)) <= 512
    assert "\n" not in line
    assert line.startswith("TOPIC #c :é")


def test_split_rejects_a_limit_too_small_for_a_character() -> None:
    with pytest.raises(ValueError):
        choke.split_text("abc", 3)


@settings(max_examples=300, deadline=None)
@given(text=texts, target=st.sampled_from(["#c", "#a-much-longer-channel-name", "somenick"]))
def test_privmsg_lines_properties(text: str, target: str) -> None:
    lines = choke.privmsg_lines(NICK, USER, target, text)
    for line in lines:
        assert not set(line) & {"\r", "\n", "\x00"}
        assert len(relayed(line)) <= choke.MAX_LINE_BYTES
        assert line.startswith(f"PRIVMSG {target} :")
    pieces = [line.split(" :", 1)[1] for line in lines]
    assert choke.rejoin(choke.clean(text), pieces) == choke.clean(text)


@settings(max_examples=300, deadline=None)
@given(text=texts, limit=st.integers(min_value=4, max_value=120))
@example(text="abcd ", limit=4)
@example(text="abc  ", limit=4)
@example(text="ab \x01 \x01cd", limit=4)
@example(text="    \x01\x01\x01\x01", limit=4)
def test_split_text_properties(text: str, limit: int) -> None:
    pieces = choke.split_text(text, limit)
    clean = choke.clean(text)
    assert all(0 < len(p.encode()) <= limit for p in pieces)
    assert choke.rejoin(clean, pieces) == clean
    # at most one space is dropped per cut
    assert len("".join(pieces)) >= len(clean) - max(len(pieces) - 1, 0)


def test_a_cut_never_starts_a_ctcp_request() -> None:
    limit = choke.text_budget(NICK, USER, "PRIVMSG", "#c")
    for offset in range(-3, 4):
        for text in (
            "a" * (limit + offset) + "\x01VERSION\x01 more",
            "a" * (limit + offset - 2) + " \x01DCC SEND x\x01",
            "word " * 200 + "\x01VERSION\x01",
        ):
            lines = choke.privmsg_lines(NICK, USER, "#c", text)
            pieces = [line.split(" :", 1)[1] for line in lines]
            assert not any(p.startswith("\x01") for p in pieces[1:]), (offset, pieces)
            assert choke.rejoin(text, pieces) == text

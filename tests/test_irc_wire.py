"""Framing and parsing of incoming lines, and the library behaviour they replace."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import irc.client
import irc.ctcp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from irc.client import NickMask

from bot.irc import wire
from bot.irc.wire import CappedLineBuffer, format_time, parse, server_time, tag_dict


def test_library_ctcp_dequote_loses_text_which_is_why_we_do_not_use_it() -> None:
    # What irc 20.5 does with a mid-text \x01: the text after it is cut off or split.
    assert irc.ctcp.dequote("hi \x01X\x01 there") == ["hi ", ("X",)]
    # and its low-level dequoting turns \x10r into a bare CR
    assert irc.ctcp.dequote("a\x10rb") == ["a\rb"]


def test_privmsg_text_is_kept_verbatim() -> None:
    event = parse(":alice!a@h PRIVMSG #c :hi \x01X\x01 there \x10r")
    assert event.type == "pubmsg"
    assert event.target == "#c"
    assert event.arguments == ["hi \x01X\x01 there \x10r"]
    assert event.source.nick == "alice"


def test_private_message_and_notices() -> None:
    assert parse(":a!b@c PRIVMSG gavel :hello").type == "privmsg"
    assert parse(":a!b@c NOTICE #c :hello").type == "pubnotice"
    assert parse(":a!b@c NOTICE gavel :hello").type == "privnotice"


def test_tags_and_numerics() -> None:
    event = parse("@time=2024-05-01T10:00:00.123Z;account=alice :srv 353 me = #c :@a +b c")
    assert event.type == "namreply"
    assert event.target == "me"
    assert event.arguments == ["=", "#c", "@a +b c"]
    assert tag_dict(event.tags) == {"time": "2024-05-01T10:00:00.123Z", "account": "alice"}
    assert server_time(event.tags) == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)


def test_odd_lines_do_not_raise() -> None:
    assert parse(" :a!b@c PRIVMSG #c :leading space").arguments == ["leading space"]
    assert parse(":a!b@c QUIT").arguments == []  # the library raises IndexError here
    assert parse("PING :token").target == "token"
    assert parse("") is None
    assert parse("   ") is None
    assert parse(":onlyprefix") is None
    assert parse(":a!b@c PRIVMSG").arguments == [""]


def test_malformed_time_tag_is_ignored() -> None:
    assert server_time([{"key": "time", "value": "yesterday"}]) is None
    assert server_time(None) is None


def test_format_time_round_trips() -> None:
    stamp = datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert format_time(stamp) == "2024-05-01T10:00:00.123Z"
    assert server_time([{"key": "time", "value": format_time(stamp)}]) == stamp


def test_buffer_decodes_leniently() -> None:
    buffer = CappedLineBuffer()
    buffer.feed("café\r\n".encode() + b"caf\xe9 \x93cp1252\x94\n")
    lines = list(buffer)
    assert lines[0] == "café"
    assert lines[1].encode("latin-1") == b"caf\xe9 \x93cp1252\x94"  # raw bytes kept


def test_buffer_keeps_lone_cr_inside_a_line() -> None:
    buffer = CappedLineBuffer()
    buffer.feed(b":a!b@c PRIVMSG #c :x\ry\r\n")
    assert list(buffer) == [":a!b@c PRIVMSG #c :x\ry"]


def test_a_megabyte_without_newline_is_capped() -> None:
    buffer = CappedLineBuffer(max_line=16 * 1024)
    chunk = b"x" * 65536
    for _ in range(16):  # one megabyte, no newline
        buffer.feed(chunk)
        assert list(buffer) == []
        assert buffer.pending() <= 16 * 1024
    buffer.feed(b"tail\r\nPING :next\r\n")
    lines = list(buffer)
    assert lines == ["x" * 16 * 1024, "PING :next"]
    assert buffer.pending() == 0


def test_a_long_complete_line_in_one_chunk_is_capped() -> None:
    buffer = CappedLineBuffer(max_line=100)
    buffer.feed(b"y" * 500 + b"\n" + b"ok\n")
    assert list(buffer) == ["y" * 100, "ok"]


def test_library_event_shape_is_kept() -> None:
    event = parse(":n!u@h KICK #c victim :go away")
    assert isinstance(event, irc.client.Event)
    assert (event.type, event.target, event.arguments) == ("kick", "#c", ["victim", "go away"])


def _by_the_grammar(line: str) -> Any:
    """What `parse` gives, worked out with the grammar `_LINE` (the regular expression
    it was first written with)."""
    match = wire._LINE.match(line.lstrip(" "))
    if match is None:
        return None
    raw_tags, prefix, name, argument = match.group("tags", "prefix", "command", "argument")
    command = wire.command_name(name)
    source = NickMask(prefix) if prefix else None
    arguments = wire._arguments(argument)
    tags = wire.parse_tags(raw_tags) if raw_tags else None
    if command in ("privmsg", "notice"):
        return wire._message_event(command, source, arguments, tags)
    return wire._other_event(command, source, arguments, tags)


def _shape(event: Any) -> Any:
    if event is None:
        return None
    return (event.type, event.source, event.target, event.arguments, event.tags)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=" @:!;=#ab\r\x01\u00e9", max_size=40))
def test_the_fast_parser_accepts_exactly_the_grammar(line: str) -> None:
    assert _shape(parse(line)) == _shape(_by_the_grammar(line))


@pytest.mark.parametrize(
    "line",
    [
        "@time=x;msgid=y :n!u@h PRIVMSG #c :hello there",
        "  :n!u@h  NOTICE  #c  :x",
        "@ PING :t",
        "@tags",
        ":prefix",
        ": PING x",
        ":n PRIVMSG",
        "PING",
        "001 me :Welcome",
        ":srv 353 me = #c :@a +b c",
        "@a=b\\sc :n QUIT",
    ],
)
def test_the_fast_parser_agrees_on_known_lines(line: str) -> None:
    assert _shape(parse(line)) == _shape(_by_the_grammar(line))

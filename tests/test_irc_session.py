"""The protocol state machine: server lines and times in, lines to send and notes out."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from bot.irc import session as session_module
from bot.irc.session import (
    JOIN_REFUSALS,
    NOT_FOR_THE_SESSION,
    SASL_FAILURES,
    Session,
    Timings,
    nick_candidate,
    sasl_chunks,
)
from bot.irc.wire import parse
from bot.settings import ChannelConfig, Identity, SaslConfig

IDENTITY = Identity(nick="gavel", alt_nicks=("gavel2",), username="gv", realname="Gavel bot")
TIMINGS = Timings(kick_rejoin=10, join_retry=300, regain_nick=60)


def feed(session: Session, line: str, now: float = 0.0) -> list[str]:
    return session.on_event(parse(line), now).lines


def welcome(session: Session, now: float = 0.0, nick: str = "gavel") -> list[str]:
    return feed(session, f":srv 001 {nick} :Welcome", now)


def test_start_asks_for_capabilities_first() -> None:
    assert Session(IDENTITY).start().lines == ["CAP LS 302", "NICK gavel", "USER gv 0 * :Gavel bot"]


def test_cap_negotiation_requests_what_we_want_over_multiline_ls() -> None:
    session = Session(IDENTITY)
    assert feed(session, ":srv CAP * LS * :multi-prefix server-time sasl=PLAIN foo") == []
    lines = feed(session, ":srv CAP * LS :echo-message draft/chathistory chathistory batch")
    assert lines == [
        "CAP REQ :server-time echo-message batch multi-prefix chathistory",
    ]
    assert feed(session, ":srv CAP * ACK :server-time echo-message batch") == []
    assert feed(session, ":srv CAP * ACK :multi-prefix chathistory") == ["CAP END"]
    assert session.echo
    assert "sasl" not in session.enabled  # not configured, not requested


def test_nak_still_ends_negotiation() -> None:
    session = Session(IDENTITY)
    assert feed(session, ":srv CAP * LS :server-time") == ["CAP REQ :server-time"]
    assert feed(session, ":srv CAP * NAK :server-time") == ["CAP END"]
    assert not session.enabled


def test_no_wanted_caps_ends_at_once() -> None:
    assert feed(Session(IDENTITY), ":srv CAP * LS :foo bar") == ["CAP END"]


def test_server_without_cap_registers_anyway() -> None:
    session = Session(IDENTITY, (ChannelConfig("#a"),))
    assert feed(session, ":srv 421 gavel CAP :Unknown command") == []
    assert welcome(session) == ["JOIN #a"]


def test_sasl_plain() -> None:
    session = Session(IDENTITY, sasl=SaslConfig("PLAIN", "acct", "s3cret"))
    assert feed(session, ":srv CAP * LS :sasl=PLAIN,EXTERNAL") == ["CAP REQ :sasl"]
    assert feed(session, ":srv CAP * ACK :sasl") == ["AUTHENTICATE PLAIN"]
    (line,) = feed(session, "AUTHENTICATE +")
    assert base64.b64decode(line.split()[1]) == b"acct\0acct\0s3cret"
    step = session.on_event(parse(":srv 903 gavel :SASL authentication successful"), 0)
    assert step.lines == ["CAP END"]
    assert all("s3cret" not in str(note) for note in step.notes)


def test_sasl_external_sends_an_empty_response() -> None:
    session = Session(IDENTITY, sasl=SaslConfig("EXTERNAL"))
    feed(session, ":srv CAP * LS :sasl")
    assert feed(session, ":srv CAP * ACK :sasl") == ["AUTHENTICATE EXTERNAL"]
    assert feed(session, "AUTHENTICATE +") == ["AUTHENTICATE +"]
    assert feed(session, ":srv 903 gavel :ok") == ["CAP END"]


@pytest.mark.parametrize("numeric", ["902", "904", "905", "906"])
def test_optional_sasl_failure_is_logged_and_registration_goes_on(numeric: str) -> None:
    session = Session(IDENTITY, sasl=SaslConfig("PLAIN", "acct", "s3cret", required=False))
    feed(session, ":srv CAP * LS :sasl")
    feed(session, ":srv CAP * ACK :sasl")
    feed(session, "AUTHENTICATE +")
    step = session.on_event(parse(f":srv {numeric} gavel :failed"), 0)
    assert step.lines == ["CAP END"]
    assert [n.event for n in step.notes] == ["irc.sasl_failed"]
    assert "s3cret" not in str(step.notes)
    assert session.abandon is None


@pytest.mark.parametrize("numeric", ["902", "904", "905", "906"])
def test_required_sasl_failure_abandons_the_connection(numeric: str) -> None:
    session = Session(IDENTITY, sasl=SaslConfig("PLAIN", "acct", "s3cret"))
    feed(session, ":srv CAP * LS :sasl")
    feed(session, ":srv CAP * ACK :sasl")
    feed(session, "AUTHENTICATE +")
    step = session.on_event(parse(f":srv {numeric} gavel :failed"), 0)
    assert step.lines == []  # no CAP END: registering unidentified is not an option
    assert [n.event for n in step.notes] == ["irc.sasl_failed", "irc.sasl_required_reconnecting"]
    assert session.abandon is not None and f"({numeric})" in session.abandon
    assert "s3cret" not in str(step.notes)


def test_sasl_not_offered_or_wrong_mechanism() -> None:
    session = Session(IDENTITY, sasl=SaslConfig("PLAIN", "a", "p", required=False))
    step = session.on_event(parse(":srv CAP * LS :server-time"), 0)
    assert step.lines == ["CAP REQ :server-time"]
    assert [n.event for n in step.notes] == ["irc.sasl_unavailable"]
    session = Session(IDENTITY, sasl=SaslConfig("PLAIN", "a", "p", required=False))
    step = session.on_event(parse(":srv CAP * LS :sasl=EXTERNAL"), 0)
    assert step.lines == ["CAP END"]
    assert [n.event for n in step.notes] == ["irc.sasl_mechanism_unavailable"]
    assert session.abandon is None
    required = Session(IDENTITY, sasl=SaslConfig("PLAIN", "a", "p"))
    required.on_event(parse(":srv CAP * LS :server-time"), 0)
    assert required.abandon == "SASL failed: server offers no SASL"


def test_the_bots_own_account_is_followed() -> None:
    session = Session(IDENTITY, sasl=SaslConfig("PLAIN", "acct", "pw"))
    step = session.on_event(parse(":srv 900 gavel gavel!g@h acct :You are now logged in"), 0)
    assert [n.event for n in step.notes] == ["irc.logged_in"]
    welcome(session)
    step = session.on_event(parse(":srv 901 gavel gavel!g@h :You are now logged out"), 0)
    assert [(n.level, n.event, n.fields["account"]) for n in step.notes] == [
        ("warning", "irc.account_lost", "acct")
    ]
    assert session.account is None
    assert session.on_event(parse(":gavel!g@h ACCOUNT *"), 0).notes == []  # said once
    step = session.on_event(parse(":gavel!g@h ACCOUNT acct"), 0)
    assert [(n.event, n.fields["account"]) for n in step.notes] == [("irc.account_back", "acct")]
    assert session.account == "acct"
    assert session.on_event(parse(":alice!a@h ACCOUNT *"), 0).notes == []  # someone else
    step = session.on_event(parse(":gavel!g@h ACCOUNT *"), 0)
    assert [n.event for n in step.notes] == ["irc.account_lost"]


def test_sasl_payload_is_chunked() -> None:
    assert sasl_chunks(b"") == ["+"]
    assert sasl_chunks(b"x" * 300) == [base64.b64encode(b"x" * 300).decode(), "+"]  # 400 chars
    chunks = sasl_chunks(b"y" * 700)
    assert [len(c) for c in chunks] == [400, 400, 136]
    assert base64.b64decode("".join(chunks)) == b"y" * 700


def test_nick_fallbacks() -> None:
    identity = Identity(nick="gavel", alt_nicks=("judge",))
    assert [nick_candidate(identity, i) for i in range(7)] == [
        "gavel",
        "judge",
        "gavel_",
        "gavel__",
        "gavel___",
        "gavel4",
        "gavel5",
    ]


def test_nick_in_use_at_registration_then_regained() -> None:
    session = Session(IDENTITY, timings=TIMINGS)
    assert feed(session, ":srv 433 * gavel :Nickname is already in use") == ["NICK gavel2"]
    assert feed(session, ":srv 433 * gavel2 :Nickname is already in use") == ["NICK gavel_"]
    assert welcome(session, 0.0, nick="gavel_") == []
    assert session.nick == "gavel_"
    assert session.tick(59.0).lines == []
    assert session.tick(60.0).lines == ["NICK gavel"]
    assert feed(session, ":srv 433 gavel_ gavel :in use", 60.0) == []  # quietly tried later
    assert session.tick(119.0).lines == []
    # the holder of the main nick quits: try at once
    assert feed(session, ":gavel!x@h QUIT :bye", 70.0) == ["NICK gavel"]
    feed(session, ":gavel_!g@h NICK gavel", 70.5)
    assert session.nick == "gavel"
    assert session.next_due() is None


def test_ping_is_answered() -> None:
    assert feed(Session(IDENTITY), "PING :abc def") == ["PONG :abc def"]


def test_joins_configured_channels_after_welcome_with_keys() -> None:
    channels = (ChannelConfig("#open"), ChannelConfig("#locked", key="hunter2"))
    session = Session(IDENTITY, channels, timings=TIMINGS)
    step = session.on_event(parse(":srv 001 gavel :Welcome"), 0)
    assert step.lines == ["JOIN #locked,#open hunter2"]  # keyed channels first
    assert "hunter2" not in str(step.notes)


def test_many_channels_are_joined_a_few_per_line() -> None:
    names = [f"#channel-{n:03d}" for n in range(500)]
    channels = tuple(ChannelConfig(n, key="k" if n.endswith("7") else None) for n in names)
    session = Session(IDENTITY, channels, timings=TIMINGS)
    lines = welcome(session)
    assert len(lines) <= 25
    joined = []
    for line in lines:
        assert len(line.encode()) <= 510
        _, targets, *keys = line.split(" ")
        listed = targets.split(",")
        keyed = [t for t in listed if t.endswith("7")]
        assert listed[: len(keyed)] == keyed  # keys pair up with the first channels
        assert keys == ([",".join("k" for _ in keyed)] if keyed else [])
        joined += listed
    assert sorted(joined) == names
    assert session.next_due() == TIMINGS.join_retry


def test_kicked_rejoins_after_a_delay() -> None:
    session = Session(IDENTITY, (ChannelConfig("#c"),), timings=TIMINGS)
    welcome(session)
    feed(session, ":gavel!g@h JOIN #c", 1)
    assert session.next_due() is None
    step = session.on_event(parse(":op!o@h KICK #C gavel :out"), 100.0)
    assert [n.event for n in step.notes] == ["irc.kicked"]
    assert session.tick(109.0).lines == []
    assert session.tick(110.0).lines == ["JOIN #c"]


def test_others_being_kicked_changes_nothing() -> None:
    session = Session(IDENTITY, (ChannelConfig("#c"),), timings=TIMINGS)
    welcome(session)
    feed(session, ":gavel!g@h JOIN #c", 1)
    feed(session, ":op!o@h KICK #c alice :out", 2)
    assert session.next_due() is None


@pytest.mark.parametrize(
    ("numeric", "reason"),
    [
        ("474", "banned"),
        ("475", "wrong channel key"),
        ("473", "invite only"),
        ("471", "full"),
    ],
)
def test_refused_join_is_logged_and_retried_slowly(numeric: str, reason: str) -> None:
    session = Session(IDENTITY, (ChannelConfig("#c", key="sekrit"),), timings=TIMINGS)
    welcome(session, 0.0)
    step = session.on_event(parse(f":srv {numeric} gavel #c :Cannot join channel"), 1.0)
    assert step.lines == []
    (note,) = step.notes
    assert note.level == "error"
    assert reason in note.fields["reason"]
    assert note.fields["channel"] == "#c"
    assert "sekrit" not in str(note)
    assert session.tick(300.0).lines == []
    assert session.tick(301.0).lines == ["JOIN #c sekrit"]


def test_invite_to_a_configured_channel_joins_at_once() -> None:
    session = Session(IDENTITY, (ChannelConfig("#c"),), timings=TIMINGS)
    welcome(session)
    feed(session, ":srv 473 gavel #c :Cannot join channel (+i)", 1)
    assert feed(session, ":op!o@h INVITE gavel #c", 2) == ["JOIN #c"]


def test_unanswered_join_is_sent_again_later() -> None:
    session = Session(IDENTITY, (ChannelConfig("#c"),), timings=TIMINGS)
    welcome(session, 0.0)
    assert session.tick(299.0).lines == []
    assert session.tick(300.0).lines == ["JOIN #c"]


def test_chathistory_is_asked_after_a_reconnect() -> None:
    resume = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)
    session = Session(IDENTITY, (ChannelConfig("#c"),), timings=TIMINGS, resume_from=resume)
    feed(session, ":srv CAP * LS :server-time batch draft/chathistory")
    feed(session, ":srv CAP * ACK :server-time batch draft/chathistory")
    session.features.apply(["CHATHISTORY=50"])  # the translator reads ISUPPORT
    welcome(session)
    lines = feed(session, "@time=2024-01-01T12:05:00.000Z :gavel!g@h JOIN #c")
    assert lines == [
        "CHATHISTORY BETWEEN #c timestamp=2024-01-01T12:00:00.000Z "
        "timestamp=2024-01-01T12:05:00.000Z 50"
    ]
    feed(session, ":op!o@h KICK #c gavel :x", 1)
    assert feed(session, "@time=2024-01-01T12:06:00.000Z :gavel!g@h JOIN #c", 20) == []


def test_no_chathistory_on_a_first_connection_or_without_the_cap() -> None:
    session = Session(IDENTITY, (ChannelConfig("#c"),))
    feed(session, ":srv CAP * LS :server-time batch chathistory")
    feed(session, ":srv CAP * ACK :server-time batch chathistory")
    welcome(session)
    assert feed(session, "@time=2024-01-01T12:05:00.000Z :gavel!g@h JOIN #c") == []
    resume = datetime(2024, 1, 1, tzinfo=UTC)
    session = Session(IDENTITY, (ChannelConfig("#c"),), resume_from=resume)
    welcome(session)
    assert feed(session, "@time=2024-01-01T12:05:00.000Z :gavel!g@h JOIN #c") == []


def test_casemapping_applies_to_channel_names() -> None:
    session = Session(IDENTITY, (ChannelConfig("#Team[x]"),), timings=TIMINGS)
    welcome(session)
    feed(session, ":gavel!g@h JOIN #team{x}", 1)
    assert session.next_due() is None


def test_whox_is_asked_on_every_join_where_offered() -> None:
    plain = Session(IDENTITY, (ChannelConfig("#c"),), timings=TIMINGS)
    welcome(plain)
    assert feed(plain, ":gavel!g@h JOIN #c") == []
    session = Session(IDENTITY, (ChannelConfig("#c"),), timings=TIMINGS)
    session.features.apply(["WHOX"])  # the translator reads ISUPPORT
    welcome(session)
    assert feed(session, ":gavel!g@h JOIN #c") == ["WHO #c %tna,616"]
    assert feed(session, ":alice!a@h JOIN #c") == []
    feed(session, ":op!o@h KICK #c gavel :x", 1)
    assert feed(session, ":gavel!g@h JOIN #c", 20) == ["WHO #c %tna,616"]


def test_channel_messages_are_nothing_for_the_session() -> None:
    # The client skips the session for these (every recorded line is one): no handler may
    # be waiting for them, and the session indeed does nothing with them.
    session = Session(IDENTITY, (ChannelConfig("#a"),))
    welcome(session)
    handled = {*session_module._HANDLERS, *JOIN_REFUSALS, *SASL_FAILURES}
    assert not NOT_FOR_THE_SESSION & handled
    for line in (
        ":x!y@z PRIVMSG #a :hello",
        ":x!y@z NOTICE #a :hi",
        ":x!y@z PRIVMSG #a :\x01PING\x01",
    ):
        event = parse(line)
        assert event.type in NOT_FOR_THE_SESSION
        step = session.on_event(event, 1.0)
        assert (step.lines, step.notes) == ([], [])

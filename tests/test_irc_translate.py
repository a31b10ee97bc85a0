"""Library events to core events: plain lines in, core events out."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.events import (
    DEFAULT_SETTINGS,
    AccountChanged,
    AccountsListed,
    ChannelSettings,
    HistoryReplayed,
    Joined,
    Kicked,
    Member,
    MembersListed,
    MessageSeen,
    NickChanged,
    OpChanged,
    Parted,
    Quit,
    ServerInfo,
    TopicSeen,
)
from bot.irc.translate import Context, ServerFeatures, Translator, parse_modes
from bot.irc.wire import parse

RECEIVED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
BERLIN = ChannelSettings(timezone=ZoneInfo("Europe/Berlin"))


def ctx(echo: bool = False, bot: str = "gavel") -> Context:
    ids = itertools.count(1)
    return Context(
        network="net",
        bot_nick=bot,
        received=RECEIVED,
        next_id=lambda: next(ids),
        settings=lambda channel: BERLIN if channel.lower() == "#berlin" else DEFAULT_SETTINGS,
        echo=echo,
    )


def run(*lines: str, translator: Translator | None = None, echo: bool = False) -> list[object]:
    translator = translator or Translator()
    out: list[object] = []
    context = ctx(echo)
    for line in lines:
        out.extend(translator.translate(parse(line), context))
    return out


def test_channel_message() -> None:
    assert run(":alice!a@h PRIVMSG #c :hello there") == [
        MessageSeen("net", RECEIVED, 1, "#c", "alice", "hello there", "gavel")
    ]


def test_channel_settings_are_looked_up() -> None:
    (seen,) = run(":alice!a@h PRIVMSG #Berlin :hallo")
    assert isinstance(seen, MessageSeen)
    assert seen.settings is BERLIN


def test_server_time_and_account_tags() -> None:
    (seen,) = run("@time=2020-02-02T20:20:20.200Z;account=al :alice!a@h PRIVMSG #c :x")
    assert isinstance(seen, MessageSeen)
    assert seen.time == datetime(2020, 2, 2, 20, 20, 20, 200000, tzinfo=UTC)
    assert seen.account == "al"


def test_action_is_an_action_line() -> None:
    (seen,) = run(":alice!a@h PRIVMSG #c :\x01ACTION waves\x01")
    assert isinstance(seen, MessageSeen)
    assert (seen.text, seen.action) == ("waves", True)


def test_action_without_closing_delimiter() -> None:
    (seen,) = run(":alice!a@h PRIVMSG #c :\x01ACTION waves")
    assert isinstance(seen, MessageSeen)
    assert (seen.text, seen.action) == ("waves", True)


def test_mid_text_ctcp_delimiters_are_recorded_verbatim() -> None:
    (seen,) = run(":alice!a@h PRIVMSG #c :hi \x01X\x01 there")
    assert isinstance(seen, MessageSeen)
    assert (seen.text, seen.action) == ("hi \x01X\x01 there", False)


def test_other_ctcp_requests_and_notices_are_not_lines() -> None:
    assert run(":alice!a@h PRIVMSG #c :\x01VERSION\x01") == []
    assert run(":alice!a@h NOTICE #c :hello") == []


def test_private_message_to_the_bot() -> None:
    (seen,) = run(":alice!a@h PRIVMSG GAVEL :#startmeeting x")
    assert isinstance(seen, MessageSeen)
    assert seen.channel is None
    assert seen.settings is DEFAULT_SETTINGS


def test_status_messages_and_echoed_queries_are_dropped() -> None:
    assert run(":alice!a@h PRIVMSG @#c :ops only") == []
    assert run(":gavel!g@h PRIVMSG alice :a reply", echo=True) == []


def test_echo_message_marks_lines() -> None:
    (seen,) = run(":gavel!g@h PRIVMSG #c :Meeting started", echo=True)
    assert isinstance(seen, MessageSeen)
    assert seen.nick == "gavel"
    assert seen.echoes_own_lines


def test_history_batch_lines_are_marked_replayed() -> None:
    out = run(
        ":srv BATCH +h1 chathistory #c",
        "@batch=h1;msgid=m1;time=2024-01-01T00:00:01.000Z :bob!b@h PRIVMSG #c :missed",
        ":srv BATCH -h1",
        "@msgid=m2 :bob!b@h PRIVMSG #c :live",
    )
    seen = [m for m in out if isinstance(m, MessageSeen)]
    assert [(m.text, m.replayed, m.echoes_own_lines, m.msgid) for m in seen] == [
        ("missed", True, False, "m1"),
        ("live", False, False, "m2"),
    ]


def test_the_end_of_a_history_batch_says_the_channels_history_is_in() -> None:
    out = run(
        ":srv BATCH +h1 chathistory #c",
        "@batch=h1;msgid=m1 :bob!b@h PRIVMSG #c :missed",
        ":srv BATCH +n1 netsplit irc.a irc.b",
        ":srv BATCH -n1",  # not history
        "@time=2024-01-01T00:00:02.000Z :srv BATCH -h1",
        ":srv BATCH -h1",  # closed already
        ":srv BATCH +h2 draft/chathistory gavel",
        ":srv BATCH -h2",  # the bot's own private history, which it never asks for
    )
    assert [e for e in out if not isinstance(e, MessageSeen)] == [
        HistoryReplayed("net", datetime(2024, 1, 1, 0, 0, 2, tzinfo=UTC), 2, "#c")
    ]


def test_membership_events() -> None:
    out = run(
        ":bob!b@h JOIN #c",
        ":carol!c@h JOIN #c carol_acct :Carol C",
        ":dave!d@h JOIN #c * :Dave",
        ":bob!b@h PART #c :bye",
        ":op!o@h KICK #c carol :behave",
        ":dave!d@h QUIT :gone",
        ":dave!d@h QUIT",
        ":bob!b@h NICK robert",
        ":bob!b@h ACCOUNT bobby",
        ":bob!b@h ACCOUNT *",
    )
    assert out == [
        Joined("net", RECEIVED, 1, "#c", "bob", "gavel"),
        Joined("net", RECEIVED, 2, "#c", "carol", "gavel", account="carol_acct"),
        Joined("net", RECEIVED, 3, "#c", "dave", "gavel"),
        Parted("net", RECEIVED, 4, "#c", "bob", "gavel", "bye"),
        Kicked("net", RECEIVED, 5, "#c", "carol", "op", "gavel", "behave"),
        Quit("net", RECEIVED, 6, "dave", "gone"),
        Quit("net", RECEIVED, 7, "dave", ""),
        NickChanged("net", RECEIVED, 8, "bob", "robert"),
        AccountChanged("net", RECEIVED, 9, "bob", "bobby"),
        AccountChanged("net", RECEIVED, 10, "bob", None),
    ]


def test_names_are_collected_until_the_end() -> None:
    translator = Translator()
    out = run(
        ":srv 005 gavel PREFIX=(qaohv)~&@%+ :are supported",
        ":srv 353 gavel = #c :~owner &admin @op %half +voice plain",
        ":srv 353 gavel = #c :@+both nick!user@host",
        ":srv 366 gavel #c :End of /NAMES list.",
        translator=translator,
    )
    assert out == [
        MembersListed(
            "net",
            RECEIVED,
            1,
            "#c",
            (
                Member("owner", op=True),
                Member("admin", op=True),
                Member("op", op=True),
                Member("half"),
                Member("voice"),
                Member("plain"),
                Member("both", op=True),
                Member("nick"),
            ),
        )
    ]


def test_op_changes() -> None:
    out = run(":chan!c@h MODE #c +ov-o+b alice bob carol *!*@bad")
    assert out == [
        OpChanged("net", RECEIVED, 1, "#c", "alice", True, "chan"),
        OpChanged("net", RECEIVED, 2, "#c", "carol", False, "chan"),
    ]


def test_owner_and_admin_modes_count_as_op_when_the_server_says_so() -> None:
    translator = Translator()
    out = run(
        ":srv 005 gavel PREFIX=(qaohv)~&@%+ CHANMODES=beI,k,l,imnpst :are supported",
        ":x!x@h MODE #c +qh alice bob",
        translator=translator,
    )
    assert out == [OpChanged("net", RECEIVED, 1, "#c", "alice", True, "x")]


def test_parse_modes_with_parameters() -> None:
    features = ServerFeatures()
    assert parse_modes("+kl-l+o", ["key", "10", "al"], features) == [
        (True, "k", "key"),
        (True, "l", "10"),
        (False, "l", None),
        (True, "o", "al"),
    ]


def test_user_modes_are_ignored() -> None:
    assert run(":gavel MODE gavel :+i") == []


def test_casemapping_gives_server_info() -> None:
    out = run(":srv 005 gavel CHANTYPES=# CASEMAPPING=ascii :are supported by this server")
    assert out == [ServerInfo("net", RECEIVED, 1, "ascii")]


def test_unknown_and_malformed_events_give_nothing() -> None:
    assert run(":srv 372 gavel :- motd") == []
    assert run(":op!o@h KICK #c") == []
    assert run(":srv 366 gavel") == []


def test_whox_replies_give_accounts_at_the_end_of_who() -> None:
    out = run(
        ":srv 354 gavel 616 alice aliceacct",
        ":srv 354 gavel 616 bob 0",
        ":srv 354 gavel 999 eve eveacct",  # someone else's WHO
        ":srv 315 gavel #c :End of WHO list",
        ":srv 315 gavel #d :End of WHO list",
    )
    assert out == [AccountsListed("net", RECEIVED, 1, (("alice", "aliceacct"), ("bob", None)))]


def test_topics_on_join_and_changes() -> None:
    assert run(
        ":irc.example 332 gavel #c :Welcome | agenda: https://example.org",
        ":irc.example 331 gavel #d :No topic is set",
        ":alice!a@h TOPIC #c :Reviews (Meeting topic: heat)",
        ":alice!a@h TOPIC #c :",
        ":irc.example 332 gavel",
    ) == [
        TopicSeen("net", RECEIVED, 1, "#c", "Welcome | agenda: https://example.org"),
        TopicSeen("net", RECEIVED, 2, "#d", ""),
        TopicSeen("net", RECEIVED, 3, "#c", "Reviews (Meeting topic: heat)", RECEIVED),
        TopicSeen("net", RECEIVED, 4, "#c", "", RECEIVED),
    ]


def test_the_topic_told_on_join_says_when_it_was_set() -> None:
    """RPL_TOPICWHOTIME (333) follows RPL_TOPIC (332): the topic is told again, with the
    time it was set; a topic changed in the bot's sight was set when the change came."""
    set_at = datetime(2013, 1, 9, 20, 1, 10, tzinfo=UTC)
    assert run(
        ":irc.example 332 gavel #c :Welcome",
        ":irc.example 333 gavel #C alice!a@h 1357761670",
        ":irc.example 333 gavel #d alice 1357761670",  # no topic told for #d: nothing
        ":irc.example 332 gavel #e :Hi",
        ":irc.example 333 gavel #e alice soon",  # no time: the topic as told stands
        ":irc.example 333 gavel #e alice 1357761670",  # told once only
        ":irc.example 332 gavel #e :Hi",
        ":irc.example 333 gavel #e alice 99999999999999999999",  # no time either
        ":irc.example 333 gavel",
        "@time=2020-02-02T20:20:20.200Z :alice!a@h TOPIC #c :Reviews",
    ) == [
        TopicSeen("net", RECEIVED, 1, "#c", "Welcome"),
        TopicSeen("net", RECEIVED, 2, "#c", "Welcome", set_at),
        TopicSeen("net", RECEIVED, 3, "#e", "Hi"),
        TopicSeen("net", RECEIVED, 4, "#e", "Hi"),
        TopicSeen(
            "net",
            datetime(2020, 2, 2, 20, 20, 20, 200000, tzinfo=UTC),
            5,
            "#c",
            "Reviews",
            datetime(2020, 2, 2, 20, 20, 20, 200000, tzinfo=UTC),
        ),
    ]

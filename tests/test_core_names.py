"""The meeting-name rule, case mapping and time formatting."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.core.casemap import ASCII, RFC1459, STRICT_RFC1459, irc_lower, same
from bot.core.names import FEDORA, OPENSTACK, meeting_name, sanitise
from bot.core.timefmt import asctime, clock, parse_asctime, zone, zone_label


def test_examples_from_the_spec() -> None:
    assert sanitise("hyper-v") == "hyper_v"
    assert sanitise("Solum Team Meeting") == "solum_team_meeting"
    assert sanitise("heat") == "heat"


def test_name_is_capped_at_64() -> None:
    assert sanitise("x" * 100) == "x" * 64


def test_nothing_usable_falls_back_to_the_channel() -> None:
    assert meeting_name("!!!", "#openstack-meeting") == "openstack_meeting"
    assert meeting_name("   ", "#Heat") == "heat"
    assert meeting_name("???", "#!!") == "meeting"


@given(st.text())
def test_sanitised_names_are_safe(text: str) -> None:
    name = meeting_name(text, "#chan")
    assert name
    assert len(name) <= 64
    assert all(c in "abcdefghijklmnopqrstuvwxyz0123456789_" for c in name)


def test_fedora_rule_keeps_hyphens_underscores_and_dots() -> None:
    assert sanitise("hyper-v", FEDORA) == "hyper-v"
    assert sanitise("F36-Blocker-Review", FEDORA) == "f36-blocker-review"
    assert sanitise("fedora-fr", FEDORA) == "fedora-fr"
    assert sanitise("Infra  Team\tWeekly", FEDORA) == "infra_team_weekly"
    assert sanitise("Release v1.2_rc", FEDORA) == "release_v1.2_rc"
    assert sanitise("QA (weekly)!", FEDORA) == "qa_weekly"
    assert sanitise("café/ünïcode", FEDORA) == "cafncode"
    assert sanitise("x" * 100, FEDORA) == "x" * 64


def test_openstack_rule_stays_the_default() -> None:
    assert sanitise("F36-Blocker Review") == sanitise("F36-Blocker Review", OPENSTACK)
    assert sanitise("F36-Blocker Review") == "f36_blocker_review"


def test_fedora_names_fall_back_to_the_channel_under_the_same_rule() -> None:
    assert meeting_name("!!!", "#fedora-meeting", FEDORA) == "fedora-meeting"
    assert meeting_name("- . _", "#Fedora-QA", FEDORA) == "fedora-qa"
    assert meeting_name("???", "#!!", FEDORA) == "meeting"


@given(st.text())
def test_fedora_names_are_safe(text: str) -> None:
    name = meeting_name(text, "#chan", FEDORA)
    assert name and name.strip("._-")
    assert len(name) <= 64
    assert all(c in "abcdefghijklmnopqrstuvwxyz0123456789_.-" for c in name)


def test_rfc1459_folds_brackets() -> None:
    assert irc_lower("Foo[]\\~", RFC1459) == "foo{}|^"
    assert irc_lower("Foo[]\\~", STRICT_RFC1459) == "foo{}|~"
    assert irc_lower("Foo[]\\~", ASCII) == "foo[]\\~"
    assert same("Alice[m]", "alice{M}")
    assert not same("alice", "alicé")


def test_asctime_pads_the_day_with_a_space() -> None:
    moment = datetime(2013, 1, 9, 20, 1, 10, tzinfo=UTC)
    assert asctime(moment, zone("UTC")) == "Wed Jan  9 20:01:10 2013"
    assert zone_label(moment, zone("UTC")) == "UTC"
    assert parse_asctime("Wed Jan  9 20:01:10 2013") == (2013, 1, 9, 20, 1, 10)
    assert parse_asctime("nonsense") is None


def test_times_are_converted_not_just_relabelled() -> None:
    moment = datetime(2013, 7, 9, 20, 1, 10, tzinfo=UTC)
    prague = zone("Europe/Prague")
    assert asctime(moment, prague) == "Tue Jul  9 22:01:10 2013"
    assert zone_label(moment, prague) == "CEST"
    assert clock(moment, prague) == "22:01:10"

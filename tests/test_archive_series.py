"""Series and aliases: the operator's alias table, checked, and looked up both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.archive.series import build_aliases, valid_series_name
from bot.config_loader import load_settings, parse_settings
from bot.settings import ConfigError

NETWORK = {"name": "local", "host": "127.0.0.1", "channels": ["#meet"]}


def test_aliases_map_old_names_to_their_series() -> None:
    aliases, problems = build_aliases({"nova": ["nova_team", "nova-meeting"], "heat": []})
    assert problems == []
    assert aliases.canonical("nova_team") == "nova"
    assert aliases.canonical("nova-meeting") == "nova"
    assert aliases.canonical("nova") == "nova"
    assert aliases.canonical("swift") == "swift"
    assert aliases.names_of("nova") == ("nova", "nova-meeting", "nova_team")
    assert aliases.names_of("nova_team") == ("nova", "nova-meeting", "nova_team")
    assert aliases.names_of("heat") == ("heat",)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"Nova": ["x"]}, "Nova: not a meeting name"),
        ({"nova": ["../etc"]}, "nova[0]: not a meeting name: '../etc'"),
        ({"nova": ["nova"]}, "nova[0]: 'nova' is the series itself"),
        ({"a": ["x"], "b": ["x"]}, "b[0]: 'x' is already an alias of 'a'"),
        ({"a": ["b"], "b": ["c"]}, "b: is a series and also an alias of 'a'"),
        ({"a": [3]}, "a[0]: not a meeting name: 3"),
    ],
)
def test_bad_alias_tables_are_named(table: dict[str, list[str]], expected: str) -> None:
    _, problems = build_aliases(table)
    assert any(p.startswith(expected) for p in problems), problems


def test_series_names_follow_both_naming_rules() -> None:
    assert valid_series_name("hyper_v") and valid_series_name("f36-blocker-review")
    assert valid_series_name("fedora.fr")
    assert not valid_series_name("") and not valid_series_name("a/b")
    assert not valid_series_name("a..b") and not valid_series_name("x" * 65)


def test_config_reads_aliases_and_names_bad_keys() -> None:
    settings = parse_settings(
        {"networks": [NETWORK], "archive": {"aliases": {"nova": ["nova_team"]}}}
    )
    assert settings.archive.aliases.canonical("nova_team") == "nova"
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                "networks": [NETWORK],
                "archive": {"aliases": {"nova": "nova_team", "a": ["B"]}, "colour": 1},
            }
        )
    assert "archive.aliases.nova: expected a list of names, got 'nova_team'" in (
        caught.value.problems
    )
    assert "archive.aliases.a[0]: not a meeting name: 'B'" in caught.value.problems
    assert "archive.colour: unknown key" in caught.value.problems


def test_example_config_has_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAVEL_SASL_PASSWORD", "x")
    monkeypatch.setenv("GAVEL_TEAM_KEY", "y")
    monkeypatch.setenv("GAVEL_SMTP_PASSWORD", "z")
    monkeypatch.setenv("GAVEL_HOOK_SECRET", "w")
    example = Path(__file__).parent.parent / "config" / "example.toml"
    assert load_settings(example).archive.aliases.canonical("nova_team") == "nova"

"""Configuration of what happens between meetings: [followup], [announce] and the channel
keys, validated like every other key; secrets only from the environment or a file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.config_loader import load_settings, parse_settings
from bot.settings import ConfigError

BASE = {
    "networks": [
        {
            "name": "local",
            "host": "127.0.0.1",
            "channels": [
                "#public",
                {
                    "name": "#team",
                    "followup": False,
                    "previous_at_start": True,
                    "announce_to": ["team@example.org"],
                },
            ],
        }
    ],
    "output": {"url_prefix": "https://m.example.org/"},
}


def problems(raw: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    return caught.value.problems


def test_defaults_point_the_replies_at_the_static_pages() -> None:
    settings = parse_settings(BASE)
    public, team = settings.networks[0].channels
    assert public.settings.successes_url == "https://m.example.org/successes.html"
    assert public.settings.thanks_url == "https://m.example.org/thanks.html"
    assert public.settings.followup and not public.settings.previous_at_start
    assert not team.settings.followup and team.settings.previous_at_start
    assert team.announce_to == ("team@example.org",)
    assert not settings.announce.enabled


def test_with_a_web_address_the_replies_point_at_the_web_pages() -> None:
    web = {"base_url": "https://archive.example.org/"}
    public = parse_settings({**BASE, "web": web}).networks[0].channels[0]
    assert public.settings.successes_url == "https://archive.example.org/successes"
    assert public.settings.thanks_url == "https://archive.example.org/thanks"
    mixed = {**BASE, "web": web, "followup": {"thanks_url": "https://t.example.org/"}}
    public = parse_settings(mixed).networks[0].channels[0]
    assert public.settings.successes_url == "https://archive.example.org/successes"
    assert public.settings.thanks_url == "https://t.example.org/"


def test_configured_urls_and_announcements(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMTP_PW", "pw")
    secret = tmp_path / "hook.secret"
    secret.write_text("from-a-file\n", encoding="utf-8")
    raw = {
        **BASE,
        "followup": {"successes_url": "https://m.example.org/s", "thanks_url": "https://t/"},
        "announce": {
            "retry_first_delay": 1,
            "email": {
                "host": "smtp.example.org",
                "username": "bot",
                "password_env": "SMTP_PW",
                "from": "Gavel <bot@example.org>",
                "to": ["list@example.org"],
            },
            "webhooks": [
                {"url": "https://h.example.org/g", "secret_file": str(secret)},
                {
                    "url": "https://h.example.org/team",
                    "secret_file": str(secret),
                    "events": ["meeting.complete"],
                    "channels": ["#team"],
                },
            ],
        },
    }
    settings = parse_settings(raw)
    assert settings.networks[0].channels[0].settings.successes_url == "https://m.example.org/s"
    email = settings.announce.email
    assert email is not None
    assert (email.port, email.security, email.password) == (587, "starttls", "pw")
    first, second = settings.announce.webhooks
    assert first.secret == "from-a-file" and first.channels is None
    assert second.events == ("meeting.complete",) and second.channels == ("#team",)
    assert settings.announce.retry_first_delay == 1.0 and settings.announce.timeout == 10.0


def test_every_bad_key_is_named() -> None:
    raw = {
        **BASE,
        "followup": {"successes_url": "not a url", "colour": "red"},
        "announce": {
            "retry_for_hours": 2,
            "email": {
                "host": "smtp.example.org",
                "security": "none",
                "username": "bot",
                "password": "inline",
                "from": "nobody",
                "to": ["not-an-address"],
                "subject": "{oops}",
            },
            "webhooks": [
                {"url": "ftp://x", "secret": "inline", "events": ["meeting.middle"]},
                {"url": "https://ok.example.org/", "channels": ["team"]},
            ],
        },
    }
    raw["networks"] = [
        {
            "name": "local",
            "host": "127.0.0.1",
            "channels": [{"name": "#a", "followup": "no", "announce_to": ["x"]}],
        }
    ]
    found = problems(raw)
    for expected in (
        "followup.successes_url: expected an http:// or https:// URL, got 'not a url'",
        "followup.colour: unknown key",
        "announce.retry_for_hours: must be at least 24: a receiver may be down for a day",
        "announce.email.security: none is only for a server on this machine (127.0.0.1)",
        "announce.email.password: give it as password_env or password_file, not inline",
        "announce.email.from: no email address in 'nobody'",
        "announce.email.to: not an email address: 'not-an-address'",
        "announce.webhooks[0].url: expected an http:// or https:// URL, got 'ftp://x'",
        "announce.webhooks[0].secret: give it as secret_env or secret_file, not inline",
        "announce.webhooks[1].secret: is required (secret_env or secret_file)",
        "announce.webhooks[1].channels: not a channel name: 'team'",
        "networks[0].channels[0].followup: expected true or false, got 'no'",
        "networks[0].channels[0].announce_to: not an email address: 'x'",
    ):
        assert expected in found, (expected, found)
    assert any(p.startswith("announce.email.subject: unknown field") for p in found)
    assert any(p.startswith("announce.webhooks[0].events: unknown event") for p in found)


def with_series(series: object, aliases: object = None) -> dict[str, object]:
    email = {"host": "smtp.example.org", "from": "g@example.org", "series": series}
    raw: dict[str, object] = {**BASE, "announce": {"email": email}}
    if aliases is not None:
        raw["archive"] = {"aliases": aliases}
    return raw


def test_a_series_has_addresses_of_its_own() -> None:
    raw = with_series(
        {"heat": ["heat-team@example.org"], "Nova": ["nova@l.example.org", "ptl@example.org"]},
        aliases={"heat": ["heat_team"]},
    )
    email = parse_settings(raw).announce.email
    assert email is not None
    # folded to the lower case series names take (the way meetings are named)
    assert dict(email.series) == {
        "heat": ("heat-team@example.org",),
        "nova": ("nova@l.example.org", "ptl@example.org"),
    }
    assert email.to == ()
    plain = parse_settings({**BASE, "announce": {"email": {"host": "h", "from": "g@e.org"}}})
    assert plain.announce.email is not None and dict(plain.announce.email.series) == {}


def test_every_bad_series_entry_is_named() -> None:
    found = problems(
        with_series(
            {
                "heat": "heat-team@example.org",
                "nova": ["nova@example.org", "ptl"],
                "glance": [1],
                "Nova": ["other@example.org"],
                "heat_team": ["old@example.org"],
                "heat team": ["h@example.org"],
                "cinder": {"to": ["c@example.org"]},
            },
            aliases={"heat": ["heat_team"]},
        )
    )
    assert found == [
        "announce.email.series.heat: expected a list, got 'heat-team@example.org'",
        "announce.email.series.nova: not an email address: 'ptl'",
        "announce.email.series.glance: expected a list of strings, got [1]",
        "announce.email.series.Nova: the series 'nova' is listed twice",
        "announce.email.series.heat_team: is an alias of 'heat' ([archive] aliases): "
        "give 'heat' instead",
        "announce.email.series.heat team: not a meeting name (a-z, 0-9, _ . -)",
        "announce.email.series.cinder: expected a list, got {'to': ['c@example.org']}",
    ]
    assert problems(with_series(["heat"])) == [
        "announce.email.series: expected a table, got ['heat']"
    ]


def test_the_documented_series_tables_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("Who gets the minutes email:", 1)[1]
    snippet = section.split("```toml\n", 1)[1].split("```", 1)[0]
    text = '[announce.email]\nhost = "smtp.example.org"\nfrom = "g@example.org"\n' + snippet
    email = parse_settings({**BASE, **tomllib.loads(text)}).announce.email
    assert email is not None and set(email.series) == {"heat", "nova"}
    for name in (
        "GAVEL_SASL_PASSWORD",
        "GAVEL_TEAM_KEY",
        "GAVEL_SMTP_PASSWORD",
        "GAVEL_HOOK_SECRET",
    ):
        monkeypatch.setenv(name, "x")
    example = load_settings(root / "config" / "example.toml")
    assert example.announce.email is not None
    assert example.announce.email.series["nova"] == (
        "nova@lists.example.org",
        "nova-ptl@example.org",
    )
    assert example.archive.aliases.canonical("nova_team") == "nova"

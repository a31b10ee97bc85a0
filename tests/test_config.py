"""Configuration: the documented example loads; every error names its key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.config_loader import load_settings, parse_settings
from bot.core.names import NAME_RULES, meeting_name
from bot.settings import (
    ChannelConfig,
    ConfigError,
    Identity,
    NetworkConfig,
    OutputSettings,
    Settings,
)

ROOT = Path(__file__).parent.parent

MINIMAL = """
[bot]
nick = "meetbot"
[[networks]]
name = "local"
host = "127.0.0.1"
port = 6667
tls = false
channels = ["#openstack-meeting", { name = "#prague-team", timezone = "Europe/Prague" }]
[output]
dir = "./meetings"
url_prefix = "http://eavesdrop.example.org/meetings/"
[storage]
path = "./data/gavel.sqlite3"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gavel.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))
    return caught.value.problems


def test_the_minimal_documented_config_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.identity.nick == "meetbot"
    (net,) = settings.networks
    assert (net.name, net.host, net.port, net.tls.enabled) == ("local", "127.0.0.1", 6667, False)
    assert [c.name for c in net.channels] == ["#openstack-meeting", "#prague-team"]
    assert net.channels[1].settings.timezone_name == "Europe/Prague"
    assert net.channels[0].settings.timezone_name == "UTC"
    assert settings.output.url_prefix == "http://eavesdrop.example.org/meetings/"
    assert settings.storage.path == Path("./data/gavel.sqlite3")
    assert net.rate == 1.0 and net.burst == 4


def test_rate_zero_is_unthrottled(tmp_path: Path) -> None:
    text = MINIMAL.replace("tls = false", "tls = false\nrate = 0")
    assert load_settings(write(tmp_path, text)).networks[0].rate == 0.0


def test_unknown_time_zone_is_named_with_its_key(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        '"#openstack-meeting", ', '"#a", "#b", { name = "#c", timezone = "Mars/Base" }, '
    )
    assert "networks[0].channels[2].timezone: unknown time zone 'Mars/Base'" in problems(
        tmp_path, text
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = """
[bot]
nick = "9bad"
colour = "blue"
[[networks]]
host = "h"
port = 70000
rate = -1
channels = ["nochan", { name = "#x", meeting_length_minutes = 0 }]
[logging]
format = "xml"
"""
    found = problems(tmp_path, text)
    for expected in (
        "bot.nick: not a valid IRC nick: '9bad'",
        "bot.colour: unknown key",
        "networks[0].name: is required",
        "networks[0].port: expected 1-65535, got 70000",
        "networks[0].rate: must be 0 (unthrottled) or more, got -1.0",
        "networks[0].channels[0].name: not a channel name: 'nochan'",
        "networks[0].channels[1].meeting_length_minutes: must be at least 1, got 0",
        "logging.format: expected 'json' or 'console', got 'xml'",
    ):
        assert expected in found


def test_wrong_types_are_named(tmp_path: Path) -> None:
    found = problems(tmp_path, MINIMAL.replace("port = 6667", 'port = "6667"'))
    assert found == ["networks[0].port: expected an integer, got '6667'"]


def test_no_networks_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"bot": {"nick": "x"}})
    assert caught.value.problems == ["networks: at least one [[networks]] entry is required"]


def test_a_network_without_channels_is_an_error(tmp_path: Path) -> None:
    listed = re.compile(r"^channels = .*$", re.MULTILINE)
    assert len(listed.findall(MINIMAL)) == 1
    for replacement in ("channels = []", ""):
        assert problems(tmp_path, listed.sub(replacement, MINIMAL)) == [
            "networks[0].channels: at least one channel is required"
        ]


def test_secrets_from_environment_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("s3cret\n", encoding="utf-8")
    monkeypatch.setenv("GAVEL_TEST_PASSWORD", "hunter2")
    text = MINIMAL.replace(
        '"#openstack-meeting", ',
        f'{{ name = "#locked", key_file = "{secret_file}" }}, ',
    ).replace(
        "tls = false",
        'tls = false\nsasl = { mechanism = "PLAIN", username = "meetbot", '
        'password_env = "GAVEL_TEST_PASSWORD" }',
    )
    net = load_settings(write(tmp_path, text)).networks[0]
    assert net.channels[0].key == "s3cret"
    assert net.sasl is not None and net.sasl.password == "hunter2"
    monkeypatch.delenv("GAVEL_TEST_PASSWORD")
    assert "networks[0].sasl.password_env: environment variable GAVEL_TEST_PASSWORD is not set" in (
        problems(tmp_path, text)
    )


def test_sasl_required_defaults_on_and_is_validated(tmp_path: Path) -> None:
    sasl = 'sasl = { mechanism = "PLAIN", username = "meetbot", password = "pw" }'
    with_sasl = MINIMAL.replace("tls = false", f"tls = false\n{sasl}")
    net = load_settings(write(tmp_path, with_sasl)).networks[0]
    assert net.sasl is not None and net.sasl.required
    optional = with_sasl.replace("tls = false", "tls = false\nsasl_required = false")
    net = load_settings(write(tmp_path, optional)).networks[0]
    assert net.sasl is not None and not net.sasl.required
    wrong = with_sasl.replace("tls = false", 'tls = false\nsasl_required = "yes"')
    assert problems(tmp_path, wrong) == [
        "networks[0].sasl_required: expected true or false, got 'yes'"
    ]
    alone = MINIMAL.replace("tls = false", "tls = false\nsasl_required = true")
    assert problems(tmp_path, alone) == ["networks[0].sasl_required: needs a sasl table"]


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
    assert "not valid TOML" in problems(tmp_path, "[bot\nnick=")[0]


@pytest.mark.parametrize("name", ["local.toml", "example.toml"])
def test_shipped_configs_are_valid(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAVEL_SASL_PASSWORD", "x")
    monkeypatch.setenv("GAVEL_TEAM_KEY", "y")
    monkeypatch.setenv("GAVEL_SMTP_PASSWORD", "z")
    monkeypatch.setenv("GAVEL_HOOK_SECRET", "w")
    settings = load_settings(ROOT / "config" / name)
    assert settings.networks


def test_private_channels_need_a_private_dir(tmp_path: Path) -> None:
    text = MINIMAL.replace('"#openstack-meeting", ', '{ name = "#secret", private = true }, ')
    assert problems(tmp_path, text) == [
        "networks[0].channels[0].private: needs output.private_dir to be set"
    ]
    with_dir = text.replace('dir = "./meetings"', 'dir = "./meetings"\nprivate_dir = "./private"')
    settings = load_settings(write(tmp_path, with_dir))
    assert settings.networks[0].channels[0].private
    assert settings.output.private_dir == Path("./private")


def test_reconnect_and_watchdog_delays(tmp_path: Path) -> None:
    net = load_settings(write(tmp_path, MINIMAL)).networks[0]
    assert (net.timing.reconnect_first_delay, net.timing.reconnect_max_delay) == (10.0, 300.0)
    assert (net.timing.ping_after, net.timing.dead_after) == (60.0, 120.0)
    text = MINIMAL.replace(
        "tls = false",
        "tls = false\nreconnect_first_delay = 1\nreconnect_max_delay = 2.5\n"
        "ping_after = 3\ndead_after = 6",
    )
    timing = load_settings(write(tmp_path, text)).networks[0].timing
    assert (timing.reconnect_first_delay, timing.reconnect_max_delay) == (1.0, 2.5)
    assert (timing.ping_after, timing.dead_after) == (3.0, 6.0)


def test_bad_reconnect_and_watchdog_delays_are_named(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "tls = false",
        "tls = false\nreconnect_first_delay = 0\nreconnect_max_delay = 5\n"
        "ping_after = 30\ndead_after = 20",
    )
    assert problems(tmp_path, text) == [
        "networks[0].reconnect_first_delay: must be more than 0 seconds, got 0.0"
    ]
    text = MINIMAL.replace("tls = false", "tls = false\nping_after = 30\ndead_after = 20")
    assert problems(tmp_path, text) == ["networks[0].dead_after: must be more than ping_after"]
    text = MINIMAL.replace("tls = false", "tls = false\nreconnect_max_delay = 1")
    assert problems(tmp_path, text) == [
        "networks[0].reconnect_max_delay: must not be less than reconnect_first_delay"
    ]


def test_web_settings_default_and_validated(tmp_path: Path) -> None:
    web = load_settings(write(tmp_path, MINIMAL)).web
    assert (web.host, web.port, web.base_url, web.title) == ("127.0.0.1", 8080, "", "Meetings")
    assert web.nice == 10  # below the bot unless the operator says otherwise
    assert web.idle  # and only on CPU time nothing else wants
    text = MINIMAL + (
        '[web]\nlisten = "[::1]:9090"\nbase_url = "https://m.example.org/"\nnice = 0\n'
        "idle = false\n"
    )
    web = load_settings(write(tmp_path, text)).web
    assert (web.host, web.port, web.base_url) == ("::1", 9090, "https://m.example.org")
    assert (web.nice, web.idle) == (0, False)
    bad = MINIMAL + (
        '[web]\nlisten = "localhost"\nbase_url = "javascript:alert(1)"\n'
        'title = "a\\u0007b"\nport = 1\n'
    )
    assert problems(tmp_path, bad) == [
        "web.listen: expected HOST:PORT such as 127.0.0.1:8080, got 'localhost'",
        "web.base_url: expected an http:// or https:// URL, got 'javascript:alert(1)'",
        "web.title: must be printable text of at most 200 characters",
        "web.port: unknown key",
    ]
    assert problems(tmp_path, MINIMAL + '[web]\nlisten = "127.0.0.1:70000"\n') == [
        "web.listen: expected HOST:PORT such as 127.0.0.1:8080, got '127.0.0.1:70000'"
    ]
    assert problems(tmp_path, MINIMAL + "[web]\nnice = 20\n") == [
        "web.nice: expected a niceness from 0 to 19, got 20"
    ]
    assert problems(tmp_path, MINIMAL + "[web]\nnice = -5\n") == [
        "web.nice: expected a niceness from 0 to 19, got -5"
    ]
    assert problems(tmp_path, MINIMAL + '[web]\nnice = "low"\n') == [
        "web.nice: expected an integer, got 'low'"
    ]
    assert problems(tmp_path, MINIMAL + '[web]\nidle = "yes"\n') == [
        "web.idle: expected true or false, got 'yes'"
    ]


def test_a_private_channel_tells_its_meetings(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        '{ name = "#prague-team", timezone = "Europe/Prague" }',
        '{ name = "#prague-team", private = true }',
    ).replace("[storage]", 'private_dir = "./private"\n[storage]')
    net = load_settings(write(tmp_path, text)).networks[0]
    assert [c.settings.private for c in net.channels] == [False, True]


def test_a_channel_listed_twice_is_found_as_the_server_folds_names(tmp_path: Path) -> None:
    text = MINIMAL.replace('"#openstack-meeting", ', '"#team[1]", "#TEAM{1}", ')
    assert problems(tmp_path, text) == ["networks[0].channels: #TEAM{1} is listed twice"]


def test_a_channels_configuration_is_looked_up_as_the_server_folds_names() -> None:
    own = OutputSettings(dir=Path("./styled"), url_prefix="https://example.org/styled/")
    secret = ChannelConfig("#Secret[1]", private=True, announce_to=("team@example.org",))
    styled = ChannelConfig("#styled", output=own)
    settings = Settings(Identity(), (NetworkConfig("net", "h", channels=(secret, styled)),))
    assert settings.channel("net", "#secret{1}") is secret
    assert settings.channel("net", "#STYLED") is styled
    # Not configured (or on another network): the defaults.
    assert settings.channel("other", "#secret{1}") == ChannelConfig("#secret{1}")
    assert settings.output_for("net", "#SECRET[1]") == (settings.output, True)
    assert settings.output_for("net", "#Styled") == (own, False)
    assert settings.output_for("net", "#elsewhere") == (settings.output, False)


def test_meeting_names_rule_globally_and_per_channel(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.output.meeting_names == "openstack"
    assert settings.networks[0].channels[0].settings.meeting_names == "openstack"
    text = MINIMAL.replace(
        '"#openstack-meeting", ',
        '"#openstack-meeting", '
        '{ name = "#fedora-meeting", output = { meeting_names = "fedora" } }, ',
    )
    channels = load_settings(write(tmp_path, text)).networks[0].channels
    assert [c.settings.meeting_names for c in channels] == ["openstack", "fedora", "openstack"]
    assert channels[1].output is not None and channels[1].output.meeting_names == "fedora"
    everywhere = text.replace('dir = "./meetings"', 'dir = "./meetings"\nmeeting_names = "fedora"')
    channels = load_settings(write(tmp_path, everywhere)).networks[0].channels
    assert [c.settings.meeting_names for c in channels] == ["fedora", "fedora", "fedora"]


def test_an_unknown_meeting_names_rule_is_named_with_its_key(tmp_path: Path) -> None:
    text = MINIMAL.replace('dir = "./meetings"', 'dir = "./meetings"\nmeeting_names = "debian"')
    assert problems(tmp_path, text) == [
        "output.meeting_names: expected 'openstack' or 'fedora', got 'debian'"
    ]
    text = MINIMAL.replace(
        '"#openstack-meeting"', '{ name = "#x", output = { meeting_names = 1 } }'
    )
    assert problems(tmp_path, text) == [
        "networks[0].channels[0].output.meeting_names: expected a string, got 1"
    ]


def _readme_smallest_config() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("The smallest useful file:", 1)[1]
    return after.split("```toml\n", 1)[1].split("```", 1)[0]


def test_examples_keep_archived_channels_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GAVEL_SASL_PASSWORD", "x")
    monkeypatch.setenv("GAVEL_TEAM_KEY", "y")
    monkeypatch.setenv("GAVEL_SMTP_PASSWORD", "z")
    monkeypatch.setenv("GAVEL_HOOK_SECRET", "w")
    example = load_settings(ROOT / "config" / "example.toml")
    smallest = parse_settings(tomllib.loads(_readme_smallest_config()))
    for settings in (example, smallest):
        for channel in settings.networks[0].channels:
            if "fedora" in channel.name:
                assert channel.settings.timezone_name == "UTC", channel.name
    (fedora,) = [c for c in example.networks[0].channels if c.name == "#fedora-meeting"]
    assert fedora.output is not None
    assert fedora.output.pattern == "{channel}/%Y-%m-%d/{meetingname}.%Y-%m-%d-%H.%M"
    assert fedora.settings.meeting_names == "fedora"
    zones = {c.settings.timezone_name for c in smallest.networks[0].channels}
    assert zones == {"UTC", "Europe/Prague"}


def test_readme_fedora_snippet_and_name_table_are_true(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Moving from zodbot", 1)[1].split("\n## ", 1)[0]
    snippet = section.split("```toml\n", 1)[1].split("```", 1)[0]
    text = MINIMAL.replace(
        'channels = ["#openstack-meeting", { name = "#prague-team", timezone = "Europe/Prague" }]',
        snippet.strip(),
    )
    (channel,) = load_settings(write(tmp_path, text)).networks[0].channels
    assert channel.output is not None
    assert channel.output.pattern == "{channel}/%Y-%m-%d/{meetingname}.%Y-%m-%d-%H.%M"
    assert channel.settings.meeting_names == "fedora"
    typed = re.search(r"`#startmeeting ([^`]+)` \|", section)
    assert typed is not None
    for rule, name in re.findall(r'^\| `"(\w+)"`.*\| `([^`]+)` \|$', section, re.MULTILINE):
        assert meeting_name(typed.group(1), channel.name, rule) == name
    assert len(re.findall(r'^\| `"(\w+)"`', section, re.MULTILINE)) == len(NAME_RULES)

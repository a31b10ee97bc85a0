"""Path rules: the pattern, sanitising, byte limits, containment and collision suffixes."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.settings import OutputSettings
from bot.writers.paths import (
    EXTENSIONS,
    MAX_COMPONENT_BYTES,
    UnsafePathError,
    contained,
    log_href,
    log_url,
    relative_base,
    sanitise_value,
    truncate_utf8,
    unique_base,
    url_for,
    with_suffix,
)
from bot.writers.publish import choose_base, write_meeting_files
from tests.example_meeting import RECORD, meeting, said


def test_default_pattern_gives_the_spec_example() -> None:
    assert relative_base(RECORD, OutputSettings().pattern) == "heat/2013/heat.2013-01-09-20.01"


def test_channel_and_network_placeholders() -> None:
    record = meeting(channel="#OpenStack-Meeting", network="OFTC")
    assert relative_base(record, "{network}/{channel}/%Y-%m-%d") == (
        "OFTC/openstack-meeting/2013-01-09"
    )


def test_strftime_uses_the_meetings_time_zone() -> None:
    record = meeting(timezone="Asia/Tokyo")
    assert relative_base(record, "{meetingname}.%Y-%m-%d-%H.%M") == "heat.2013-01-10-05.01"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b", "a_b"),
        ("..", "__"),
        ("../../etc", "______etc"),
        ("a..b", "a__b"),
        (".hidden", "_hidden"),
        ("", "_"),
        ("nul\x00byte", "nul_byte"),
        ("back\\slash", "back_slash"),
        ("new\nline", "new_line"),
        ("bidi\u202eexe", "bidi_exe"),
        ("%Y%m", "%%Y%%m"),
    ],
)
def test_sanitise_value(name: str, expected: str) -> None:
    assert sanitise_value(name) == expected


def test_user_text_cannot_inject_strftime_codes() -> None:
    record = meeting(name="%Y-%H%%", channel="#%d")
    assert relative_base(record, "{channel}/{meetingname}/%Y") == "%d/%Y-%H%%/2013"


def test_user_text_is_not_read_as_a_placeholder() -> None:
    record = meeting(name="{channel}", channel="#{meetingname}")
    assert relative_base(record, "{channel}/{meetingname}") == "{meetingname}/{channel}"


def test_a_pattern_that_climbs_out_or_is_absolute_is_refused() -> None:
    with pytest.raises(UnsafePathError):
        relative_base(RECORD, "../{meetingname}")
    with pytest.raises(UnsafePathError):
        relative_base(RECORD, "/tmp/{meetingname}")
    with pytest.raises(UnsafePathError):
        relative_base(RECORD, "./")


def test_empty_and_dot_components_are_dropped() -> None:
    assert relative_base(RECORD, "a//./{meetingname}") == "a/heat"


def test_truncate_utf8_never_splits_a_character() -> None:
    assert truncate_utf8("é" * 10, 5) == "éé"
    assert truncate_utf8("abc", 5) == "abc"
    assert truncate_utf8("🚀🚀", 7) == "🚀"


def test_long_names_fit_a_component_with_extension_and_suffix() -> None:
    record = meeting(name="é" * 300)
    base = relative_base(record, "{meetingname}/{meetingname}" + "x" * 300)
    for part in with_suffix(base, 9999999).split("/"):
        assert len((part + ".log.html").encode()) <= MAX_COMPONENT_BYTES


def test_unique_base_adds_suffixes() -> None:
    taken = {"a/b", "a/b-2"}
    assert unique_base("a/b", taken.__contains__) == "a/b-3"
    assert unique_base("a/c", taken.__contains__) == "a/c"


def test_contained() -> None:
    assert contained(Path("/srv/m"), "a/b") == Path("/srv/m/a/b")
    for bad in ("../a", "a/../../b", "/etc/passwd", ".", "a/.."):
        with pytest.raises(UnsafePathError):
            contained(Path("/srv/m"), bad)


def test_urls() -> None:
    assert url_for("http://x/", "a b/#c") == "http://x/a%20b/%23c"
    assert log_url("http://x/m/", "heat/2013/heat.x") == "http://x/m/heat/2013/heat.x.log.html"
    assert log_url("", "heat/2013/heat.x") == "heat.x.log.html"
    assert log_href("a/b#c") == "b%23c.log.html"


HOSTILE = st.sampled_from(
    ["..", ".", "/", "../..", "a/../..", "\x00", "%", "%Y%m%d", "%%", "é" * 150, "🚀" * 80, ""]
)
NAMES = st.one_of(HOSTILE, st.text(min_size=0, max_size=120), st.lists(HOSTILE).map("".join))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(channel=NAMES, name=NAMES, network=NAMES)
def test_every_written_path_stays_inside_the_output_directory(
    channel: str, name: str, network: str
) -> None:
    record = meeting(
        channel="#" + channel,
        name=name,
        network=network,
        lines=said(("alice", "hi")),
        start=datetime(2013, 1, 9, 20, 1, 10, tzinfo=UTC),
    )
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "out"
        output = OutputSettings(dir=root, pattern="{network}/{channel}/{meetingname}.%Y%m%d")
        published = write_meeting_files(record, output, choose_base(record, output))
        real_root = os.path.realpath(root)
        assert len(published.paths) == len(EXTENSIONS)
        for path in published.paths:
            real = os.path.realpath(path)
            assert os.path.commonpath([real_root, real]) == real_root
            assert path.is_file()
            for part in Path(real).relative_to(real_root).parts:
                assert 0 < len(part.encode("utf-8", "surrogatepass")) <= MAX_COMPONENT_BYTES
        written = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
        assert written == sorted(p.relative_to(root) for p in published.paths)

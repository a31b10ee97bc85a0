"""Old Fedora logs replayed into Fedora's archive layout, read back as its viewer reads them.

A three-meeting series (an empty meeting, one with items before its first topic, one that
never ended) is replayed with `gavel replay --pattern ... --meeting-names fedora`; the files
must land where Fedora's archive lists them, and the minutes, parsed as a MeetBot consumer
parses them, must give exactly each meeting's content.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.meetbot_consumer import read_minutes, text_action_items

FEDORA_PATTERN = "{channel}/%Y-%m-%d/{meetingname}.%Y-%m-%d-%H.%M"
ARGS = ["--channel", "#fedora-meeting", "--nick", "zodbot", "--meeting-names", "fedora"]
NAME = "f41_blocker-review"  # from "F41 Blocker-Review": lower case, hyphen kept, space -> _
TITLE = "#fedora-meeting: F41 Blocker-Review"


def _started(asctime: str) -> str:
    return (
        f"<zodbot> Meeting started {asctime} UTC.  The chair is Alice. "
        "Information about MeetBot at https://fedoraproject.org/wiki/Zodbot."
    )


EMPTY = f"""\
16:00:05 <Alice> #startmeeting F41 Blocker-Review
16:00:05 {_started("Thu May  2 16:00:05 2024")}
16:00:05 <zodbot> Useful Commands: #action #agreed #halp #info #idea #link #topic.
16:00:05 <zodbot> The meeting name has been set to 'f41_blocker-review'
16:01:00 <bob> nothing to review today
16:02:10 <Alice> #endmeeting
"""

EARLY = f"""\
16:00:03 <Alice> #startmeeting F41 Blocker-Review
16:00:03 {_started("Thu May  9 16:00:03 2024")}
16:00:03 <zodbot> Useful Commands: #action #agreed #halp #info #idea #link #topic.
16:00:03 <zodbot> The meeting name has been set to 'f41_blocker-review'
16:00:20 <Alice> #chair bob
16:00:20 <zodbot> Current chairs: Alice bob
16:00:40 <Alice> #info agenda at https://example.org/agenda
16:00:50 <bob> #action Alice to send the agenda a day earlier
16:01:00 <Alice> #topic Proposed blockers
16:01:30 <bob> #agreed 2291 is a blocker
16:02:00 <carol> #action bob to retest bug 2291 on the final compose for every arch we ship now
16:02:30 <carol> #info tested on aarch64
16:03:00 <Alice> #topic Open floor
16:03:30 <Alice> #endmeeting
"""

UNFINISHED = f"""\
16:00:00 <Alice> #startmeeting F41 Blocker-Review
16:00:00 {_started("Thu May 16 16:00:00 2024")}
16:00:30 <Alice> #topic Accepted blockers
16:01:00 <Alice> #info none left
16:01:45 <dave> see you next week
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("logs")
    out = tmp_path_factory.mktemp("archive")
    for day, text in (("02", EMPTY), ("09", EARLY), ("16", UNFINISHED)):
        log = logs / f"fedora-meeting.2024-05-{day}.log.txt"
        log.write_text(text, encoding="utf-8")
        assert (
            main(["replay", str(log), *ARGS, "--pattern", FEDORA_PATTERN, "--out", str(out)]) == 0
        )
    return out


def _base(day: str, hm: str) -> str:
    return f"fedora-meeting/2024-05-{day}/{NAME}.2024-05-{day}-{hm}"


def _read(archive: Path, base: str, extension: str) -> str:
    return (archive / f"{base}{extension}").read_text(encoding="utf-8")


def test_files_are_in_fedoras_layout(archive: Path) -> None:
    found = sorted(str(p.relative_to(archive)) for p in archive.rglob("*") if p.is_file())
    assert found == sorted(
        f"{_base(day, '16.00')}{ext}"
        for day in ("02", "09", "16")
        for ext in (".log.txt", ".log.html", ".html", ".txt", ".json")
    )


def test_the_logs_are_the_old_logs_again(archive: Path) -> None:
    for day, text in (("02", EMPTY), ("09", EARLY), ("16", UNFINISHED)):
        assert _read(archive, _base(day, "16.00"), ".log.txt") == text


def test_an_empty_meeting_reads_as_empty(archive: Path) -> None:
    minutes = read_minutes(_read(archive, _base("02", "16.00"), ".html"))
    assert (minutes.title, minutes.owner) == (TITLE, "Alice")
    assert (minutes.started, minutes.ended) == ("16:00:05", "16:02:10")
    assert minutes.topics == [] and minutes.before_topics == []
    assert minutes.actions == []
    assert minutes.people == ["zodbot (3)", "Alice (2)", "bob (1)"]
    assert text_action_items(_read(archive, _base("02", "16.00"), ".txt")) == []


def test_items_before_the_first_topic_are_read(archive: Path) -> None:
    minutes = read_minutes(_read(archive, _base("09", "16.00"), ".html"))
    assert (minutes.title, minutes.owner) == (TITLE, "Alice")
    assert (minutes.started, minutes.ended) == ("16:00:03", "16:03:30")
    assert minutes.before_topics == [
        "agenda at https://example.org/agenda",
        "ACTION: Alice to send the agenda a day earlier",
    ]
    long_action = "bob to retest bug 2291 on the final compose for every arch we ship now"
    assert minutes.topics == [
        (
            "Proposed blockers",
            ["AGREED: 2291 is a blocker", f"ACTION: {long_action}", "tested on aarch64"],
        ),
        ("Open floor", []),
    ]
    assert minutes.actions == ["Alice to send the agenda a day earlier", long_action]
    assert minutes.people == ["Alice (6)", "zodbot (4)", "bob (2)", "carol (2)"]
    text = _read(archive, _base("09", "16.00"), ".txt")
    assert text_action_items(text) == minutes.actions


def test_an_unfinished_meeting_ends_at_its_last_line(archive: Path) -> None:
    page = _read(archive, _base("16", "16.00"), ".html")
    minutes = read_minutes(page)
    assert (minutes.title, minutes.owner) == (TITLE, "Alice")
    assert (minutes.started, minutes.ended) == ("16:00:00", "16:01:45")
    assert "The meeting is still in progress" in page
    assert minutes.topics == [("Accepted blockers", ["none left"])]
    assert minutes.before_topics == [] and minutes.actions == []
    assert minutes.people == ["Alice (3)", "zodbot (1)", "dave (1)"]


def test_bad_pattern_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "x.log.txt"
    log.write_text(EMPTY, encoding="utf-8")
    status = main(["replay", str(log), *ARGS, "--pattern", "../%Y", "--out", str(tmp_path / "o")])
    assert status == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "gavel: --pattern: must contain {meetingname} or a time down to %M, or files collide; "
        "must be a relative path without '..'"
    ]
    assert not (tmp_path / "o").exists()

"""Writing files: atomic, durable, with the right modes, names and containment."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import OutputSettings
from bot.writers.paths import EXTENSIONS, UnsafePathError
from bot.writers.publish import (
    STALE_TEMP_SECONDS,
    choose_base,
    publish_meeting,
    remove_stale_temporaries,
    url_base,
    write_atomic,
    write_meeting_files,
)
from bot.writers.render import render_all
from tests.example_meeting import BASE, RECORD, URL_PREFIX, meeting, said


def _output(tmp_path: Path, private_dir: Path | None = None) -> OutputSettings:
    return OutputSettings(dir=tmp_path / "meetings", url_prefix=URL_PREFIX, private_dir=private_dir)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_five_files_with_the_rendered_text(tmp_path: Path) -> None:
    output = _output(tmp_path)
    published = publish_meeting(RECORD, output)
    assert published.base == BASE
    assert published.url_base == URL_PREFIX + BASE
    assert published.paths == tuple(output.dir / (BASE + ext) for ext in EXTENSIONS)
    expected = render_all(RECORD, BASE, URL_PREFIX)
    for ext, path in zip(EXTENSIONS, published.paths, strict=True):
        assert path.read_bytes() == expected[ext].encode("utf-8")
        assert _mode(path) == 0o644
    assert _files(output.dir) == sorted(BASE + ext for ext in EXTENSIONS)


def test_modes_do_not_depend_on_the_umask_and_restricted_is_private(tmp_path: Path) -> None:
    output = _output(tmp_path)
    previous = os.umask(0o077)
    try:
        open_paths = publish_meeting(RECORD, output).paths
        assert {_mode(p) for p in open_paths} == {0o644}
    finally:
        os.umask(previous)
    restricted = publish_meeting(meeting(restricted=True), output).paths
    assert restricted == open_paths  # the same meeting keeps its files
    assert {_mode(p) for p in restricted} == {0o600}


def test_overwriting_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    output = _output(tmp_path)
    first = publish_meeting(meeting(end=None), output)
    inode = first.paths[0].stat().st_ino
    second = publish_meeting(RECORD, output)
    assert second.paths == first.paths
    assert second.paths[0].stat().st_ino != inode  # replaced by rename, not rewritten
    assert "Meeting ended at 20:05:00 UTC." in second.paths[3].read_text(encoding="utf-8")
    assert _files(output.dir) == sorted(BASE + ext for ext in EXTENSIONS)


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    write_atomic(target, ["old\n"], 0o644)

    def pieces() -> Iterator[str]:
        yield "new " * 100_000
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, pieces(), 0o644)
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_temporaries_left_by_a_killed_writer_go_at_the_next_write(tmp_path: Path) -> None:
    output = _output(tmp_path)
    directory = publish_meeting(RECORD, output).paths[0].parent
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = directory / f".gavel-{dead.pid}-abc123.tmp"  # its writer was killed mid-write
    live = directory / f".gavel-{os.getppid()}-def456.tmp"  # another process still writing
    old = directory / ".gavel-ghi789.tmp"  # no pid in the name: known only by its age
    fresh = directory / ".gavel-jkl012.tmp"
    for path in (left, live, old, fresh):
        path.write_text("half a fi")
    hour_ago = time.time() - STALE_TEMP_SECONDS - 1
    os.utime(old, (hour_ago, hour_ago))
    publish_meeting(RECORD, output)
    assert not left.exists() and not old.exists()
    assert live.exists() and fresh.exists()
    os.utime(live, (hour_ago, hour_ago))
    assert remove_stale_temporaries(directory) == 1  # too old, whoever holds it
    assert remove_stale_temporaries(tmp_path / "nowhere") == 0


def test_odd_unicode_never_stops_a_write(tmp_path: Path) -> None:
    record = meeting(lines=said(("alice", "lone \udcff surrogate"), ("bob", "\x00\u202e")))
    published = publish_meeting(record, _output(tmp_path))
    log = published.paths[0].read_text(encoding="utf-8")
    assert log.splitlines()[0] == "20:01:10 <alice> lone ? surrogate"


def test_another_meeting_with_the_same_name_gets_a_suffix(tmp_path: Path) -> None:
    output = _output(tmp_path)
    first = publish_meeting(RECORD, output)
    second = publish_meeting(meeting(id=2), output)
    third = publish_meeting(meeting(id=3), output)
    assert (first.base, second.base, third.base) == (BASE, BASE + "-2", BASE + "-3")
    assert choose_base(meeting(id=2), output) == BASE + "-2"  # and keeps it on regenerate
    data = json.loads((output.dir / (BASE + "-2.json")).read_text(encoding="utf-8"))
    assert data["id"] == 2
    assert data["files"]["minutes_html"] == BASE + "-2.html"


def test_files_of_unknown_origin_are_never_overwritten(tmp_path: Path) -> None:
    output = _output(tmp_path)
    stranger = output.dir / (BASE + ".html")
    stranger.parent.mkdir(parents=True)
    stranger.write_text("someone else's")
    assert publish_meeting(RECORD, output).base == BASE + "-2"
    assert stranger.read_text() == "someone else's"


def test_private_meetings_go_to_the_private_directory(tmp_path: Path) -> None:
    output = _output(tmp_path, private_dir=tmp_path / "private")
    published = publish_meeting(RECORD, output, private=True)
    assert published.paths[0] == tmp_path / "private" / (BASE + ".log.txt")
    assert not (tmp_path / "meetings").exists()
    public = publish_meeting(RECORD, _output(tmp_path), private=True)
    assert public.paths[0] == tmp_path / "meetings" / (BASE + ".log.txt")


def test_a_symlink_out_of_the_output_directory_is_refused(tmp_path: Path) -> None:
    output = _output(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    output.dir.mkdir()
    (output.dir / "heat").symlink_to(outside)
    with pytest.raises(UnsafePathError):
        write_meeting_files(RECORD, output, BASE)
    assert list(outside.iterdir()) == []


def test_a_base_outside_the_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        write_meeting_files(RECORD, _output(tmp_path), "../escape")
    assert not (tmp_path / "escape.html").exists()


def test_url_base_quotes_the_path() -> None:
    assert url_base(OutputSettings(url_prefix="https://m/"), "a b/c#d") == "https://m/a%20b/c%23d"
    assert url_base(OutputSettings(), "heat/x") == "heat/x"

"""`gavel replay`: the outputs.md example log in, the spec's files out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.cli import main

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "tests" / "data" / "example.log.txt"
GOLDEN = ROOT / "tests" / "golden"
BASE = "heat/2013/heat.2013-01-09-20.01"
ARGS = ["--channel", "#openstack-meeting", "--nick", "meetbot"]
PREFIX = ["--url-prefix", "http://eavesdrop.example.org/meetings/"]


def test_replay_of_the_example_writes_the_spec_files(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    status = main(["replay", str(EXAMPLE), *ARGS, "--out", str(tmp_path), *PREFIX])
    assert status == 0
    printed = capsys.readouterr().out.split()
    assert printed == [
        str(tmp_path / f"{BASE}{ext}")
        for ext in (".log.txt", ".log.html", ".html", ".txt", ".json")
    ]
    assert (tmp_path / f"{BASE}.txt").read_bytes() == (GOLDEN / "heat.txt").read_bytes()
    assert (tmp_path / f"{BASE}.log.txt").read_bytes() == EXAMPLE.read_bytes()
    assert (tmp_path / f"{BASE}.html").read_bytes() == (GOLDEN / "heat.html").read_bytes()
    assert (tmp_path / f"{BASE}.log.html").read_bytes() == (GOLDEN / "heat.log.html").read_bytes()


def test_replay_twice_overwrites_its_own_files(tmp_path: Path) -> None:
    for _ in range(2):
        assert main(["replay", str(EXAMPLE), *ARGS, "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "heat" / "2013").iterdir()) == [
        f"heat.2013-01-09-20.01{ext}"
        for ext in sorted([".html", ".json", ".log.html", ".log.txt", ".txt"])
    ]


def test_replay_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    no_start = tmp_path / "chat.log.txt"
    no_start.write_text("20:00:00 <bob> hello\n20:00:01 <amy> hi\n", encoding="utf-8")
    for log, expected in (
        (tmp_path / "missing.log.txt", "cannot read"),
        (no_start, "no #startmeeting"),
    ):
        run = subprocess.run(
            [sys.executable, "-m", "bot", "replay", str(log), *ARGS, "--out", str(tmp_path / "o")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert run.returncode == 2
        assert expected in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_replay_reads_lines_that_are_not_utf8_as_cp1252(tmp_path: Path) -> None:
    log = tmp_path / "odd.log.txt"
    log.write_bytes(
        b"10:00:00 <amy> #startmeeting odd\n"
        b"10:00:01 <amy> caf\xe9 \xff \x80 \x81\n"
        b"10:00:02 <amy> na\xc3\xafve stays UTF-8\n"
        b"10:00:03 <amy> #endmeeting\n"
    )
    assert main(["replay", str(log), *ARGS, "--out", str(tmp_path / "o")]) == 0
    (txt,) = (tmp_path / "o").rglob("*.log.txt")
    text = txt.read_text(encoding="utf-8")
    # cp1252: e9 is é, ff is ÿ, 80 is €; 81 is undefined there and becomes U+FFFD.
    assert "caf\u00e9 \u00ff \u20ac \ufffd" in text
    assert "na\u00efve stays UTF-8" in text

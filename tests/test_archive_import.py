"""`gavel import` on real trees of `.log.txt` files in both layouts, into real SQLite files:
the meetings and summary expected, idempotence, a kill -9 mid-way, and the same files as
`gavel replay`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.archivekit import (
    config,
    dump,
    eavesdrop_path,
    fedora_path,
    gavel,
    meeting_log,
    rows,
    write,
)

NOVA = datetime(2014, 3, 6, 14, 0, 5, tzinfo=UTC)
INFRA = datetime(2020, 1, 2, 16, 0, 0, tzinfo=UTC)
HEAT = datetime(2015, 7, 1, 9, 0, 0, tzinfo=UTC)
CUT = datetime(2016, 2, 3, 18, 30, 0, tzinfo=UTC)

SAID = [
    ("alice", "#topic Stable branch"),
    ("carol", "the gate is green again"),
    ("alice", "#action bob to backport the fix"),
    ("alice", "#agreed ship it on Thursday"),
]


def archive_tree(root: Path) -> dict[str, Path]:
    """good logs in both layouts (one with its minutes beside it), a duplicate, a chat log
    without a meeting, a log in Latin-1 and a truncated one, and a file nobody can read."""
    files = {
        "nova": write(
            eavesdrop_path(root / "eavesdrop", "nova", NOVA), meeting_log("nova", NOVA, SAID)
        ),
        "infra": write(
            fedora_path(root / "fedora", "fedora-meeting", "infra", INFRA),
            meeting_log("infra", INFRA, SAID, bot="zodbot"),
        ),
        "copy": write(root / "elsewhere" / "copy-of-nova.log.txt", meeting_log("nova", NOVA, SAID)),
        "chat": write(
            root / "eavesdrop" / "chat" / "2014" / "chat.2014-01-01-10.00.log.txt",
            "10:00:00 <bob> just chatting\n10:00:05 <amy> no meeting here\n",
        ),
        "latin1": write(
            eavesdrop_path(root / "eavesdrop", "heat", HEAT),
            meeting_log("heat", HEAT, [("bob", "caf\u00e9 for everyone")]).encode("cp1252"),
        ),
        "cut": write(
            eavesdrop_path(root / "eavesdrop", "swift", CUT),
            meeting_log("swift", CUT, SAID, end=False) + "18:31:0",
        ),
    }
    minutes = files["nova"].with_name(files["nova"].name.replace(".log.txt", ".html"))
    write(minutes, "<html><head><title>#openstack-meeting: nova</title></head></html>")
    copy_minutes = root / "elsewhere" / "copy-of-nova.html"
    write(copy_minutes, "<html><head><title>#openstack-meeting: nova</title></head></html>")
    return files


def test_a_mixed_tree_gives_exactly_the_expected_meetings_and_summary(tmp_path: Path) -> None:
    files = archive_tree(tmp_path / "archive")
    unreadable = write(tmp_path / "archive" / "locked.log.txt", "x")
    unreadable.chmod(0)
    cfg = config(tmp_path)
    ran = gavel("import", "--config", cfg, tmp_path / "archive", tmp_path / "missing")
    assert ran.code == 0, ran.err
    summary = ran.out.strip().splitlines()[-1]
    assert summary.startswith("imported 4 meetings (")
    assert "from 7 files" in summary
    assert "1 already imported; 1 unfinished (ended at their last line); " in summary
    # The chat log, the unreadable file (or, for root, a file without a meeting) and the
    # missing path.
    assert summary.endswith("; 3 bad files")
    errors = ran.err.strip().splitlines()
    assert f"gavel: {files['chat']}: not a meeting log (no #startmeeting)" in errors
    assert f"gavel: {tmp_path / 'missing'}: no such file or directory" in errors
    assert any(e.startswith(f"gavel: {unreadable}: ") for e in errors)
    db = tmp_path / "gavel.sqlite3"
    meetings = rows(
        db,
        "SELECT network, channel, name, started_at, ended_at IS NOT NULL FROM meetings "
        "ORDER BY started_at",
    )
    assert meetings == [
        ("oftc", "#openstack-meeting", "nova", "2014-03-06T14:00:05.000000+00:00", 1),
        ("oftc", "unknown", "heat", "2015-07-01T09:00:00.000000+00:00", 1),
        ("oftc", "unknown", "swift", "2016-02-03T18:30:00.000000+00:00", 1),
        ("oftc", "#fedora-meeting", "infra", "2020-01-02T16:00:00.000000+00:00", 1),
    ]
    # The Latin-1 line is text again, and the truncated meeting ends at its last line.
    assert rows(db, "SELECT text FROM lines WHERE text LIKE 'caf%'") == [
        ("caf\u00e9 for everyone",)
    ]
    swift_end = rows(db, "SELECT ended_at FROM meetings WHERE name = 'swift'")[0][0]
    assert swift_end == "2016-02-03T18:30:40.000000+00:00"
    items = rows(
        db,
        "SELECT kind, text FROM items JOIN meetings AS m ON m.id = meeting_id "
        "WHERE name = 'nova' ORDER BY items.id",
    )
    assert items == [
        ("topic", "Stable branch"),
        ("action", "bob to backport the fix"),
        ("agreed", "ship it on Thursday"),
    ]
    found = gavel("search", "--config", cfg, "café", "--json")
    assert [r["series"] for r in json.loads(found.out)["results"]] == ["heat"]


def test_importing_twice_changes_nothing(tmp_path: Path) -> None:
    archive_tree(tmp_path / "archive")
    cfg = config(tmp_path)
    assert gavel("import", "--config", cfg, tmp_path / "archive").code == 0
    before = dump(tmp_path / "gavel.sqlite3")
    again = gavel("import", "--config", cfg, tmp_path / "archive")
    assert again.code == 0
    assert again.out.strip().splitlines()[-1].startswith("imported 0 meetings (0 lines)")
    assert "5 already imported" in again.out
    assert dump(tmp_path / "gavel.sqlite3") == before
    replaced = gavel("import", "--config", cfg, "--replace", tmp_path / "archive" / "eavesdrop")
    assert replaced.out.startswith("imported 3 meetings")
    after = dump(tmp_path / "gavel.sqlite3")
    assert after["meetings"] == before["meetings"]
    assert after["lines"] == before["lines"]
    search = gavel("search", "--config", cfg, "backport", "--json")
    assert json.loads(search.out)["total"] == 3  # nova, infra, swift: each line once


def test_the_imported_meeting_regenerates_to_what_replay_writes(tmp_path: Path) -> None:
    log = write(
        eavesdrop_path(tmp_path / "archive", "nova", NOVA),
        meeting_log(
            "nova",
            NOVA,
            [
                *SAID,
                ("bob", "#startvote Release now? Yes, No"),
                ("bob", "#vote Yes"),
                ("bob", "#endvote"),
            ],
        ),
    )
    cfg = config(tmp_path)
    assert (
        gavel(
            "import", "--config", cfg, "--channel", "#openstack-meeting", tmp_path / "archive"
        ).code
        == 0
    )
    assert gavel("regenerate", "--config", cfg, "1").code == 0
    replay = gavel(
        "replay",
        log,
        "--channel",
        "#openstack-meeting",
        "--nick",
        "openstack",
        "--network",
        "oftc",
        "--out",
        tmp_path / "replayed",
        "--url-prefix",
        "https://eavesdrop.example.org/",
    )
    assert replay.code == 0, replay.err
    ours = sorted((tmp_path / "out").rglob("nova.*"))
    theirs = sorted((tmp_path / "replayed").rglob("nova.*"))
    assert [p.name for p in ours] == [p.name for p in theirs] and len(ours) == 5
    for mine, other in zip(ours, theirs, strict=True):
        if mine.suffix == ".json":
            a, b = json.loads(mine.read_text()), json.loads(other.read_text())
            a.pop("id"), b.pop("id")  # the database's id, and the replay's own
            assert a == b
        else:
            assert mine.read_bytes() == other.read_bytes(), mine.name


def _big_tree(root: Path, meetings: int, lines: int) -> None:
    said = [(f"nick{i % 7}", f"line {i} about widget{i % 13} and gadgets") for i in range(lines)]
    for m in range(meetings):
        start = datetime(2015, 1, 1 + m % 28, m % 24, 0, 0, tzinfo=UTC)
        name = f"team{m // 28}"
        write(eavesdrop_path(root, name, start), meeting_log(name, start, said))


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in status:
            found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """Those of `pids` still running after up to `seconds`."""
    deadline = time.monotonic() + seconds
    left = [p for p in pids if running(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [p for p in left if running(p)]
    return left


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_import_leaves_whole_meetings_and_a_rerun_completes_it(
    tmp_path: Path, signum: int
) -> None:
    _big_tree(tmp_path / "archive", meetings=60, lines=1500)
    cfg = config(tmp_path)
    db = tmp_path / "gavel.sqlite3"
    command = [
        sys.executable,
        "-m",
        "bot",
        "import",
        "--config",
        str(cfg),
        "--batch-lines",
        "3000",
        "--jobs",
        "1",
        str(tmp_path / "archive"),
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        committed = 0
        while time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
            try:
                committed = rows(db, "SELECT COUNT(*) FROM meetings")[0][0]  # type: ignore[assignment]
            except sqlite3.OperationalError:
                continue
            if committed >= 3:
                break
        assert child.poll() is None, "the import ended before it could be killed"
        workers = children_of(child.pid)
        assert workers, "the import's parsing workers were not found"
        os.kill(child.pid, signum)
    finally:
        status = child.wait(timeout=30)
    # The parsing workers go with the import, however it ends: none is left behind.
    try:
        assert wait_gone(workers, 10.0) == []
    finally:
        for pid in workers:  # only if the assertion failed: end what this test started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert status == (-signal.SIGKILL if signum == signal.SIGKILL else 1)
    assert 3 <= committed < 60
    # Whole meetings only: every meeting has all its lines, items and index rows.
    counts = rows(
        db,
        "SELECT m.id, COUNT(l.n) FROM meetings m JOIN lines l ON l.meeting_id = m.id GROUP BY m.id",
    )
    assert counts and all(n == 1500 + 4 for _, n in counts)
    assert rows(db, "SELECT COUNT(*) FROM archive")[0][0] == len(counts)
    indexed = gavel("search", "--config", cfg, "widget3", "--json")
    assert json.loads(indexed.out)["total"] == min(1000, len(counts) * (1500 // 13 + 1))
    rerun = gavel("import", "--config", cfg, tmp_path / "archive")
    assert rerun.code == 0
    assert f"{len(counts)} already imported" in rerun.out
    assert rows(db, "SELECT COUNT(*) FROM meetings")[0][0] == 60
    assert rows(db, "SELECT COUNT(*) FROM lines")[0][0] == 60 * 1504
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert rows(db, "INSERT INTO search (search) VALUES ('integrity-check')") == []


def test_import_and_redact_refuse_while_a_bot_holds_the_database(tmp_path: Path) -> None:
    """The bot numbers meetings in memory, so writers beside it must wait; readers need not."""
    write(eavesdrop_path(tmp_path / "logs", "nova", NOVA), meeting_log("nova", NOVA, SAID))
    cfg = config(tmp_path)
    db = tmp_path / "gavel.sqlite3"
    ran = gavel("import", "--config", cfg, "--channel", "#openstack-meeting", tmp_path / "logs")
    assert ran.code == 0, ran.err
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from bot.store.writerlock import acquire_writer_lock; "
            "held = acquire_writer_lock(Path(sys.argv[1])); print('held', flush=True); "
            "sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = dump(db)
        for args in (
            ("import", "--config", cfg, "--replace", "--channel", "#x", tmp_path / "logs"),
            ("redact", "--config", cfg, "meeting", "1", "--reason", "off the record"),
        ):
            ran = gavel(*args)
            assert ran.code == 2
            assert ran.err == (
                f"gavel: gavel {args[0]} cannot run while Gavel (pid {holder.pid}) records into "
                f"{db}; stop the bot first\n"
            )
        assert dump(db) == before
        found = gavel("search", "--config", cfg, "gate", "--json")  # a reader: no lock
        assert (found.code, json.loads(found.out)["total"]) == (0, 1)
    finally:
        holder.communicate(timeout=10)
    ran = gavel("redact", "--config", cfg, "line", "1", "5", "--reason", "the bot is stopped")
    assert ran.code == 0, ran.err

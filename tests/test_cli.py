"""The database-backed commands: `gavel meetings` and `gavel regenerate`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.core.effects import Effect, MeetingEnded
from bot.core.events import AccountChanged
from bot.store import Store
from tests.corekit import Room

ROOT = Path(__file__).parent.parent


def config(tmp_path: Path) -> Path:
    path = tmp_path / "gavel.toml"
    path.write_text(
        f"""
[[networks]]
name = "net"
host = "127.0.0.1"
channels = ["#chan"]
[output]
dir = "{tmp_path / "out"}"
url_prefix = "https://m.example.org/"
[storage]
path = "{tmp_path / "db.sqlite3"}"
""",
        encoding="utf-8",
    )
    return path


def record_meetings(tmp_path: Path) -> None:
    """Two meetings through the core into a real database: one ended, one running."""
    effects: list[Effect] = []
    ended = Room(channel="#chan")
    effects += ended.say("alice", "#startmeeting Release Planning")
    effects += ended.say("alice", "#action bob to tag the release")
    effects += ended.say("alice", "#endmeeting")
    running = Room(world=ended.world, channel="#other", now=ended.now)
    effects += running.say("carol", "#startmeeting still going")

    async def apply() -> None:
        async with await Store.open(tmp_path / "db.sqlite3") as store:
            await store.apply(effects)

    asyncio.run(apply())


def gavel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_meetings_lists_running_and_ended(tmp_path: Path) -> None:
    record_meetings(tmp_path)
    run = gavel("meetings", "--config", str(config(tmp_path)))
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()[1:]
    assert len(rows) == 2
    assert "running" in rows[0] and "#other" in rows[0] and "still_going" in rows[0]
    assert "ended" in rows[1] and "release_planning" in rows[1]


def test_regenerate_all_writes_every_meetings_files(tmp_path: Path) -> None:
    record_meetings(tmp_path)
    run = gavel("regenerate", "--config", str(config(tmp_path)), "--all")
    assert run.returncode == 0, run.stderr
    assert "regenerated 2 of 2 meetings" in run.stdout
    minutes = sorted(p.name for p in (tmp_path / "out").rglob("*.txt"))
    assert len(minutes) == 4  # .txt and .log.txt of each
    (release,) = [
        p for p in (tmp_path / "out").rglob("release_planning.*.txt") if ".log." not in p.name
    ]
    assert "ACTION: bob to tag the release" in release.read_text(encoding="utf-8")
    listed = gavel("meetings", "--config", str(config(tmp_path))).stdout
    assert "release_planning/" in listed  # the files' path is now known
    # The static indexes, written once at the end: every series, and each series' meetings.
    top = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'href="release_planning/index.html"' in top and 'href="still_going/index.html"' in top
    series = (tmp_path / "out" / "release_planning" / "index.html").read_text(encoding="utf-8")
    assert release.name.removesuffix(".txt") + ".html" in series


def test_regenerate_one_prints_its_paths_and_unknown_id_fails(tmp_path: Path) -> None:
    record_meetings(tmp_path)
    cfg = str(config(tmp_path))
    ids = [line.split()[0] for line in gavel("meetings", "--config", cfg).stdout.splitlines()[1:]]
    run = gavel("regenerate", "--config", cfg, ids[-1])
    assert run.returncode == 0, run.stderr
    paths = run.stdout.split()
    assert len(paths) == 5 and all(Path(p).exists() for p in paths)
    # Its series' static index and the top one are written before the command ends.
    (minutes,) = [Path(p) for p in paths if p.endswith(".html") and not p.endswith(".log.html")]
    series = minutes.parent.parent / "index.html"
    assert minutes.name in series.read_text(encoding="utf-8")
    assert (tmp_path / "out" / "index.html").is_file()
    missing = gavel("regenerate", "--config", cfg, "999999")
    assert missing.returncode == 2 and "no meeting with id 999999" in missing.stderr


def test_regenerate_shows_an_owner_identified_after_the_start(tmp_path: Path) -> None:
    room = Room(channel="#chan")
    room.members("alice", "meetbot")  # NAMES tells no accounts: the owner is bound later
    effects = room.say("alice", "#startmeeting heat")
    effects += room.feed(AccountChanged(room.network, room.tick(), 900, "alice", "alice_acct"))
    effects += room.say("alice", "#endmeeting")

    async def apply() -> None:
        async with await Store.open(tmp_path / "db.sqlite3") as store:
            await store.apply(effects)

    asyncio.run(apply())
    (mid,) = {e.meeting_id for e in effects if isinstance(e, MeetingEnded)}
    run = gavel("regenerate", "--config", str(config(tmp_path)), str(mid))
    assert run.returncode == 0, run.stderr
    (path,) = [p for p in run.stdout.split() if p.endswith(".json")]
    written = json.loads(Path(path).read_text(encoding="utf-8"))
    assert (written["owner"], written["owner_account"]) == ("alice", "alice_acct")


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    run = gavel("check-config", "--config", str(config(tmp_path)))
    assert run.returncode == 0
    assert "ok (1 networks, 1 channels)" in run.stdout


def test_web_refuses_a_missing_database_and_a_bad_listen(tmp_path: Path) -> None:
    run = gavel("web", "--config", str(config(tmp_path)))
    assert run.returncode == 2
    assert run.stderr.strip() == f"gavel: no database at {tmp_path / 'db.sqlite3'}"
    run = gavel("web", "--config", str(config(tmp_path)), "--listen", "nowhere")
    assert run.returncode == 2
    assert run.stderr.strip() == "gavel: --listen: expected HOST:PORT, got 'nowhere'"


def test_check_config_refuses_a_network_without_channels(tmp_path: Path) -> None:
    path = config(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8").replace('channels = ["#chan"]', "channels = []"),
        encoding="utf-8",
    )
    run = gavel("check-config", "--config", str(path))
    assert run.returncode != 0
    assert "networks[0].channels: at least one channel is required" in run.stderr
    assert "ok (" not in run.stdout


def test_regenerate_all_goes_on_past_a_meeting_it_cannot_read(tmp_path: Path) -> None:
    """One damaged row (here a start time that is not a time) is named and counted; the
    other meetings' files are still written."""
    record_meetings(tmp_path)
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        damaged = conn.execute("SELECT MIN(id) FROM meetings").fetchone()[0]
        conn.execute("UPDATE meetings SET started_at = 'not a time' WHERE id = ?", (damaged,))
    run = gavel("regenerate", "--config", str(config(tmp_path)), "--all")
    assert run.returncode == 1
    assert "regenerated 1 of 2 meetings" in run.stdout
    assert f"gavel: meeting {damaged}: " in run.stderr
    assert len(sorted((tmp_path / "out").rglob("*.txt"))) == 2  # the other one's .txt, .log.txt

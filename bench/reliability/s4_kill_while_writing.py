"""Scenario 4 — the bot is killed (SIGKILL) at random moments while it writes files.

A meeting of a few thousand long lines is recorded, so each `#save` writes five files of
a few hundred kilobytes to a megabyte. The time a `#save` takes (command to the `published`
log record) is measured first; then, round after round, the chair says `#save round N` and
the bot is killed at a random moment within that time (a little beyond, too). After each
kill, every file in the output directory is checked as a reader would see it:

- no partial or invalid file under a final name: `.html` pages end with `</html>` and parse
  with html5lib without an error, `.json` parses, `.txt` files end with a newline;
- hidden temporary files (`.gavel-*.tmp`) are counted: a kill can leave one, never under a
  final name; the next write into that directory deletes it.

Then the bot starts again, and when the `#save` had been recorded before the kill, its
files must be written by the next start (the save was interrupted, or had finished): the
`.log.txt` then ends with the `#save round N` line, and the five files agree. The last
round kills the bot during `#endmeeting`'s files instead, which the next start must finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import random
import re
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import html5lib

from bench.reliability import Profile, Result
from bench.reliability._meeting import CHANNEL, Stage, log_events, log_size, stage, workspace
from tests.talkers import meeting_ids

TITLE = "kill -9 of the bot while it writes the meeting's files, then restart"

NAME = "s4_kill_while_writing"
TEMP_PREFIX, TEMP_SUFFIX = ".gavel-", ".tmp"


@dataclass
class Scan:
    """What a reader finds in the output directory."""

    finals: int = 0
    invalid: list[str] = field(default_factory=list)
    temporaries: int = 0
    saves: dict[str, str | None] = field(default_factory=dict)  # file -> last `#save` marker


MARKER = re.compile(r"#save round \d+|#endmeeting")
TAG = re.compile(r"<[^>]*>")


def _last_save(text: str) -> str | None:
    """The last `#save round N` (or `#endmeeting`) a file shows."""
    found = MARKER.findall(text)
    return found[-1] if found else None


def _check(path: Path, scan: Scan) -> None:
    name = path.name
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        scan.invalid.append(f"{name}: {exc}")
        return
    if not text.endswith("\n"):
        scan.invalid.append(f"{name}: no final newline")
        return
    if name.endswith(".html"):
        parser = html5lib.HTMLParser()
        parser.parse(text)
        if parser.errors or not text.rstrip().endswith("</html>"):
            scan.invalid.append(f"{name}: {len(parser.errors)} HTML parse errors")
            return
    elif name.endswith(".json"):
        try:
            json.loads(text)
        except ValueError as exc:
            scan.invalid.append(f"{name}: {exc}")
            return
    if name.endswith(".log.html"):
        scan.saves[name] = _last_save(html.unescape(TAG.sub("", text)))
    elif name.endswith((".log.txt", ".json")):
        scan.saves[name] = _last_save(text)


def scan_output(root: Path) -> Scan:
    scan = Scan()
    for path in sorted(root.rglob("*")) if root.exists() else []:
        if not path.is_file():
            continue
        if path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX):
            # A live writer's temporary is a write in progress (the static indexes follow
            # the meeting's files), not one a kill left behind.
            scan.temporaries += not _writer_alive(path.name)
            continue
        scan.finals += 1
        _check(path, scan)
    return scan


def _writer_alive(name: str) -> bool:
    """Whether the process named in a temporary's name (`.gavel-PID-…`) still runs."""
    pid = name[len(TEMP_PREFIX) :].split("-", 1)[0]
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


def _mixed(scan: Scan) -> bool:
    """Files from two different saves (each file whole, the set not of one moment)."""
    return len(set(scan.saves.values())) > 1


def _pending(database: Path) -> tuple[bool, int]:
    """(a publish is pending, meeting id) for the only meeting."""
    ids = meeting_ids(database)
    if not ids:
        return False, 0
    with contextlib.closing(sqlite3.connect(database)) as db:
        row = db.execute("SELECT publish_pending FROM meetings WHERE id = ?", (ids[0],)).fetchone()
    return bool(row and row[0]), ids[0]


async def _calibrate(st: Stage, samples: int = 5) -> float:
    """Seconds from `#save` to the bot's `published` record (the median of a few)."""
    took: list[float] = []
    for n in range(samples):
        offset = log_size(st.bot)
        sent = time.monotonic()
        await st.chair.say(CHANNEL, f"#save calibration {n}")
        limit = sent + 20.0
        while time.monotonic() < limit:
            if log_events(st.bot, "published", offset=offset):
                took.append(time.monotonic() - sent)
                break
            await asyncio.sleep(0.005)
    return statistics.median(took) if took else 0.05


async def _settled(st: Stage, marker: str, timeout: float) -> tuple[bool, Scan]:
    """Wait until no publish is pending and every file shows `marker` as the last save."""
    deadline = time.monotonic() + timeout
    scan = scan_output(st.bot.meetings)
    while time.monotonic() < deadline:
        pending, _ = _pending(st.bot.database)
        scan = scan_output(st.bot.meetings)
        if not pending and set(scan.saves.values()) == {marker} and len(scan.saves) == 3:
            return True, await _after_the_indexes(st, scan)
        await asyncio.sleep(0.05)
    return False, scan


async def _after_the_indexes(st: Stage, scan: Scan, timeout: float = 3.0) -> Scan:
    """The scan once the start's write has gone on to the static indexes beside the
    meeting's files (they are written after them, and clear what a kill left next to
    them): a temporary still there after `timeout` is one left for good."""
    deadline = time.monotonic() + timeout
    while scan.temporaries and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        scan = scan_output(st.bot.meetings)
    return scan


async def run(profile: Profile) -> Result:
    kills = profile.pick(5, 100)
    lines = profile.pick(1500, 4000)
    budget = profile.pick(90.0, 720.0)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    result = Result(
        NAME,
        must_be_zero=(
            "partial or invalid files visible after a kill",
            "interrupted publishes not completed by the next start",
            "temporary files left after the next start's write",
            "file sets still mixed after the next start",
        ),
        must_be_true=("meeting files final after #endmeeting and a kill",),
    )
    deadline = time.monotonic() + budget
    with workspace(NAME) as tmp:
        async with stage(tmp, padding=200) as st:
            st.bot.start()
            started = await st.start_meeting()
            await st.talkers.talk(lines, 400.0, budget / 3)
            await st.answering(60.0)  # everything said so far is recorded
            window = await _calibrate(st)
            result.notes.append(
                f"seed {seed}; {lines} lines of ~215 characters; a #save took {window:.3f} s; "
                f"kills uniform in [0, {1.2 * window:.3f}] s after it"
            )
            invalid: list[str] = []
            done = pending_seen = completed = recorded = 0
            left_temps = temps_after = mixed_seen = mixed_after = 0
            final_ok = False
            for n in range(kills if started else 0):
                if time.monotonic() > deadline:
                    result.notes.append(f"time budget reached after {done} kills")
                    break
                last = n == kills - 1
                command = "#endmeeting" if last else f"#save round {n}"
                await st.chair.say(CHANNEL, command)
                await asyncio.sleep(rng.uniform(0.0, 1.2 * window))
                st.bot.kill()
                done += 1
                scan = scan_output(st.bot.meetings)
                invalid += scan.invalid
                left_temps += scan.temporaries
                mixed_seen += _mixed(scan)
                pending, _ = _pending(st.bot.database)
                pending_seen += pending
                was_recorded = st.recorded_count(command) > 0
                mark = len(st.observer.seen)
                st.bot.start()
                await st.joined(20.0, since=mark)

                if was_recorded:
                    recorded += 1
                    ok, after = await _settled(st, command, 20.0)
                    completed += ok
                    temps_after += after.temporaries
                    mixed_after += _mixed(after)
                    if last:
                        final_ok = ok and _ended(st)
                elif last:
                    final_ok = await st.end_meeting() and _ended(st)
            st.bot.stop()
            result.figures.update(
                {
                    "kills while writing": done,
                    "partial or invalid files visible after a kill": len(invalid),
                    "publishes pending at the kill": pending_seen,
                    "saves recorded before the kill": recorded,
                    "completed by the next start": f"{completed}/{recorded}",
                    "interrupted publishes not completed by the next start": recorded - completed,
                    "hidden temporary files seen after kills": left_temps,
                    "temporary files left after the next start's write": temps_after,
                    "kills leaving files of two saves (each file whole)": mixed_seen,
                    "file sets still mixed after the next start": mixed_after,
                    "meeting files final after #endmeeting and a kill": final_ok,
                }
            )
            if invalid:
                result.notes.append("invalid: " + "; ".join(invalid[:5]))
    return result


def _ended(st: Stage) -> bool:
    ids = meeting_ids(st.bot.database)
    json_files = list(st.bot.meetings.rglob("*.json"))
    if len(ids) != 1 or len(json_files) != 1:
        return False
    return json.loads(json_files[0].read_text(encoding="utf-8")).get("end") is not None

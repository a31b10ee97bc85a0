"""Scenario 5 — the disk holding the database and the output directory fills up.

The bot's `data/` and `meetings/` live on a small tmpfs (mounted for the run; root or
password-less sudo needed, else the scenario is skipped with a note), its log elsewhere,
as under systemd. During a meeting, with talkers saying numbered lines, a balloon file
fills the disk to the last byte. SQLite in WAL mode can go on for a while in WAL space it
already holds; the scenario talks until the bot logs `journal_failed`, then goes on:

- the chair's `#chair` must still be answered, and the bot must stay connected (no QUIT,
  no `irc.disconnected`);
- the chair's `#save` cannot write its files (the bot logs `publish_failed`);
- the full period lasts longer than the engine's retry interval, so retries fail too.

Then the balloon goes. Measured: the time until the bot logs `backlog_written`, the
backlog's peak (against its documented bound, `engine.MAX_BACKLOG` effects), whether the
files of the refused `#save` appear by themselves once space is back, and at `#endmeeting`
every line the observer saw, the full period included, must be in the minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bench.reliability import Profile, Result
from bench.reliability._meeting import (
    CHANNEL,
    Stage,
    is_bot,
    line_figures,
    log_events,
    log_size,
    stage,
    workspace,
)
from bot.engine import MAX_BACKLOG

TITLE = "the disk of the database and the files fills up, then space returns"

NAME = "s5_disk_full"
DISK_SIZE = "16m"
SAVE_MARK = "#save while the disk is full"


def _sudo(command: list[str]) -> list[str]:
    return command if os.geteuid() == 0 else ["sudo", "-n", *command]


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[str | None]:
    """A tmpfs of `size` at `path` for the block; yields None, or why it is not possible."""
    path.mkdir(parents=True, exist_ok=True)
    mount = _sudo(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)])
    try:
        done = subprocess.run(mount, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        yield f"cannot mount a tmpfs: {exc}"
        return
    if done.returncode != 0:
        yield f"cannot mount a tmpfs ({done.stderr.strip() or done.returncode})"
        return
    try:
        yield None
    finally:
        for command in (["umount", str(path)], ["umount", "-l", str(path)]):
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                if subprocess.run(_sudo(command), timeout=20, check=False).returncode == 0:
                    break


def fill(directory: Path, most: int = 1 << 30) -> int:
    """Write a balloon file until the filesystem refuses the smallest block (bounded)."""
    fd = os.open(directory / "balloon", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written = 0
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            block = b"\0" * size
            for _ in range(most // size + 1):
                try:
                    n = os.write(fd, block)
                except OSError as exc:
                    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                        break
                    raise
                written += n
                if n < size:
                    break
    finally:
        os.close(fd)
    return written


async def _first(st: Stage, event: str, offset: int, timeout: float) -> float | None:
    """Seconds until the bot logs `event` after byte `offset` of its log, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if log_events(st.bot, event, offset=offset):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


def _saved_files(st: Stage) -> bool:
    logs = list(st.bot.meetings.rglob("*.log.txt"))
    return any(SAVE_MARK in p.read_text(encoding="utf-8", errors="replace") for p in logs)


async def run(profile: Profile) -> Result:
    rate = 50.0
    wait_failure = profile.pick(30.0, 60.0)
    full_for = profile.pick(6.0, 60.0)  # after the journal failed; > the 5 s retry interval
    result = Result(
        NAME,
        must_be_zero=(
            "lines missing from the minutes",
            "duplicate lines",
            "lines out of order",
            "bot QUITs or disconnects",
            "effects dropped from the backlog",
        ),
        must_be_true=(
            "journal refused writes while full",
            "replied while full",
            "backlog written when space returned",
            "refused #save written when space returned",
            "meeting started and ended",
            "integrity_check ok",
        ),
    )
    with workspace(NAME) as tmp:
        disk = tmp / "disk"
        with small_disk(disk, DISK_SIZE) as refused:
            if refused is not None:
                result.notes.append(f"skipped: {refused}")
                return result
            await _scenario(tmp, disk, rate, wait_failure, full_for, result)
    return result


async def _scenario(
    tmp: Path, disk: Path, rate: float, wait_failure: float, full_for: float, result: Result
) -> None:
    (disk / "data").mkdir()
    (disk / "meetings").mkdir()
    (tmp / "bot").mkdir()
    (tmp / "bot" / "data").symlink_to(disk / "data")
    (tmp / "bot" / "meetings").symlink_to(disk / "meetings")
    async with stage(tmp, padding=100) as st:
        st.bot.start()
        started = await st.start_meeting()
        await st.talkers.talk(40, rate, 10.0)
        await st.answering(10.0)
        offset = log_size(st.bot)
        first_seen = len(st.observer.seen)
        balloon = fill(disk)
        full_at = time.monotonic()
        stop = asyncio.Event()
        talking = asyncio.create_task(st.talkers.talk(1_000_000, rate, 600.0, stop=stop))
        failed_after = await _first(st, "journal_failed", offset, wait_failure)
        replied = await st.answering(10.0)
        await st.chair.say(CHANNEL, SAVE_MARK)
        save_refused = await _first(st, "publish_failed", offset, 10.0) is not None
        await asyncio.sleep(full_for)
        lines_while_full = sum(1 for s in st.talkers.said if s.at >= full_at)
        os.unlink(disk / "balloon")
        freed = log_size(st.bot)
        written_after = await _first(st, "backlog_written", freed, 30.0)
        saved = False
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and not (saved := _saved_files(st)):
            await asyncio.sleep(0.1)
        await st.talkers.talk(20, rate, 5.0)  # and the meeting goes on
        stop.set()
        await asyncio.wait_for(talking, 15.0)
        await asyncio.sleep(0.5)
        ended = started and await st.end_meeting()
        seen = st.observer.seen[first_seen:]
        disconnects = log_events(st.bot, "irc.disconnected", offset=offset)
        st.bot.stop()
        failures = log_events(st.bot, "journal_failed", offset=offset)
        peak = max((int(r.get("backlog", 0)) for r in failures), default=0)
        quits = [s for s in seen if s.kind in ("quit", "part") and is_bot(s.nick)]
        acc, _ = st.accounting()
        result.figures.update(
            {
                "disk": f"tmpfs {DISK_SIZE}, balloon {balloon / 2**20:.1f} MiB",
                "lines said while the disk was full": lines_while_full,
                "full to the journal's first failure, s": _seconds(failed_after),
                "journal refused writes while full": failed_after is not None,
                "journal failures logged": len(failures),
                "replied while full": replied,
                "#save refused while full (publish_failed)": save_refused,
                "space back to backlog written, s": _seconds(written_after),
                "backlog written when space returned": written_after is not None,
                "backlog peak (effects) / bound": f"{peak} / {MAX_BACKLOG}",
                "effects dropped from the backlog": max(
                    (int(r.get("dropped", 0)) for r in failures), default=0
                ),
                "refused #save written when space returned": saved,
                **line_figures(acc),
                "lines missing from the minutes": len(acc.missing),
                "bot QUITs or disconnects": len(quits) + len(disconnects),
                "gaps recorded": st.gaps(),
                "integrity_check ok": st.integrity() == "ok",
                "meeting started and ended": bool(started and ended),
            }
        )
        if acc.missing:
            result.notes.append(f"missing: {acc.numbers(acc.missing)[:20]}")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"

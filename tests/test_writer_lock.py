"""One recording bot per database: a second one refuses at once, naming the first; a bot
killed with kill -9 leaves no stale lock; readers are never refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.store.writerlock import DatabaseInUse, acquire_writer_lock, lock_path
from tests.botproc import ROOT, BotProcess
from tests.ircserver import Ngircd, RawClient

CHANNEL = "#openstack-meeting"
JOINS = re.compile(rf"^:meetbot!\S+ JOIN :?{CHANNEL}")


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    database = tmp_path / "data" / "gavel.sqlite3"
    held = acquire_writer_lock(database)
    assert lock_path(database).read_text().strip() == str(os.getpid())
    with pytest.raises(DatabaseInUse, match=rf"\(pid {os.getpid()}\)"):
        acquire_writer_lock(database)
    held.release()
    acquire_writer_lock(database).release()  # free again once released


def gavel(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    return done, time.monotonic() - began


async def test_a_second_bot_on_the_same_database_refuses_and_kill_9_leaves_no_lock(
    ircd: Ngircd, tmp_path: Path
) -> None:
    watcher = await RawClient.connect(ircd.host, ircd.port, "watcher")
    await watcher.join(CHANNEL)
    bot = BotProcess(tmp_path / "bot", ircd.port)
    bot.start()
    try:
        await watcher.expect(JOINS, 20)
        assert bot.process is not None
        first = bot.process.pid

        second, seconds = gavel("run", "--config", str(bot.config))
        assert second.returncode == 2
        assert second.stderr.strip() == (
            f"gavel: another Gavel (pid {first}) is already recording into {bot.database}; "
            "stop it or give this one its own storage.path"
        )
        assert seconds < 10  # at once: it never connected (a Python start-up, under load)

        listing, _ = gavel("meetings", "--config", str(bot.config))
        assert listing.returncode == 0, listing.stderr  # a reader is not refused

        bot.kill()
        bot.start()  # the kernel dropped the killed bot's lock: no stale lock to clear
        await watcher.expect(JOINS, 20)
        assert bot.process is not None
        assert bot.process.poll() is None
        assert "already recording" not in bot.log_text()
        third, _ = gavel("run", "--config", str(bot.config))
        assert f"(pid {bot.process.pid})" in third.stderr
    finally:
        bot.stop()
        await watcher.close()

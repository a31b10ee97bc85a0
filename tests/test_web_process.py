"""`gavel web` as the process an operator runs: it lowers its own CPU priority below the
bot's (`[web] nice`, and Linux's SCHED_IDLE policy unless `[web] idle = false`), so that on a
machine short of CPU the bot goes first."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from tests.browser import config_file, web_server
from tests.webkit import build_archive


def idle_threads(pid: int) -> list[bool]:
    """Whether each of the process's threads runs under SCHED_IDLE (the policy is per thread)."""
    tasks = sorted(Path(f"/proc/{pid}/task").iterdir())
    return [os.sched_getscheduler(int(task.name)) == os.SCHED_IDLE for task in tasks]


def niceness(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[16])


async def status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status


def test_the_web_runs_at_its_niceness_and_never_raises_it(tmp_path: Path) -> None:
    archive = asyncio.run(build_archive(tmp_path / "archive", heat_count=1))
    config = config_file(archive.settings, tmp_path)
    ours = os.nice(0)
    with web_server(config, tmp_path / "web.log") as (base, process):
        assert niceness(process.pid) == max(10, ours)  # the default, below the bot's
        assert asyncio.run(status(base + "/")) == 200
        threads = idle_threads(process.pid)
        assert len(threads) > 1 and all(threads)  # the readers' threads too
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[web]\n", "[web]\nnice = 15\n"), encoding="utf-8")
    with web_server(config, tmp_path / "web2.log") as (base, process):
        assert niceness(process.pid) == max(15, ours)
        assert asyncio.run(status(base + "/")) == 200
    config.write_text(text.replace("[web]\n", "[web]\nnice = 0\nidle = false\n"), encoding="utf-8")
    with web_server(config, tmp_path / "web3.log") as (base, process):
        assert niceness(process.pid) == ours  # as started: a process cannot go above that
        assert not any(idle_threads(process.pid))

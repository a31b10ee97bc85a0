"""Helpers for the archive tests: MeetBot `.log.txt` files in both layouts, a configuration,
and the `gavel` command run in-process with its output captured."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.cli import main


def asctime(moment: datetime) -> str:
    return moment.strftime("%a %b ") + f"{moment.day:2d}" + moment.strftime(" %H:%M:%S %Y")


def meeting_log(
    name: str,
    start: datetime,
    said: Sequence[tuple[str, str]],
    *,
    chair: str = "alice",
    bot: str = "openstack",
    end: bool = True,
) -> str:
    """A MeetBot log: #startmeeting, the bot's greeting, `said` ten seconds apart, and
    #endmeeting with the bot's closing lines (unless `end` is False)."""
    clock = start
    out = [f"{clock:%H:%M:%S} <{chair}> #startmeeting {name}"]
    out.append(
        f"{clock:%H:%M:%S} <{bot}> Meeting started {asctime(clock)} UTC and is due to finish "
        f"in 60 minutes.  The chair is {chair}. Information about MeetBot at "
        "http://wiki.debian.org/MeetBot."
    )
    out.append(f"{clock:%H:%M:%S} <{bot}> The meeting name has been set to '{name}'")
    for nick, text in said:
        clock += timedelta(seconds=10)
        out.append(f"{clock:%H:%M:%S} <{nick}> {text}")
    if end:
        clock += timedelta(seconds=10)
        out.append(f"{clock:%H:%M:%S} <{chair}> #endmeeting")
        out.append(f"{clock:%H:%M:%S} <{bot}> Meeting ended {asctime(clock)} UTC.")
    return "\n".join(out) + "\n"


def eavesdrop_path(root: Path, name: str, start: datetime) -> Path:
    return root / name / f"{start:%Y}" / f"{name}.{start:%Y-%m-%d-%H.%M}.log.txt"


def fedora_path(root: Path, channel: str, name: str, start: datetime) -> Path:
    return root / channel / f"{start:%Y-%m-%d}" / f"{name}.{start:%Y-%m-%d-%H.%M}.log.txt"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def config(tmp: Path, *, extra: str = "", private: str | None = None) -> Path:
    """A configuration with network `oftc` and its channels (one `private = true` if asked)."""
    channels = ""
    if private != "#openstack-meeting":
        channels += '[[networks.channels]]\nname = "#openstack-meeting"\n'
    if private:
        channels += f'[[networks.channels]]\nname = "{private}"\nprivate = true\n'
    text = (
        '[bot]\nnick = "gavel"\n'
        '[[networks]]\nname = "oftc"\nhost = "127.0.0.1"\n'
        f"{channels}"
        f'[storage]\npath = "{tmp / "gavel.sqlite3"}"\n'
        f'[output]\ndir = "{tmp / "out"}"\nurl_prefix = "https://eavesdrop.example.org/"\n'
        f'private_dir = "{tmp / "private"}"\n'
        f"{extra}"
    )
    path = tmp / "gavel.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def gavel(*args: str | Path) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Ran(code, out.getvalue(), err.getvalue())


def rows(db: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every archive table, to compare a database before and after."""
    tables = ("meetings", "chairs", "lines", "items", "votes", "named", "presence", "gaps")
    found = {t: rows(db, f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}
    found["archive"] = rows(db, "SELECT * FROM archive ORDER BY key")
    found["search_kinds"] = rows(db, "SELECT * FROM search_kinds ORDER BY id")
    return found

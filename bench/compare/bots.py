"""The two bots under test, each started as a separate process and watched from outside.

- `Gavel`: `python -m bot run` from the project's own virtual environment, with a
  generated TOML file; `rate = 0` (unthrottled) or Gavel's default bucket (burst 4,
  then 1 line/s).
- `Peer`: hcoop-meetbot, the HcoopMeetbot plugin on Limnoria, from the benchmark's own
  virtual environment (`bench/.venv`), with a generated Limnoria registry file that
  loads the plugin with its defaults (only `logDir` is set, to the run's directory);
  `supybot.protocols.irc.throttleTime` at 0 (unthrottled) or left at Limnoria's default.

What the driver measures of a process comes from `/proc`: CPU seconds (user + system,
all threads), resident memory now and its peak (`VmHWM`). Files are looked for where
each bot writes them. Only the process started here is stopped, by its pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
from abc import ABC, abstractmethod
from pathlib import Path

from tests.botproc import config_text
from tests.ircserver import stop_process

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH_VENV = ROOT / "bench" / ".venv"
# Gavel runs from the benchmark's environment, where `make bench` installs it with its
# runtime dependencies only (as a deployment would), from the working tree.
GAVEL_PYTHON = BENCH_VENV / "bin" / "python"
URL_PREFIX = "http://meetings.bench.invalid/"
_TICKS = os.sysconf("SC_CLK_TCK")


class Bot(ABC):
    """One bot under test: its configuration, its process, and how to read its results."""

    label: str  # as the report names it
    nick: str
    # Replies: the first line of each, and how many lines #startmeeting produces.
    start_marker = "Meeting started"
    chair_marker = "Current chairs"
    end_marker = "Meeting ended"
    start_lines: int
    end_lines = 4
    suffixes: tuple[str, ...]  # the files one meeting produces

    def __init__(self, workdir: Path, port: int, channels: list[str], *, default_flood: bool):
        self.workdir = workdir
        self.port = port
        self.channels = channels
        self.default_flood = default_flood
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "bot.log"
        self.meetings = workdir / "meetings"
        workdir.mkdir(parents=True, exist_ok=True)
        self.meetings.mkdir(exist_ok=True)

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def write_config(self) -> None: ...

    @abstractmethod
    def files_written(self, name: str, channel: str) -> float | None:
        """When (wall clock) the last file of the meeting `name` held in `channel` appeared:
        the newest status-change time among them, or None while one is still missing."""

    def durable_lines(self, name: str) -> int | None:
        """People's lines of the meeting `name` committed to disk (None: not persisted)."""
        return None

    def start(self) -> None:
        self.write_config()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment(),
            )

    def environment(self) -> dict[str, str]:
        # Both bots run as installed ones do: with their modules' bytecode cached. Compiling
        # at every start would also leave the compiler's garbage in the measured memory.
        dropped = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["TZ"] = "UTC"
        return env

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it lingers; only our own process, by pid."""
        process, self.process = self.process, None
        stop_process(process, timeout)

    # -- measured from /proc --------------------------------------------------------

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime

    def _status_kb(self, key: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def rss_mb(self) -> float:
        return self._status_kb("VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return self._status_kb("VmHWM") / 1024


class Gavel(Bot):
    nick = "gavel"
    start_lines = 3
    suffixes = (".log.txt", ".log.html", ".txt", ".html", ".json")

    def __init__(self, workdir: Path, port: int, channels: list[str], *, default_flood: bool):
        super().__init__(workdir, port, channels, default_flood=default_flood)
        self.label = "Gavel" + (" (default bucket)" if default_flood else "")
        self.config = workdir / "gavel.toml"
        self.database = workdir / "data" / "gavel.sqlite3"
        self._db: sqlite3.Connection | None = None
        self._profiler: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [str(GAVEL_PYTHON), "-m", "bot", "run", "--config", str(self.config)]

    def start(self) -> None:
        super().start()
        # BENCH_PROFILE=DIR: sample the bot with py-spy (from bench/.venv) for the whole
        # scenario, collapsed stacks of every thread into DIR (a profiling aid, not a figure).
        into = os.environ.get("BENCH_PROFILE")
        if into:
            out = Path(into) / f"{self.workdir.parent.name}-{self.pid}.txt"
            out.parent.mkdir(parents=True, exist_ok=True)
            self._profiler = subprocess.Popen(
                [
                    str(BENCH_VENV / "bin" / "py-spy"),
                    "record",
                    "--pid",
                    str(self.pid),
                    "--rate",
                    "500",
                    "--threads",
                    "--idle",
                    "--format",
                    "raw",
                    "-o",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "PYTHONPATH": str(ROOT)}  # the working tree

    def write_config(self) -> None:
        text = config_text(
            nick=self.nick,
            network="bench",
            port=self.port,
            channels=self.channels,
            meetings=self.meetings,
            database=self.database,
            url_prefix=URL_PREFIX,
            rate=None if self.default_flood else 0,
        )
        self.config.write_text(text, encoding="utf-8")

    def files_written(self, name: str, channel: str) -> float | None:
        return _written(_files_under(self.meetings / name, name + "."), self.suffixes)

    def durable_lines(self, name: str) -> int | None:
        """Read as another process would: what is committed is there (-1: no such meeting)."""
        if self._db is None:
            if not self.database.exists():
                return -1
            self._db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        row = self._db.execute(
            "SELECT (SELECT MAX(id) FROM meetings WHERE name = ?), "
            "(SELECT COUNT(*) FROM lines WHERE nick != ? AND meeting_id = "
            "(SELECT MAX(id) FROM meetings WHERE name = ?))",
            (name, self.nick, name),
        ).fetchone()
        return -1 if row[0] is None else int(row[1])

    def stop(self, timeout: float = 10.0) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        profiler, self._profiler = self._profiler, None
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes what it sampled
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(30)
        super().stop(timeout)


class Peer(Bot):
    nick = "peerbot"
    start_lines = 5
    suffixes = (".log.json", ".log.html", ".html")

    def __init__(self, workdir: Path, port: int, channels: list[str], *, default_flood: bool):
        super().__init__(workdir, port, channels, default_flood=default_flood)
        self.label = "hcoop-meetbot " + ("(default throttle)" if default_flood else "(throttle 0)")
        self.config = workdir / "peer.conf"

    def command(self) -> list[str]:
        python = BENCH_VENV / "bin" / "python"
        supybot = BENCH_VENV / "bin" / "supybot"
        return [str(python), str(supybot), "--allow-root", str(self.config)]

    def write_config(self) -> None:
        conf = self.workdir / "conf"
        conf.mkdir(exist_ok=True)
        # The plugin's own file: only where to write, everything else its defaults.
        (conf / "HcoopMeetbot.conf").write_text(
            f"[HcoopMeetbot]\nlogDir = {self.meetings}\n", encoding="utf-8"
        )
        throttle = "" if self.default_flood else "supybot.protocols.irc.throttleTime: 0.0\n"
        directories = "\n".join(
            f"supybot.directories.{key}: {self.workdir / value}"
            for key, value in (
                ("conf", "conf"),
                ("data", "data"),
                ("data.tmp", "data/tmp"),
                ("data.web", "data/web"),
                ("backup", "backup"),
                ("log", "logs"),
            )
        )
        self.config.write_text(
            f"""supybot.nick: {self.nick}
supybot.ident: {self.nick}
supybot.user: {self.nick}
supybot.networks: bench
supybot.networks.bench.servers: 127.0.0.1:{self.port}
supybot.networks.bench.ssl: False
supybot.networks.bench.channels: {" ".join(self.channels)}
{directories}
supybot.plugins: HcoopMeetbot
supybot.plugins.HcoopMeetbot: True
{throttle}""",
            encoding="utf-8",
        )

    def files_written(self, name: str, channel: str) -> float | None:
        return _written(_files_under(self.meetings, channel.lstrip("#") + "."), self.suffixes)


class Reference(Bot):
    """The reference bot of `bench/compare/reference.py`: the floor (an fsync before each
    reply to `#startmeeting` and `#chair`) or the ceiling (no fsync at all)."""

    nick = "refbot"
    start_lines = 1
    end_lines = 1
    suffixes = (".log.txt",)

    def __init__(self, workdir: Path, port: int, channels: list[str], *, fsync: bool):
        super().__init__(workdir, port, channels, default_flood=False)
        self.fsync = fsync
        self.label = REFERENCE_FLOOR if fsync else REFERENCE_CEILING

    def command(self) -> list[str]:
        python = BENCH_VENV / "bin" / "python"
        flags = ["--fsync"] if self.fsync else []
        return [
            str(python),
            "-m",
            "bench.compare.reference",
            "--port",
            str(self.port),
            "--nick",
            self.nick,
            "--out",
            str(self.meetings),
            *flags,
            *self.channels,
        ]

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "PYTHONPATH": str(ROOT)}

    def write_config(self) -> None:
        pass

    def files_written(self, name: str, channel: str) -> float | None:
        return _written(_files_under(self.meetings, name + "."), self.suffixes)


REFERENCE_FLOOR = "reference + fsync (floor)"
REFERENCE_CEILING = "reference (ceiling)"


def _files_under(directory: Path, prefix: str, depth: int = 2) -> list[os.DirEntry[str]]:
    """Files under `directory` (at most `depth` levels down) whose names start with `prefix`."""
    found: list[os.DirEntry[str]] = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for entry in os.scandir(directory):
            if entry.is_dir():
                if depth:
                    found += _files_under(Path(entry.path), prefix, depth - 1)
            elif entry.name.startswith(prefix):
                found.append(entry)
    return found


def _written(files: list[os.DirEntry[str]], suffixes: tuple[str, ...]) -> float | None:
    """The newest status-change time of `files` once they hold a file for each suffix
    (`.txt` is not taken for `.log.txt`), else None. A file's status changes when it is
    written and when it is renamed into place, so this is the moment the set was complete,
    however late the driver looked."""
    longest_first = sorted(suffixes, key=len, reverse=True)
    newest: dict[str, float] = {}
    for entry in files:
        kind = next((s for s in longest_first if entry.name.endswith(s)), "")
        if kind:
            with contextlib.suppress(FileNotFoundError):
                changed = entry.stat(follow_symlinks=False).st_ctime
                newest[kind] = max(changed, newest.get(kind, 0.0))
    if set(newest) < set(suffixes):
        return None
    return max(newest.values())


def peer_versions() -> dict[str, str]:
    """Installed versions of the peer's packages (from bench/.venv)."""
    python = BENCH_VENV / "bin" / "python"
    code = (
        "import importlib.metadata as m\n"
        "for p in ('limnoria', 'hcoop-meetbot', 'matplotlib'):\n"
        "    print(p, m.version(p))"
    )
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    return dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)


def gavel_version() -> str:
    out = subprocess.run(
        [str(GAVEL_PYTHON), "-c", "import bot; print(bot.__version__)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )
    return out.stdout.strip() or "unknown"


# What `gavel run` imports, with every optional part on: the static indexes (Jinja2) and the
# announcements (aiohttp, aiosmtplib). rich is kept out as `gavel run` keeps it out.
_IMPORTS = """
import sys
sys.modules.setdefault("rich", None)
import bot.app, bot.web.static_index, bot.announce.sender
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(int(line.split()[1]) / 1024)
"""


def gavel_imports_mb() -> float:
    """Gavel's resident memory with everything it may need imported and nothing done: the
    least a bot with static indexes and announcements on can use."""
    out = subprocess.run(
        [str(GAVEL_PYTHON), "-c", _IMPORTS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    try:
        return float(out.stdout.strip())
    except ValueError:
        return float("nan")

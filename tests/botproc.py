"""Running the real `gavel` as a separate process for end-to-end tests.

Writes a configuration into a temporary directory, starts `python -m bot run`, and can
stop it by SIGTERM or SIGKILL (only the process it started, by pid). Every wait is
bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parent.parent
URL_PREFIX = "http://eavesdrop.example.org/meetings/"


def config_text(
    *,
    nick: str,
    network: str,
    port: int,
    channels: list[str],
    meetings: Path,
    database: Path,
    url_prefix: str,
    rate: float | None = None,
    alt_nicks: tuple[str, ...] = (),
    extra_network: str = "",
    log_level: str = "info",
) -> str:
    """A Gavel configuration for one plain-text network on 127.0.0.1, logging JSON; `rate`
    None leaves the network's default send bucket. Used by the tests and the benchmarks."""
    quoted = ", ".join(f'"{c}"' for c in channels)
    alts = ", ".join(f'"{n}"' for n in alt_nicks)
    rate_line = "" if rate is None else f"rate = {rate}\n"
    return f"""[bot]
nick = "{nick}"
alt_nicks = [{alts}]
[[networks]]
name = "{network}"
host = "127.0.0.1"
port = {port}
tls = false
{rate_line}channels = [{quoted}]
{extra_network}
[output]
dir = "{meetings}"
url_prefix = "{url_prefix}"
[storage]
path = "{database}"
[logging]
level = "{log_level}"
format = "json"
"""


@dataclass
class BotProcess:
    workdir: Path
    port: int
    channels: list[str] = field(default_factory=lambda: ["#openstack-meeting"])
    nick: str = "meetbot"
    rate: float = 0.0
    extra_network: str = ""
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def config(self) -> Path:
        return self.workdir / "gavel.toml"

    @property
    def meetings(self) -> Path:
        return self.workdir / "meetings"

    @property
    def database(self) -> Path:
        return self.workdir / "data" / "gavel.sqlite3"

    @property
    def log(self) -> Path:
        return self.workdir / "gavel.log"

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = config_text(
            nick=self.nick,
            network="local",
            port=self.port,
            channels=self.channels,
            meetings=self.meetings,
            database=self.database,
            url_prefix=URL_PREFIX,
            rate=self.rate,
            alt_nicks=(f"{self.nick}_",),
            extra_network=self.extra_network,
            log_level="debug",
        )
        self.config.write_text(text, encoding="utf-8")

    def start(self) -> None:
        if not self.config.exists():
            self.write_config()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config)],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.starts += 1

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        self.process = None
        return code

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10)

    def stop(self) -> None:
        """Teardown: SIGTERM, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.signal(signal.SIGTERM)
        try:
            self.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())

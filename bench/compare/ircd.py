"""InspIRCd from Debian's packages, on a free loopback port, with every flood limit lifted.

ngircd cannot be told to stop penalising fast clients; InspIRCd can: its connect class
takes `commandrate` (commands per second, in thousandths), `threshold` (penalty allowed
before lagging or killing), `fakelag` and the send and receive queue sizes. The
configuration written here raises them all far beyond what a benchmark sends, so the
server relays lines as fast as it can read them and never disconnects a client for
flooding. IRCv3 capabilities that real networks offer (server-time, echo-message,
message-tags, batch, msgid) are loaded, so each bot negotiates what it would in production.

Only the process started here is stopped, by its pid; every wait is bounded.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.ircserver import free_port, start_server, stop_process

INSPIRCD = "/usr/sbin/inspircd"
HOST = "127.0.0.1"
SERVER_NAME = "irc.bench.local"

CONFIG = """\
<server name="{name}" description="Gavel benchmark server" network="Bench">
<admin name="bench" nick="bench" email="bench@invalid">
<bind address="{host}" port="{port}" type="clients">
<connect name="bench" allow="{host}" maxchans="2000" timeout="60" pingfreq="600"
    hardsendq="512M" softsendq="512M" recvq="512M" threshold="100000000"
    commandrate="1000000000" fakelag="no" localmax="10000" globalmax="10000"
    limit="10000" resolvehostnames="no" useident="no" uniqueusername="no">
<channels users="2000" opers="2000">
<limits maxchan="60" maxnick="30" maxline="512">
<performance netbuffersize="65536" somaxconn="1024" softlimit="20000"
    clonesonconnect="no" quietbursts="yes">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="no">
<security hideserver="" userstats="Pu" flatlinks="no" hidesplits="no" hideulines="no"
    hidebans="no" maxtargets="20">
<whowas groupsize="0" maxgroups="0" maxkeep="1">
<pid file="{workdir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{workdir}/ircd.log">
<dns server="127.0.0.1" timeout="1">
<module name="cap">
<module name="ircv3">
<module name="ircv3_capnotify">
<module name="ircv3_servertime">
<module name="ircv3_echomessage">
<module name="ircv3_ctctags">
<module name="ircv3_batch">
<module name="ircv3_msgid">
<module name="namesx">
"""


def version() -> str:
    """InspIRCd's version as it reports it (e.g. "InspIRCd-3.15.0")."""
    try:
        out = subprocess.run(
            [INSPIRCD, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (out.stdout.strip() or out.stderr.strip() or "unknown").splitlines()[-1]


class InspIRCd:
    """One InspIRCd process on a free loopback port, configured in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.host = HOST
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "inspircd.conf"
        self.config.write_text(
            CONFIG.format(name=SERVER_NAME, host=HOST, port=self.port, workdir=workdir),
            encoding="utf-8",
        )
        self.log_path = workdir / "inspircd.out"

    def start(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            raise RuntimeError("already running")
        # --runasroot: benchmarks run as root in containers; the server only listens on
        # 127.0.0.1 and lives for one scenario.
        argv = [INSPIRCD, "--config", str(self.config), "--nofork", "--runasroot"]
        self.process = start_server(argv, self.port, self.log_path, "InspIRCd", timeout)

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server process so far."""
        if self.process is None:
            return 0.0
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 5.0) -> None:
        process, self.process = self.process, None
        stop_process(process, timeout)

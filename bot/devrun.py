"""`make run` without CONFIG: a local ngircd on loopback and Gavel against it.

Starts ngircd (from Debian's package) on 127.0.0.1 with `deploy/ngircd-local.conf`, runs
the bot with `config/local.toml` (pointed at that server's port) and `gavel web` against the
same database (which also serves the published files the bot's links point at), prints how
to join and where to read, and on Ctrl-C stops the bot cleanly, then the web and the server
it started.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from bot.config_loader import load_settings
from bot.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = ROOT / "run"
PREFERRED_PORT = 6667
CONFIG = ROOT / "config" / "local.toml"


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`.

    SO_REUSEADDR, as the server itself binds: connections of a server stopped a moment ago
    linger in TIME_WAIT for a minute, and a plain bind would call the port taken, moving
    the restarted server to another port where no client's reconnect finds it. Linux still
    refuses the bind while a socket listens there.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ngircd_binary() -> str:
    found = shutil.which("ngircd") or (
        "/usr/sbin/ngircd" if Path("/usr/sbin/ngircd").exists() else None
    )
    if found is None:
        raise SystemExit("gavel: ngircd is not installed (make run installs it with apt-get)")
    return found


def start_ngircd(port: int) -> subprocess.Popen[bytes]:
    RUN_DIR.mkdir(exist_ok=True)
    template = (ROOT / "deploy" / "ngircd-local.conf").read_text(encoding="utf-8")
    config = RUN_DIR / "ngircd.conf"
    config.write_text(
        template.replace("@PORT@", str(port)).replace("@RUNDIR@", str(RUN_DIR)), encoding="utf-8"
    )
    log = (RUN_DIR / "ngircd.log").open("ab")
    # A session of its own, so Ctrl-C reaches the bot first and the server is stopped last.
    server = subprocess.Popen(
        [_ngircd_binary(), "-n", "-f", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while port_free(port):
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"gavel: ngircd did not start; see {RUN_DIR / 'ngircd.log'}")
        time.sleep(0.05)
    return server


def local_settings(port: int, web_port: int | None = None) -> Settings:
    """The local configuration, pointed at the IRC server's port and, when `web_port` is
    given, with the web (and the file links the bot announces) on that port."""
    settings = load_settings(CONFIG)
    networks = tuple(dataclasses.replace(n, port=port) for n in settings.networks)
    settings = dataclasses.replace(settings, networks=networks)
    if web_port is None or web_port == settings.web.port:
        return settings
    prefix = settings.output.url_prefix.replace(f":{settings.web.port}/", f":{web_port}/", 1)
    return dataclasses.replace(
        settings,
        web=dataclasses.replace(settings.web, port=web_port),
        output=dataclasses.replace(settings.output, url_prefix=prefix),
    )


def prepare_database(settings: Settings) -> None:
    """Create (or migrate) the database before the web reads it."""
    from bot.store import Store

    async def touch() -> None:
        await (await Store.open(settings.storage.path)).close()

    asyncio.run(touch())


def start_web(settings: Settings) -> subprocess.Popen[bytes]:
    """`gavel web` on the chosen port, in a session of its own (stopped after the bot)."""
    RUN_DIR.mkdir(exist_ok=True)
    log = (RUN_DIR / "web.log").open("ab")
    listen = f"{settings.web.host}:{settings.web.port}"
    web = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--config", str(CONFIG), "--listen", listen],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while port_free(settings.web.port):
        if web.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"gavel: gavel web did not start; see {RUN_DIR / 'web.log'}")
        time.sleep(0.05)
    return web


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> int:
    from bot import app

    port = PREFERRED_PORT if port_free(PREFERRED_PORT) else _any_free_port()
    try:
        settings = local_settings(port)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    if not port_free(settings.web.port):
        settings = local_settings(port, _any_free_port())
    web_url = f"http://{settings.web.host}:{settings.web.port}/"
    server = start_ngircd(port)
    try:
        prepare_database(settings)
        web = start_web(settings)
    except BaseException:
        stop(server)
        raise
    channels = ", ".join(c.name for c in settings.networks[0].channels)
    print(
        f"\nGavel is joining {channels} on a local IRC server at 127.0.0.1:{port}.\n"
        f"Connect any IRC client to it, for example:\n"
        f"    irssi -c 127.0.0.1 -p {port} -n yournick\n"
        f"    weechat  then  /server add local 127.0.0.1/{port} ; /connect local\n"
        f"then /join #meeting and type:  #startmeeting test\n"
        f"Minutes go to {settings.output.dir}; the database is {settings.storage.path}.\n"
        f"Read the archive, and follow meetings live, at {web_url}\n"
        f"Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        return asyncio.run(app.serve(settings))
    except KeyboardInterrupt:
        return 0
    finally:
        stop(web)
        stop(server)


if __name__ == "__main__":
    sys.exit(main())

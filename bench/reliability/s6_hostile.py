"""Scenario 6 — hostile input, through a real server and through a scripted one.

1. Real server: the hostile corpus (`tests/hostile_corpus.txt` plus `\\x10r`, cp1252 and
   path-like names), each text sent in several forms (plain, `/me`, `#info`, `#topic`,
   `#action`, `#idea`) by people on ngircd, while meetings run in the main channel and in
   channels with path-like names (`#../../escape`, `#a/b`, `#%Y%m` ...) whose meetings
   are renamed to paths; then every meeting is ended, so every file is written.
2. Scripted server: lines drawn by Hypothesis (`_hostile.raw_lines`: tags up to 8 KiB,
   leading spaces, lone CRs, invalid UTF-8, cp1252, bidi and control characters, 510-byte
   lines, odd commands and prefixes, extreme `server-time` values) plus a megabyte with no
   newline, sent to the real bot in chunks, each chunk followed by a PING the bot must
   answer.

Measured, not assumed: failures the bot logged (exception records, tracebacks), its
exit code after SIGTERM, disconnects it logged before SIGTERM, missing PONGs, every page
parsed with html5lib (scripts, `on*` attributes, links with other schemes, markup the
writers never make, parse errors), every file under the sandbox checked to be in the
output directory, and every line the bot sent checked for CR, LF, NUL, length and command.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from bench.reliability import Profile, Result
from bench.reliability._abuse import (
    BOT_NICK,
    Bot,
    BotServer,
    RawPeer,
    bad_line,
    crash_records,
    disconnect_records,
    files_under,
    log_records,
    privmsg,
    quiet,
    sent_lines,
    until,
    until_stopping,
)
from bench.reliability._hostile import (
    PATH_CHANNELS,
    client_line,
    corpus,
    generate,
    html_findings,
    outside,
)
from bot.writers.gaps import MARK
from tests.ircserver import Ngircd, RawClient

TITLE = "Hostile input: corpus via ngircd + Hypothesis lines via a scripted server"

MAIN = "#openstack-meeting"
PATH_NAMES = (
    "../../../../tmp/gavel-escape",
    "/etc/passwd",
    "..",
    "%Y%m%d{channel}{network}",
    "C:\\Windows\\System32",
    "a/../../b",
    "\u202eevil",
)
FORMS = ("plain", "info", "topic", "action", "me", "idea")
CHUNK = 100  # scripted-server lines between two PINGs
# A recording gap's line in a .log.txt: its clock, then the writers' mark of a line nobody said.
_GAP_LINE = re.compile(rb"\d\d:\d\d:\d\d " + re.escape(MARK.encode()) + rb" ")


@dataclass
class Part:
    """What one half of the scenario measured."""

    lines_sent: int = 0
    crashes: int = 0
    disconnects: int = 0
    bad_out: int = 0
    lines_out: int = 0
    pings: int = 0
    pongs_missing: int = 0
    pong_max: float = 0.0
    exit_code: int | None = None
    exit_seconds: float = 0.0
    pages: int = 0
    html: dict[str, int] = field(default_factory=dict)
    files: int = 0
    recorded: int = 0  # lines in every .log.txt written
    strays: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _inspect_files(bot: Bot, sandbox: Path, part: Part) -> None:
    files = files_under(sandbox)
    allowed = [bot.config, bot.log, bot.database.parent]
    part.strays = outside(bot.meetings, allowed, files)
    written = [f for f in files if f.resolve().is_relative_to(bot.meetings.resolve())]
    part.files = len(written)
    for path in written:
        if path.name.endswith(".log.txt"):
            # Lines said, not the marks of a time the bot was not connected (`***`).
            part.recorded += sum(
                1 for line in path.read_bytes().splitlines() if not _GAP_LINE.match(line)
            )
        if path.name.endswith(".html"):
            part.pages += 1
            page = path.read_text(encoding="utf-8", errors="replace")
            found = html_findings(page, index=path.name == "index.html")
            for key, value in found.items():
                part.html[key] = part.html.get(key, 0) + value


def _inspect_log(bot: Bot, part: Part) -> None:
    records = log_records(bot)
    crashes = crash_records(records)
    part.crashes += len(crashes)
    for record in crashes[:3]:
        part.notes.append(f"bot logged {record.get('event') or record.get('raw')}")
    part.disconnects += len(disconnect_records(until_stopping(records)))


async def _stop(bot: Bot, part: Part) -> None:
    if not bot.alive():
        part.crashes += 1
        part.notes.append("the bot process had exited before SIGTERM")
        return
    part.exit_code, part.exit_seconds = await bot.stop_by_sigterm()
    if part.exit_code != 0:
        part.crashes += 1
        part.notes.append(f"exit code after SIGTERM: {part.exit_code}")


# -- 1. the corpus through ngircd ----------------------------------------------------


def _joined(watcher: RawClient, channel: str) -> bool:
    pattern = re.compile(rf"^:{BOT_NICK}!\S+ JOIN :?{re.escape(channel)}$")
    return bool(watcher.seen(pattern))


def _ended(watcher: RawClient, channel: str) -> bool:
    pattern = re.compile(rf"^:{BOT_NICK}!\S+ PRIVMSG {re.escape(channel)} :Log:")
    return bool(watcher.seen(pattern))


def _form(form: str, text: bytes) -> tuple[int, bytes, bool]:
    """(speaker index, text, is /me) for one form of a corpus text."""
    if form == "plain":
        return 1, text, False
    if form == "me":
        return 2, text, True
    speaker = 0 if form in ("topic", "action") else 1
    return speaker, f"#{form} ".encode() + text, False


async def through_ngircd(workdir: Path, forms: tuple[str, ...], part: Part) -> None:
    ircd = Ngircd(workdir / "ngircd")
    ircd.start()
    sandbox = workdir / "sandbox"
    channels = [MAIN, *PATH_CHANNELS]
    bot = Bot(sandbox / "deep" / "er" / "bot", ircd.port, channels=channels)
    people: list[RawClient] = []
    try:
        for nick in ("alice", "bob", "carol", "watcher"):
            client = await RawClient.connect(ircd.host, ircd.port, nick)
            for channel in channels:
                await client.join(channel)
            people.append(client)
        alice, watcher = people[0], people[3]
        bot.start()
        if not await until(lambda: all(_joined(watcher, c) for c in channels), 20):
            part.notes.append("the bot did not join every channel")
        for n, channel in enumerate(channels):
            await alice.send_bytes(
                client_line(channel, b"#startmeeting hostile " + bytes([65 + n]))
            )
        texts = corpus()
        for n, text in enumerate(texts):
            for form in forms:
                speaker, line, action = _form(form, text)
                channel = channels[n % len(channels)] if n % 5 == 0 else MAIN
                await people[speaker].send_bytes(client_line(channel, line, action))
                part.lines_sent += 1
            if n % 50 == 0:
                await asyncio.sleep(0.01)  # let ngircd and the bot breathe, as people would
        for n, channel in enumerate(channels):
            name = PATH_NAMES[n % len(PATH_NAMES)]
            for command in (f"#meetingname {name}", "#save", f"#meetingtopic {name}"):
                await alice.send_bytes(client_line(channel, command.encode()))
                part.lines_sent += 1
        for channel in channels:
            await alice.send_bytes(client_line(channel, b"#endmeeting"))
        if not await until(lambda: all(_ended(watcher, c) for c in channels), 60):
            missing = [c for c in channels if not _ended(watcher, c)]
            raise RuntimeError(f"no #endmeeting reply in {missing}")
        quits = watcher.seen(re.compile(rf"^:{BOT_NICK}!\S+ QUIT"))
        part.disconnects += len(quits)
        await _stop(bot, part)
    finally:
        bot.stop()
        for client in people:
            await client.close()
        ircd.stop()
    _inspect_log(bot, part)
    for logged in sent_lines(log_records(bot)):
        part.lines_out += 1
        if re.search(r"[\r\n\x00]", logged) or len(logged.encode("utf-8", "replace")) > 510:
            part.bad_out += 1
    _inspect_files(bot, sandbox, part)


# -- 2. generated lines through the scripted server ---------------------------------

SPECIALS = (
    b":alice!~alice@h.test PRIVMSG #c :" + b"m" * (1 << 20),  # a megabyte, no newline
    b"\r\n",
    b"@+huge=" + b"t" * 8192 + b" :alice!~alice@h.test PRIVMSG #c :after 8 KiB of tags\r\n",
    b"   :alice!~alice@h.test PRIVMSG #c :leading spaces\r\n",
    b":alice!~alice@h.test PRIVMSG #c :#topic dle \x10r\x10nQUIT :x\r\n",
    b":alice!~alice@h.test PRIVMSG #c :lone\rcr #topic x\rPRIVMSG #c :injected\r\n",
    b":alice!~alice@h.test PRIVMSG #c :caf\xe9 \x93cp1252\x94\r\n",
    b":alice!~alice@h.test PRIVMSG #c :" + b"\xc3\xa4" * 240 + b"\r\n",
)


async def _probe(peer: RawPeer, part: Part, token: str) -> None:
    part.pings += 1
    latency = await peer.probe(token, timeout=5.0)
    if latency is None:
        part.pongs_missing += 1
    else:
        part.pong_max = max(part.pong_max, latency)


async def through_scripted_server(workdir: Path, count: int, part: Part) -> None:
    lines = generate(count)
    server = await BotServer(
        "server-time message-tags account-tag extended-join account-notify multi-prefix"
    ).start()
    sandbox = workdir / "sandbox"
    zones = {"#c": "America/New_York", "#..": "Pacific/Kiritimati"}
    bot = Bot(sandbox / "deep" / "er" / "bot", server.port, channels=list(zones), zones=zones)
    try:
        bot.start()
        peer = await server.next_raw_peer(20)
        await peer.wait_joined("#c", 20)
        channels = sorted({*zones, "#C", *PATH_CHANNELS, "&local", "#\xe9t\xe9"})
        for n, channel in enumerate(channels):
            name = PATH_NAMES[n % len(PATH_NAMES)]
            await peer.send_raw(privmsg("alice", channel, f"#startmeeting {name}"))
        for data in SPECIALS:
            await peer.send_raw(data)
        part.lines_sent += len(SPECIALS) - 1
        await _probe(peer, part, "specials")
        for start in range(0, len(lines), CHUNK):
            chunk = lines[start : start + CHUNK]
            await peer.send_raw(b"".join(chunk))
            part.lines_sent += len(chunk)
            await _probe(peer, part, f"chunk-{start}")
        for channel in channels:  # an op may end any meeting, whoever started it
            await peer.send_raw(
                f":closer!~c@h.test JOIN {channel}\r\n:fake MODE {channel} +o closer\r\n".encode()
                + privmsg("closer", channel, "#endmeeting")
            )
        await _probe(peer, part, "end")

        def published() -> int:
            return sum(r.get("event") == "published" for r in log_records(bot))

        await quiet(published, settle_for=1.5, timeout=30)
        part.disconnects += max(0, len(server.raw_peers) - 1)
        part.disconnects += sum(p.closed for p in server.raw_peers)
        await _stop(bot, part)
    finally:
        bot.stop()
        await server.close()
    _inspect_log(bot, part)
    for raw_peer in server.raw_peers:
        for sent in raw_peer.sent:
            part.lines_out += 1
            if bad_line(sent) is not None:
                part.bad_out += 1
                if part.bad_out <= 3:
                    part.notes.append(
                        f"bad line from the bot ({bad_line(sent)}): {sent.raw[:80]!r}"
                    )
    _inspect_files(bot, sandbox, part)


# -- the scenario --------------------------------------------------------------------


async def run(profile: Profile) -> Result:
    result = Result(
        TITLE,
        must_be_zero=(
            "crashes",
            "disconnects_by_input",
            "unescaped_html",
            "html_parse_errors",
            "paths_outside_output",
            "outgoing_crlf_nul",
            "pongs_missing",
        ),
        must_be_true=("completed", "sigterm_exit_under_5s"),
    )
    forms = FORMS if profile.full else FORMS[:2]
    count = profile.pick(1000, 10_000)
    real, fake = Part(), Part()
    started = time.monotonic()
    completed = True
    with tempfile.TemporaryDirectory(prefix="gavel-s6-") as tmp:
        for name, coro, timeout in (
            ("ngircd", through_ngircd(Path(tmp) / "real", forms, real), profile.pick(90, 300)),
            (
                "scripted",
                through_scripted_server(Path(tmp) / "fake", count, fake),
                profile.pick(90, 400),
            ),
        ):
            try:
                await asyncio.wait_for(coro, timeout)
            except Exception as exc:  # a scenario reports, it never raises
                completed = False
                result.notes.append(f"{name} part did not complete: {exc!r}")
                result.notes.append(traceback.format_exc(limit=3))
    both = (real, fake)
    html = {key: real.html.get(key, 0) + fake.html.get(key, 0) for key in {*real.html, *fake.html}}
    result.figures.update(
        {
            "ngircd_lines": real.lines_sent,
            "generated_lines": fake.lines_sent,
            "lines_recorded": real.recorded + fake.recorded,
            "crashes": sum(p.crashes for p in both),
            "disconnects_by_input": sum(p.disconnects for p in both),
            "pages_checked": sum(p.pages for p in both),
            "files_written": sum(p.files for p in both),
            "unescaped_html": sum(
                html.get(k, 0)
                for k in ("scripts", "event_attributes", "unsafe_links", "foreign_markup")
            ),
            "html_parse_errors": html.get("parse_errors", 0),
            "paths_outside_output": sum(len(p.strays) for p in both),
            "lines_from_bot": sum(p.lines_out for p in both),
            "outgoing_crlf_nul": sum(p.bad_out for p in both),
            "pings": fake.pings,
            "pongs_missing": fake.pongs_missing,
            "pong_max_s": round(fake.pong_max, 3),
            "sigterm_exit_max_s": round(max(p.exit_seconds for p in both), 2),
            "sigterm_exit_under_5s": all(p.exit_code == 0 and p.exit_seconds < 5.0 for p in both),
            "completed": completed,
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    for part in both:
        result.notes.extend(part.notes)
        result.notes.extend(f"file outside the output directory: {p}" for p in part.strays[:5])
    return result

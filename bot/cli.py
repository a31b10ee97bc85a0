"""The `gavel` command line: run, check-config, meetings, regenerate, web, replay, successes,
announcements, search, import, redact.

Exit status: 0 on success, 2 on a usage, configuration or input error (with a one-line
message per problem on stderr), 1 when the bot stops on an unexpected failure.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Coroutine, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from bot import __version__
from bot.config_loader import load_settings
from bot.core.names import NAME_RULES, OPENSTACK
from bot.settings import DEFAULT_PATTERN, ConfigError, Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gavel", description="Gavel, the IRC meeting bot.")
    parser.add_argument("--version", action="version", version=f"gavel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="connect and record meetings")
    run.add_argument("--config", required=True, type=Path)

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("--config", required=True, type=Path)

    meetings = sub.add_parser("meetings", help="list running and recent meetings")
    meetings.add_argument("--config", required=True, type=Path)
    meetings.add_argument("--limit", type=int, default=50)

    regen = sub.add_parser("regenerate", help="rewrite meeting files from the database")
    regen.add_argument("--config", required=True, type=Path)
    which = regen.add_mutually_exclusive_group(required=True)
    which.add_argument("meeting_id", nargs="?", type=int)
    which.add_argument("--all", action="store_true")

    web = sub.add_parser("web", help="serve the meeting archive over HTTP (read-only)")
    web.add_argument("--config", required=True, type=Path)
    web.add_argument("--listen", help="HOST:PORT, instead of the configuration's [web] listen")
    succ = sub.add_parser("successes", help="the #success (or #thanks) messages of a period")
    succ.add_argument("--config", required=True, type=Path)
    succ.add_argument("--since", type=_day, help="YYYY-MM-DD (UTC), inclusive")
    succ.add_argument("--until", type=_day, help="YYYY-MM-DD (UTC), inclusive")
    succ.add_argument("--format", choices=("newsletter", "markdown", "json"), default="newsletter")
    succ.add_argument("--thanks", action="store_true", help="the #thanks instead")

    ann = sub.add_parser("announcements", help="pending and failed announcements")
    ann.add_argument("--config", required=True, type=Path)
    ann.add_argument("--retry", metavar="ID", help="send this delivery again now")

    replay = sub.add_parser("replay", help="write the files of a MeetBot .log.txt")
    replay.add_argument("log", type=Path)
    replay.add_argument("--channel", required=True)
    replay.add_argument("--nick", required=True, help="the old bot's nick in the log")
    replay.add_argument("--out", required=True, type=Path)
    replay.add_argument("--network", default="replay")
    replay.add_argument("--timezone", default="UTC")
    replay.add_argument("--url-prefix", default="")
    replay.add_argument(
        "--pattern",
        default=DEFAULT_PATTERN,
        help="the files' names, as output.pattern; Fedora's layout is "
        "{channel}/%%Y-%%m-%%d/{meetingname}.%%Y-%%m-%%d-%%H.%%M",
    )
    replay.add_argument(
        "--meeting-names",
        choices=NAME_RULES,
        default=OPENSTACK,
        help="the meeting-name rule, as output.meeting_names",
    )

    search = sub.add_parser("search", help="search the archive of public meetings")
    search.add_argument("--config", required=True, type=Path)
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true")

    imp = sub.add_parser("import", help="import MeetBot .log.txt files into the archive")
    imp.add_argument("--config", required=True, type=Path)
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument("--network", help="the network the logs come from")
    imp.add_argument("--channel", help="the channel of every log (else from the layout)")
    imp.add_argument("--nick", help="the old bot's nick (else found in each log)")
    imp.add_argument("--timezone", default="UTC", help="the zone the logs' times are in")
    imp.add_argument("--replace", action="store_true", help="import meetings already there again")
    imp.add_argument("--write-files", action="store_true", help="also write Gavel's files")
    imp.add_argument("--jobs", type=int, default=0, help="parsing processes (default: all cores)")
    imp.add_argument(
        "--batch-lines", type=int, default=200_000, help="lines per transaction (whole meetings)"
    )

    redact = sub.add_parser("redact", help="take a line, meeting or person out of the archive")
    redact.add_argument("--config", required=True, type=Path)
    what = redact.add_subparsers(dest="what", required=True)
    line = what.add_parser("line", help="replace one line's text by [redacted]")
    line.add_argument("meeting_id", type=int)
    line.add_argument("line_number", type=int)
    line.add_argument("--reason", required=True)
    whole = what.add_parser("meeting", help="remove a whole meeting and its files")
    whole.add_argument("meeting_id", type=int)
    whole.add_argument("--reason", required=True)
    person = what.add_parser("person", help="replace a nick everywhere by a pseudonym")
    person.add_argument("network")
    person.add_argument("nick")
    person.add_argument("--reason", required=True)
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _settings(path: Path) -> Settings | None:
    try:
        return load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"gavel: {problem}", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "replay":
        return _replay(args)
    settings = _settings(args.config)
    if settings is None:
        return EXIT_USAGE
    if args.command == "check-config":
        channels = sum(len(n.channels) for n in settings.networks)
        print(f"{args.config}: ok ({len(settings.networks)} networks, {channels} channels)")
        return EXIT_OK
    # structlog imports rich, for its console tracebacks, whenever rich is installed (and
    # it is: irc -> jaraco.text -> typer -> rich); that is some 5 MB of memory the bot never
    # uses. Without it structlog falls back to plain tracebacks.
    sys.modules.setdefault("rich", None)  # type: ignore[arg-type]
    from bot import app  # the service's imports are needed only from here on

    if args.command in ("search", "import", "redact"):
        return _archive(args, settings)
    if args.command == "run":
        return asyncio.run(app.serve(settings))
    if args.command == "web":
        return _web(settings, args.listen)
    if args.command in ("successes", "announcements"):
        return _followup(args, settings)
    if args.command == "meetings":
        return asyncio.run(app.list_meetings(settings, args.limit))
    return asyncio.run(app.regenerate(settings, args.meeting_id, every=args.all))


def _archive(args: argparse.Namespace, settings: Settings) -> int:
    from bot import archive_commands
    from bot.store.writerlock import DatabaseInUse, acquire_writer_lock

    if args.command == "search":
        work = archive_commands.search(
            settings, args.query, limit=args.limit, as_json_output=args.json
        )
        return _run_archive(args, work)
    # Both write meetings: never beside a running bot, which numbers meetings in memory.
    try:
        writer = acquire_writer_lock(settings.storage.path)
    except DatabaseInUse as exc:
        print(
            f"gavel: gavel {args.command} cannot run while Gavel ({exc.holder}) records into "
            f"{settings.storage.path}; stop the bot first",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        if args.command == "import":
            work = archive_commands.import_archive(settings, args)
        else:
            work = archive_commands.redact(settings, args)
        return _run_archive(args, work)
    finally:
        writer.release()


def _run_archive(args: argparse.Namespace, work: Coroutine[Any, Any, int]) -> int:
    try:
        return asyncio.run(work)
    except KeyboardInterrupt:
        # Every transaction holds whole meetings: what was committed stays, the rest is not
        # there at all.
        print(
            f"gavel: {args.command} interrupted; run the same command again to finish",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _web(settings: Settings, listen: str | None) -> int:
    from bot.config_loader import parse_listen
    from bot.logs import configure
    from bot.store.errors import StoreError
    from bot.web.app import serve

    if listen is not None:
        address = parse_listen(listen)
        if address is None:
            print(f"gavel: --listen: expected HOST:PORT, got {listen!r}", file=sys.stderr)
            return EXIT_USAGE
        web = dataclasses.replace(settings.web, host=address[0], port=address[1])
        settings = dataclasses.replace(settings, web=web)
    configure(settings.logging.level, settings.logging.format)
    try:
        return asyncio.run(serve(settings))
    except StoreError as exc:
        print(f"gavel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the address is taken or not ours to listen on
        print(
            f"gavel: cannot listen on {settings.web.host}:{settings.web.port} ({exc})",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _followup(args: argparse.Namespace, settings: Settings) -> int:
    from bot import followup

    if args.command == "announcements":
        code, text = asyncio.run(followup.announcements_report(settings, args.retry))
        (sys.stdout if code == EXIT_OK else sys.stderr).write(text)
        return code
    since = None if args.since is None else datetime.combine(args.since, time(), UTC)
    until = None
    if args.until is not None:
        until = datetime.combine(args.until + timedelta(days=1), time(), UTC)
    kind = "thanks" if args.thanks else "success"
    sys.stdout.write(
        asyncio.run(followup.successes_report(settings, since, until, args.format, kind))
    )
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from bot.replay import ReplayError, replay

    try:
        result = replay(
            args.log,
            channel=args.channel,
            bot_nick=args.nick,
            out=args.out,
            network=args.network,
            timezone=args.timezone,
            url_prefix=args.url_prefix,
            pattern=args.pattern,
            meeting_names=args.meeting_names,
        )
    except ReplayError as exc:
        print(f"gavel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ZoneInfoNotFoundError, ValueError) as exc:
        print(f"gavel: --timezone: unknown time zone {args.timezone!r} ({exc})", file=sys.stderr)
        return EXIT_USAGE
    if result.unreadable_lines:
        shown = ", ".join(str(n) for n in result.unreadable_lines[:10])
        print(
            f"gavel: skipped {len(result.unreadable_lines)} unreadable lines ({shown})",
            file=sys.stderr,
        )
    for files in result.files:
        for path in files.paths:
            print(path)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

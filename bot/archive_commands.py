"""The archive's commands: `gavel search`, `gavel import`, `gavel redact`.

Composition only: the query language and the import's reading of paths are pure code in
`bot.archive`, every statement is in `bot.store`. Exit status as for every command: 0 done,
2 for a bad query, option or input (one sentence on stderr), 1 when something failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from zoneinfo import ZoneInfoNotFoundError

from bot.archive.query import QueryError, fold_name, parse_query
from bot.archive.results import as_json, as_text, views
from bot.settings import Settings
from bot.store import StoreError
from bot.store.search import ArchiveReader, hidden_key

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
BOLD = ("\x1b[1m", "\x1b[0m")
BRACKETS = ("[", "]")


def private_channels(settings: Settings) -> list[str]:
    """Every channel configured `private = true`, as the search's `hidden` filter names it."""
    return [
        hidden_key(net.name, chan.name)
        for net in settings.networks
        for chan in net.channels
        if chan.private
    ]


def url_prefix_of(settings: Settings) -> dict[tuple[str, str], str]:
    """Each configured channel's `url_prefix`, by (network, folded channel)."""
    return {
        (net.name, fold_name(chan.name)): (chan.output or settings.output).url_prefix
        for net in settings.networks
        for chan in net.channels
    }


async def search(settings: Settings, query: str, *, limit: int, as_json_output: bool) -> int:
    try:
        plan = parse_query(query, settings.archive.aliases)
    except QueryError as exc:
        print(f"gavel: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not 1 <= limit <= 1000:
        print("gavel: --limit must be between 1 and 1000.", file=sys.stderr)
        return EXIT_USAGE
    try:
        async with await ArchiveReader.open(settings.storage.path) as reader:
            answer = await reader.search(plan, limit=limit, hidden=private_channels(settings))
    except StoreError as exc:  # SearchTimeout too: the sentence says what happened
        print(f"gavel: {exc}", file=sys.stderr)
        return EXIT_FAILED
    prefixes = url_prefix_of(settings)

    def prefix(network: str, channel: str) -> str:
        return prefixes.get((network, fold_name(channel)), settings.output.url_prefix)

    found = views(answer.hits, plan, settings.archive.aliases, prefix)
    if as_json_output:
        print(json.dumps(as_json(query, answer.total, answer.capped, found), ensure_ascii=False))
        return EXIT_OK
    emphasis = BOLD if sys.stdout.isatty() else BRACKETS
    for v in found:
        print(as_text(v, emphasis))
    more = "more than " if answer.capped else ""
    shown = f", showing {len(found)}" if len(found) < answer.total else ""
    print(f"{more}{answer.total} matching lines{shown}")
    return EXIT_OK


async def import_archive(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.timefmt import zone
    from bot.importer import ImportOptions, import_archive

    network = args.network
    if network is None:
        if len(settings.networks) != 1:
            print("gavel: give --network: the configuration has several networks.", file=sys.stderr)
            return EXIT_USAGE
        network = settings.networks[0].name
    try:
        zone(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        print(f"gavel: --timezone: unknown time zone {args.timezone!r}.", file=sys.stderr)
        return EXIT_USAGE
    options = ImportOptions(
        network=network, channel=args.channel, nick=args.nick, timezone=args.timezone
    )
    summary = await import_archive(
        settings,
        args.paths,
        options,
        replace_existing=args.replace,
        write_files=args.write_files,
        jobs=max(0, args.jobs),
        batch_lines=max(1, args.batch_lines),
    )
    if args.write_files and summary.meetings:
        from bot.web.static_index import write_all_indexes

        await write_all_indexes(settings)  # the imported meetings' series and the top index
    for path, problem in summary.bad:
        print(f"gavel: {path}: {problem}", file=sys.stderr)
    print(summary.line())
    return EXIT_FAILED if summary.interrupted else EXIT_OK


async def redact(settings: Settings, args: argparse.Namespace) -> int:
    from bot.store import Store
    from bot.writers.paths import EXTENSIONS, contained, output_root
    from bot.writers.publish import write_meeting_files

    if not args.reason.strip():
        print("gavel: --reason must say why.", file=sys.stderr)
        return EXIT_USAGE
    async with await Store.open(settings.storage.path) as store:
        # Where the meetings' files are, read before a redacted meeting forgets nothing
        # of it but its header.
        try:
            if args.what == "line":
                done = await store.redact_line(args.meeting_id, args.line_number, args.reason)
            elif args.what == "meeting":
                done = await store.redact_meeting(args.meeting_id, args.reason)
            else:
                done = await store.redact_person(args.network, args.nick, args.reason)
        except StoreError as exc:
            print(f"gavel: {exc}", file=sys.stderr)
            return EXIT_USAGE
        failures = 0
        series: set[tuple[str, str]] = set()
        for meeting_id in done.meetings:
            header = await store.header(meeting_id)
            if header is None:
                continue
            series.add((header.network, header.name))
            if header.file_base is None:
                continue
            output, private = settings.output_for(header.network, header.channel)
            if args.what == "meeting":
                root = output_root(output.dir, output.private_dir, private)
                for ext in EXTENSIONS:
                    path = contained(root, header.file_base + ext)
                    try:
                        path.unlink(missing_ok=True)
                    except OSError as exc:
                        failures += 1
                        print(f"gavel: cannot delete {path}: {exc}", file=sys.stderr)
                continue
            record = await store.load(meeting_id)
            if record is None:
                continue
            try:
                write_meeting_files(record, output, header.file_base, private=private)
            except (OSError, ValueError) as exc:
                failures += 1
                print(f"gavel: meeting {meeting_id}: files not rewritten: {exc}", file=sys.stderr)
        if done.changed:
            await store.purge_index()
            if not await store.empty_log():
                print(
                    "gavel: the database's write-ahead log still holds pages as they were "
                    "before; it is emptied at a later checkpoint",
                    file=sys.stderr,
                )
    if done.changed:
        from bot.web.static_index import write_indexes

        # Each series touched, once: a redacted meeting leaves the static indexes (a series
        # left without meetings loses its index); after a line or a nick the pages are
        # written again as they were, which costs one page per series.
        await write_indexes(settings, series, drop_empty=True)
    if not done.changed:
        print("nothing to redact: already done")
    elif done.pseudonym is not None:
        print(f"redacted {args.nick} as {done.pseudonym} in {len(done.meetings)} meetings")
    else:
        print(f"redacted {args.what} of meeting {done.meetings[0]}")
    return EXIT_FAILED if failures else EXIT_OK

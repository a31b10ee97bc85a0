"""`gavel import`: old MeetBot `.log.txt` archives into the database, searchable at once.

Each log goes through the same core as `gavel replay` (`bot.replay.meetings_in_log`), in
worker processes on every core; this process is the one writer, committing whole meetings
in large batches (one transaction each), so a crash or Ctrl-C leaves every meeting either
fully imported or absent and running the command again finishes the job. Bad files are
counted and named, never fatal.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.pool
import os
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from bot.archive.logfiles import (
    LOG_SUFFIX,
    UNKNOWN_CHANNEL,
    bot_nick_in,
    channel_from_minutes,
    decode_log,
    read_path,
)
from bot.core.record import MeetingRecord
from bot.replay import fallback_day, meetings_in_log
from bot.settings import OutputSettings, Settings
from bot.store import Store
from bot.store.importing import Prepared, prepare
from bot.writers.paths import UnsafePathError, relative_base

DEFAULT_BOT_NICK = "meetbot"  # for a log whose bot never said "Meeting started"
BATCH_LINES = 200_000  # lines per transaction: big enough that commits cost nothing
MINUTES_HEAD_BYTES = 4096  # the <title> is near the top of MeetBot's minutes
PROGRESS_SECONDS = 0.5
PARSE_AHEAD = 512  # files parsed ahead of the writer: more than a batch, so it never waits


@dataclass(frozen=True, slots=True)
class ImportOptions:
    network: str
    channel: str | None = None
    nick: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class ParsedMeeting:
    """One meeting of a log, its rows ready for the writer."""

    prepared: Prepared
    lines: int
    base: str | None  # where its files go under the output pattern
    private: bool  # from a channel configured private
    unfinished: bool  # the log stopped in it: it ends at its last line
    record: MeetingRecord | None  # kept only when its files are to be written


@dataclass(slots=True)
class ParsedFile:
    """One log read by a worker: its meetings, or why it is not a meeting log."""

    path: str
    size: int
    meetings: list[ParsedMeeting] = field(default_factory=list)
    problem: str | None = None

    @property
    def lines(self) -> int:
        return sum(m.lines for m in self.meetings)


@dataclass(slots=True)
class ImportSummary:
    files: int = 0
    meetings: int = 0
    lines: int = 0
    skipped: int = 0
    unfinished: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    def line(self) -> str:
        rate = self.lines / self.seconds if self.seconds > 0 else 0.0
        text = (
            f"imported {self.meetings} meetings ({self.lines} lines) from {self.files} files "
            f"in {self.seconds:.1f} s ({rate:,.0f} lines/s); {self.skipped} already imported; "
            f"{self.unfinished} unfinished (ended at their last line); {len(self.bad)} bad files"
        )
        return ("interrupted: " + text) if self.interrupted else text


def log_files(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every `.log.txt` named or under a named directory, sorted; and paths that are
    neither."""
    found: list[Path] = []
    missing: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                found += [Path(root) / n for n in sorted(names) if n.endswith(LOG_SUFFIX)]
        elif path.is_file():
            found.append(path)
        else:
            missing.append((str(path), "no such file or directory"))
    return found, missing


def _minutes_channel(path: Path) -> str | None:
    minutes = path.with_name(path.name[: -len(LOG_SUFFIX)] + ".html")
    try:
        with minutes.open("rb") as stream:
            head = stream.read(MINUTES_HEAD_BYTES)
    except OSError:
        return None
    return channel_from_minutes(head.decode("utf-8", "replace"))


_WORKER: dict[str, object] = {}


def _start_worker(settings: Settings, options: ImportOptions, keep_records: bool) -> None:
    _WORKER.update(settings=settings, options=options, keep=keep_records)


def parse_job(name: str) -> ParsedFile:
    """A worker's task, with the settings the pool started it with."""
    settings, options = _WORKER["settings"], _WORKER["options"]
    assert isinstance(settings, Settings) and isinstance(options, ImportOptions)
    return parse_file(name, settings, options, keep_records=bool(_WORKER["keep"]))


def parse_file(
    name: str, settings: Settings, options: ImportOptions, *, keep_records: bool = False
) -> ParsedFile:
    """Read one log through the core and make its rows ready. Never raises for bad input."""
    path = Path(name)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return ParsedFile(name, 0, problem=f"cannot read ({exc.strerror or exc})")
    parsed = ParsedFile(name, len(raw))
    info = read_path(path)
    channel = options.channel or info.channel or _minutes_channel(path) or UNKNOWN_CHANNEL
    try:
        records, _ = meetings_in_log(
            decode_log(raw),
            channel=channel,
            bot_nick=options.nick or bot_nick_in(raw) or DEFAULT_BOT_NICK,
            network=options.network,
            timezone=options.timezone,
            fallback_day=info.day or fallback_day(path),
        )
    except Exception as exc:  # a log the core cannot take must not stop the others
        parsed.problem = f"cannot be read as a meeting log ({type(exc).__name__}: {exc})"
        return parsed
    if not records:
        parsed.problem = "not a meeting log (no #startmeeting)"
        return parsed
    for record in records:
        unfinished = record.end is None
        if unfinished:  # the log stops mid-meeting: it ends at its last line
            record = replace(record, end=record.lines[-1].time if record.lines else record.start)
        output, private = settings.output_for(record.network, record.channel)
        try:
            base: str | None = relative_base(record, output.pattern)
        except UnsafePathError:
            base = None
        parsed.meetings.append(
            ParsedMeeting(
                prepared=prepare(record),
                lines=len(record.lines),
                base=base,
                private=private,
                unfinished=unfinished,
                record=record if keep_records else None,
            )
        )
    return parsed


class Progress:
    """Files, lines, rate and time left on stderr, only when it is a terminal."""

    def __init__(self, total_files: int, total_bytes: int) -> None:
        self.enabled = sys.stderr.isatty()
        self.total_files, self.total_bytes = total_files, total_bytes
        self.started = time.monotonic()
        self.shown = 0.0

    def show(self, files: int, lines: int, done_bytes: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.shown < PROGRESS_SECONDS and not force):
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        left = elapsed * (self.total_bytes - done_bytes) / max(done_bytes, 1)
        print(
            f"\r{files}/{self.total_files} files  {lines:,} lines  {lines / elapsed:,.0f} lines/s"
            f"  {int(left) // 60}:{int(left) % 60:02d} left ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


async def import_archive(
    settings: Settings,
    paths: Sequence[Path],
    options: ImportOptions,
    *,
    replace_existing: bool = False,
    write_files: bool = False,
    jobs: int = 0,
    batch_lines: int = BATCH_LINES,
) -> ImportSummary:
    summary = ImportSummary()
    started = time.monotonic()
    files, summary.bad = log_files(paths)
    total_bytes = sum(_size(f) for f in files)
    progress = Progress(len(files), total_bytes)
    # The workers are made before the database is opened, so they inherit no threads.
    context = multiprocessing.get_context("fork")
    workers = jobs or os.cpu_count() or 1
    with context.Pool(workers, _start_worker, (settings, options, write_files)) as pool:
        store = await Store.open(settings.storage.path)
        try:
            await store.tune_for_import()
            await _write_all(
                store,
                settings,
                parsed_in_order(pool, [str(f) for f in files]),
                summary,
                progress,
                replace_existing,
                write_files,
                batch_lines,
            )
        except KeyboardInterrupt:
            summary.interrupted = True
            pool.terminate()
        finally:
            progress.finish()
            await store.close()
    summary.seconds = time.monotonic() - started
    return summary


def parsed_in_order(
    pool: multiprocessing.pool.Pool, names: Sequence[str], ahead: int = PARSE_AHEAD
) -> Iterator[ParsedFile]:
    """The workers' results in file order, at most `ahead` files parsed but not yet taken:
    the workers outrun the one writer, and `imap` would hold every parsed file in memory."""
    waiting: deque[multiprocessing.pool.AsyncResult[ParsedFile]] = deque()
    queued = iter(names)
    for name in itertools.islice(queued, ahead):
        waiting.append(pool.apply_async(parse_job, (name,)))
    while waiting:
        parsed = waiting.popleft().get()
        for name in itertools.islice(queued, 1):
            waiting.append(pool.apply_async(parse_job, (name,)))
        yield parsed


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


async def _write_all(
    store: Store,
    settings: Settings,
    parsed_files: Iterator[ParsedFile],
    summary: ImportSummary,
    progress: Progress,
    replace_existing: bool,
    write_files: bool,
    batch_size: int,
) -> None:
    batch: list[ParsedMeeting] = []
    batch_lines = 0
    done_bytes = 0
    for parsed in parsed_files:
        summary.files += 1
        done_bytes += parsed.size
        if parsed.problem is not None:
            summary.bad.append((parsed.path, parsed.problem))
            continue
        batch += parsed.meetings
        batch_lines += parsed.lines
        if batch_lines >= batch_size:
            await _write_batch(store, settings, batch, summary, replace_existing, write_files)
            batch, batch_lines = [], 0
        progress.show(summary.files, summary.lines + batch_lines, done_bytes)
    if batch:
        await _write_batch(store, settings, batch, summary, replace_existing, write_files)
    progress.show(summary.files, summary.lines, done_bytes, force=True)


async def _write_batch(
    store: Store,
    settings: Settings,
    batch: list[ParsedMeeting],
    summary: ImportSummary,
    replace_existing: bool,
    write_files: bool,
) -> None:
    results = await store.import_meetings(
        [m.prepared for m in batch],
        [m.base for m in batch],
        [m.private for m in batch],
        replace=replace_existing,
    )
    for meeting, result in zip(batch, results, strict=True):
        if not result.added:
            summary.skipped += 1
            continue
        summary.meetings += 1
        summary.lines += meeting.lines
        summary.unfinished += meeting.unfinished
        if write_files and result.base is not None and meeting.record is not None:
            record = replace(meeting.record, id=result.id)
            output, private = settings.output_for(record.network, record.channel)
            _write_files(record, output, result.base, private)
            await store.mark_published(result.id, datetime.now(UTC))


def _write_files(record: MeetingRecord, output: OutputSettings, base: str, private: bool) -> None:
    from bot.writers.publish import write_meeting_files

    write_meeting_files(record, output, base, private=private)

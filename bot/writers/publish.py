"""Writing a meeting's files to disk: the only module of the writers that does I/O.

Every file is written atomically (temporary file in the same directory, write, flush, chmod,
rename), so a reader never sees a half-written file; the hidden temporary file a crash
leaves behind is deleted by the next write into that directory. Making the files survive a
crash of the machine is a separate step, so that the service can do it for many meetings at
once: `write_meeting_files(..., durable=False)` leaves it to `sync_published`, which makes a
whole batch durable with one `syncfs` per file system (or, where there is none, the batch's
fsyncs together). Callers without a database to note what is synced (`gavel replay`) write
`durable=True`: each file fsynced before its rename, each directory after. Paths come from
`paths` and are checked again here after resolving symbolic links. Synchronous on purpose:
`bot.publishing` calls it in worker threads, with a base the store has reserved. It must not
render anything itself, choose names for the service or talk to IRC.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.core.record import MeetingRecord
from bot.settings import OutputSettings
from bot.writers.jsonfmt import FORMAT, IDENTITY_KEYS
from bot.writers.paths import (
    EXTENSIONS,
    JSON,
    UnsafePathError,
    contained,
    output_root,
    relative_base,
    unique_base,
    url_for,
)
from bot.writers.render import render_files

FILE_MODE = 0o644
RESTRICTED_MODE = 0o600
_DIR_MODE = 0o755
_TEMP_PREFIX = ".gavel-"  # short, so a 255-byte file name still leaves room for it
_TEMP_SUFFIX = ".tmp"
_TEMP_WRITER = re.compile(r"^\.gavel-(\d+)-")  # the pid of the process writing it
# A temporary file this old is left over whoever made it: no write takes an hour.
STALE_TEMP_SECONDS = 3600.0
# Pieces encoded and written at a time: a piece is a line of the log at most (16 KiB), so
# a block stays well under the memory a meeting already takes.
_PIECES = 128
_MAKING_DIRS = threading.Lock()
_IDENTITY_LINES = 8  # the identifying keys are on the first lines of our JSON


@dataclass(frozen=True, slots=True)
class PublishedFiles:
    """What `write_meeting_files` wrote: the relative base, each file's path (in
    `paths.EXTENSIONS` order) and the URL base the `#endmeeting` reply shows."""

    base: str
    paths: tuple[Path, ...]
    url_base: str
    # The files' directory and each one above it up to the output directory's parent: the
    # entries that make the files reachable, which a sync of the files must cover too.
    directories: tuple[Path, ...] = ()


def url_base(output: OutputSettings, base: str) -> str:
    """The files' URL without extension: `url_prefix` + the relative base."""
    return url_for(output.url_prefix, base)


def _root(output: OutputSettings, private: bool) -> Path:
    return output_root(output.dir, output.private_dir, private)


def _identity(json_path: Path) -> dict[str, object]:
    """The identifying keys at the top of one of our `.json` files (read, not the rest)."""
    found: dict[str, object] = {}
    with json_path.open(encoding="utf-8") as stream:
        for line in itertools.islice(stream, _IDENTITY_LINES):
            key, colon, value = line.strip().rstrip(",").partition(": ")
            if colon and key.strip('"') in IDENTITY_KEYS:
                found[key.strip('"')] = json.loads(value)
    return found


def _belongs_to(json_path: Path, record: MeetingRecord) -> bool:
    """Whether the `.json` at `json_path` was written for this very meeting."""
    try:
        found = _identity(json_path)
        start = found.get("start")
        return (
            found.get("format") == FORMAT
            and found.get("id") == record.id
            and found.get("network") == record.network
            and found.get("channel") == record.channel
            and isinstance(start, str)
            and datetime.fromisoformat(start) == record.start
        )
    except (OSError, ValueError):
        return False


def taken_by_another(root: Path, base: str, record: MeetingRecord) -> bool:
    """Whether files of another meeting (or of unknown origin) lie at `root/base`."""
    paths = [contained(root, base + ext) for ext in EXTENSIONS]
    if not any(os.path.lexists(p) for p in paths):
        return False
    return not _belongs_to(contained(root, base + JSON), record)


def choose_base(record: MeetingRecord, output: OutputSettings, *, private: bool = False) -> str:
    """The relative base for `record`'s files when there is no database to own the names
    (`gavel replay`, tools): the pattern's, or with `-2`, `-3`, ... when another meeting
    already has those files. The same meeting gets the same base again. The service never
    uses this: its store reserves each meeting's base (bot/publishing.py)."""
    root = _root(output, private)
    return unique_base(
        relative_base(record, output.pattern), lambda b: taken_by_another(root, b, record)
    )


def _check_resolved(root: Path, directory: Path) -> None:
    real_root = os.path.realpath(root)
    real_dir = os.path.realpath(directory)
    if os.path.commonpath([real_root, real_dir]) != real_root:
        raise UnsafePathError(f"{directory} resolves outside the output directory {root}")


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(root: Path, directory: Path, *, durable: bool) -> None:
    """Create `directory` under `root`. With `durable`, sync each parent that gains an
    entry, so the new files stay reachable after a crash; one writer at a time then:
    another must not use a directory whose entry in its parent is not yet synced. Without,
    `sync_published` covers the entries (it syncs every directory up to the root's
    parent)."""
    with _MAKING_DIRS:
        _make_dirs_locked(root, directory, durable)


def _make_dirs_locked(root: Path, directory: Path, durable: bool) -> None:
    if not root.is_dir():
        root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        if durable:
            fsync_dir(root.parent)
    current = root
    for part in directory.relative_to(root).parts:
        current = current / part
        try:
            current.mkdir(mode=_DIR_MODE)
        except FileExistsError:
            continue
        if durable:
            fsync_dir(current.parent)


def _encoded(pieces: Iterable[str]) -> Iterator[bytes]:
    """UTF-8 in blocks of `_PIECES` pieces (a piece is at most a line of the log, so a block
    stays small); taking them in blocks keeps the per-piece work in C."""
    stream = iter(pieces)
    while batch := list(itertools.islice(stream, _PIECES)):
        # Text from IRC is decoded leniently, so "replace" only ever meets a stray lone
        # surrogate; it keeps one odd character from losing a whole file.
        yield "".join(batch).encode("utf-8", "replace")


def write_atomic(path: Path, pieces: Iterable[str], mode: int, *, durable: bool = True) -> None:
    """Replace `path` with the text `pieces` make, so that readers see the old file or the
    new one, never a mixture. With `durable` the new one survives a crash of the machine
    once the caller has synced the directory; without, once `sync_published` (or any sync
    of its file system) has run."""
    prefix = f"{_TEMP_PREFIX}{os.getpid()}-"
    fd, temp = tempfile.mkstemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            for block in _encoded(pieces):
                stream.write(block)
            stream.flush()
            os.fchmod(stream.fileno(), mode)
            if durable:
                os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_temporaries(directory: Path, now: float | None = None) -> int:
    """Delete the temporary files a writer killed mid-write left in `directory`: those of
    a process that no longer runs, and any older than `STALE_TEMP_SECONDS`. Files being
    written (by this process or another live one) are left alone. Returns the count."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(_TEMP_PREFIX) and name.endswith(_TEMP_SUFFIX)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        writer = _TEMP_WRITER.match(name)
        pid = int(writer.group(1)) if writer else None
        # Without a pid in the name (an older Gavel's file) only its age can tell.
        in_use = pid is None or pid == os.getpid() or _running(pid)
        if in_use and age < STALE_TEMP_SECONDS:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            removed += 1
    return removed


def write_meeting_files(
    record: MeetingRecord,
    output: OutputSettings,
    base: str,
    *,
    private: bool = False,
    durable: bool = True,
) -> PublishedFiles:
    """Render and write all five files of `record` under the relative `base`.

    Each file appears whole or not at all. With `durable` they survive a crash of the
    machine when this returns; without, once `sync_published` has run on the result.
    Mode 0644, or 0600 when the meeting is restricted. Raises `UnsafePathError` when `base`
    would leave the output directory, `OSError` when the disk refuses.
    """
    root = _root(output, private)
    target = contained(root, base)
    directory = target.parent
    _check_resolved(root, directory)
    _make_dirs(root, directory, durable=durable)
    remove_stale_temporaries(directory)  # left by a crash in the middle of an earlier write
    mode = RESTRICTED_MODE if record.restricted else FILE_MODE
    written: dict[str, Path] = {}
    for extension, pieces in render_files(record, base, output.url_prefix):
        path = directory / (target.name + extension)
        write_atomic(path, pieces, mode, durable=durable)
        written[extension] = path
    if durable:
        fsync_dir(directory)
    return PublishedFiles(
        base=base,
        paths=tuple(written[ext] for ext in EXTENSIONS),
        url_base=url_base(output, base),
        directories=(directory, *_up_to(directory, root.parent)),
    )


def _up_to(directory: Path, top: Path) -> list[Path]:
    """The directories above `directory`, up to and including `top`."""
    return [parent for parent in directory.parents if parent.is_relative_to(top)]


def _load_syncfs() -> Callable[[int], int] | None:
    """libc's `syncfs(fd)` (Linux), or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError, TypeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    syncfs: Callable[[int], int] = function
    return syncfs


_SYNCFS = _load_syncfs()


def _syncfs(directory: Path) -> bool:
    """Flush the whole file system holding `directory` (data and metadata) to the disk:
    one call for any number of files on it. False where `syncfs` is not available. Raises
    `OSError` when the file system reports a failed write-back since the last sync."""
    if _SYNCFS is None:
        return False
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _SYNCFS(fd) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"syncfs {directory}: {os.strerror(errno)}")
    finally:
        os.close(fd)
    return True


def sync_published(batch: Iterable[PublishedFiles]) -> None:
    """Make the files of every publish in `batch` (written with `durable=False`) survive a
    crash of the machine: one `syncfs` per file system they are on, or, without `syncfs`,
    an fsync of each file and each directory that changed. Raises `OSError` when the disk
    could not take them (the caller must not note them synced)."""
    files: dict[Path, None] = {}
    directories: dict[Path, None] = {}
    for published in batch:
        files.update(dict.fromkeys(published.paths))
        directories.update(dict.fromkeys(published.directories))
    devices: dict[int, Path] = {}
    for directory in directories:
        devices.setdefault(os.stat(directory).st_dev, directory)
    if all(_syncfs(directory) for directory in devices.values()):
        return
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    for directory in directories:
        fsync_dir(directory)


def publish_meeting(
    record: MeetingRecord, output: OutputSettings, *, private: bool = False
) -> PublishedFiles:
    """Choose the base from the files on disk and write the files, for callers without a
    database (`gavel replay`); one at a time, as they are called."""
    base = choose_base(record, output, private=private)
    return write_meeting_files(record, output, base, private=private)

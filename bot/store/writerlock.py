"""One recording bot per database: a lock held for the bot's whole life.

Two bots writing one SQLite file give two meetings the same id and mix their rows, so
`gavel run` takes an exclusive `flock` on `<database>.lock` before opening the database and
keeps it until the process ends. The kernel drops the lock with the process, however it
dies (kill -9 included), so no stale lock is ever left to clean up; the pid written into the
file only names the holder in the refusal. `gavel import` and `gavel redact` take the same
lock for as long as they write: the bot numbers meetings in memory from the largest id it
found at start, so meetings imported beside it would take ids it is about to hand out.
Readers (`gavel meetings`, `regenerate`, `gavel search`, the web archive) take no lock:
SQLite's WAL lets them read while the bot writes.

The file is never deleted: removing a locked file would let a second bot lock a new file of
the same name while the first still holds the old one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DatabaseInUse(Exception):
    """Another live process records into this database; `holder` names it ("pid N")."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class WriterLock:
    """The held lock; `release()` (or the end of the process) gives it up."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        # A forked child (the import's parsing processes) gets a copy of the descriptor,
        # and with it the lock: one left behind after its parent was killed would keep
        # the database locked. The child closes its copy; the parent's stays locked.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None


def _holder(fd: int) -> str:
    """The pid the current holder wrote, as text ("" if it has not written it yet)."""
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 64).decode("ascii", "replace").strip()


def acquire_writer_lock(database: Path) -> WriterLock:
    """Take the database's writer lock, or raise `DatabaseInUse` with one sentence naming the
    process that holds it."""
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC (Python's default) keeps the descriptor out of child processes, which would
    # otherwise hold the lock on after the bot died.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _holder(fd)
        os.close(fd)
        who = f"pid {pid}" if pid.isdigit() else "pid unknown"
        raise DatabaseInUse(
            f"another Gavel ({who}) is already recording into {database}; "
            "stop it or give this one its own storage.path",
            who,
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return WriterLock(path, fd)

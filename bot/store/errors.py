"""The one exception type the store raises for its own reasons, and how to tell a failure
that passes from one that does not.

SQLite's own errors (`sqlite3.Error`, e.g. a full disk or a constraint violation) pass through
unchanged so callers can tell them apart; this module must not wrap or hide them.
"""

from __future__ import annotations

import sqlite3


class StoreError(Exception):
    """The database cannot be used as asked: too new a schema, inconsistent effects, bad data."""


# SQLite's primary result codes that say the data itself was refused: the same effects will
# be refused however often they are tried.
_REFUSED_DATA = frozenset(
    {
        sqlite3.SQLITE_CONSTRAINT,
        sqlite3.SQLITE_MISMATCH,
        sqlite3.SQLITE_TOOBIG,
        sqlite3.SQLITE_RANGE,
    }
)


def refused_for_good(error: BaseException) -> bool:
    """Whether `error`, raised while persisting some effects, is about those effects (a
    constraint violated, an item or meeting that is not there, a value SQLite cannot hold):
    trying them again can never succeed.

    Everything else is taken to be about the database as a whole and to pass (a full disk,
    an I/O error, a lock held by another connection): the effects are kept and tried again,
    which is also the safe reading of a failure nobody foresaw."""
    if isinstance(error, StoreError | sqlite3.IntegrityError | sqlite3.DataError):
        return True
    if isinstance(error, sqlite3.InterfaceError):  # a value of a type SQLite cannot bind
        return True
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _REFUSED_DATA
    # From turning an effect into rows (bot/store/writes.py, codec.py): a bad value.
    return isinstance(error, TypeError | ValueError)

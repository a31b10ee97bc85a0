"""The one exception type the store raises for its own reasons.

SQLite's own errors (`sqlite3.Error`, e.g. a full disk or a constraint violation) pass through
unchanged so callers can tell them apart; this module must not wrap or hide them.
"""


class StoreError(Exception):
    """The database cannot be used as asked: too new a schema, inconsistent effects, bad data."""

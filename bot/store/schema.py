"""The database schema and its migrations, versioned by `PRAGMA user_version`.

`MIGRATIONS[i]` takes a database from version `i` to `i + 1`; a new schema change is a new
entry appended at the end, never an edit of an old one. A database newer than this code is
refused, never touched. This module knows tables, not meetings: it must not read or write rows.
"""

from __future__ import annotations

import aiosqlite

from bot.store.db import rollback, run, scalar
from bot.store.errors import StoreError

Migration = tuple[str, ...]

_V1: Migration = (
    """
    CREATE TABLE meetings (
        id              INTEGER PRIMARY KEY,
        network         TEXT NOT NULL,
        channel         TEXT NOT NULL,
        name            TEXT NOT NULL,
        topic           TEXT,
        owner           TEXT NOT NULL,
        owner_account   TEXT,
        timezone        TEXT NOT NULL,
        started_at      TEXT NOT NULL,
        ended_at        TEXT,
        length_minutes  INTEGER NOT NULL,
        info_url        TEXT NOT NULL,
        bot_nick        TEXT NOT NULL,
        casemapping     TEXT NOT NULL,
        restricted      INTEGER NOT NULL CHECK (restricted IN (0, 1)),
        lurking         INTEGER NOT NULL CHECK (lurking IN (0, 1)),
        file_base       TEXT UNIQUE,
        publish_pending INTEGER NOT NULL DEFAULT 0 CHECK (publish_pending IN (0, 1)),
        published_at    TEXT
    )
    """,
    "CREATE INDEX meetings_running ON meetings (id) WHERE ended_at IS NULL",
    "CREATE INDEX meetings_pending ON meetings (id) WHERE publish_pending = 1",
    """
    CREATE TABLE chairs (
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        position   INTEGER NOT NULL,
        nick       TEXT NOT NULL,
        account    TEXT,
        PRIMARY KEY (meeting_id, position)
    )
    """,
    """
    CREATE TABLE lines (
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        n          INTEGER NOT NULL,
        time       TEXT NOT NULL,
        nick       TEXT NOT NULL,
        kind       TEXT NOT NULL,
        text       TEXT NOT NULL,
        PRIMARY KEY (meeting_id, n)
    )
    """,
    """
    CREATE TABLE items (
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        id         INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        text       TEXT NOT NULL,
        nick       TEXT NOT NULL,
        time       TEXT NOT NULL,
        line       INTEGER NOT NULL,
        url        TEXT,
        removed    INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
        PRIMARY KEY (meeting_id, id)
    )
    """,
    """
    CREATE TABLE votes (
        meeting_id  INTEGER NOT NULL REFERENCES meetings (id),
        id          INTEGER NOT NULL,
        question    TEXT NOT NULL,
        options     TEXT NOT NULL,
        ballots     TEXT NOT NULL,
        opened_by   TEXT NOT NULL,
        opened_at   TEXT NOT NULL,
        opened_line INTEGER NOT NULL,
        closed_at   TEXT,
        closed_line INTEGER,
        PRIMARY KEY (meeting_id, id)
    )
    """,
    """
    CREATE TABLE named (
        id         INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        nick       TEXT NOT NULL,
        line       INTEGER NOT NULL
    )
    """,
    "CREATE INDEX named_meeting ON named (meeting_id)",
    """
    CREATE TABLE presence (
        id         INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        time       TEXT NOT NULL,
        kind       TEXT NOT NULL,
        nick       TEXT NOT NULL,
        detail     TEXT NOT NULL
    )
    """,
    "CREATE INDEX presence_meeting ON presence (meeting_id)",
    """
    CREATE TABLE gaps (
        id         INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        started_at TEXT NOT NULL,
        ended_at   TEXT NOT NULL,
        reason     TEXT NOT NULL
    )
    """,
    "CREATE INDEX gaps_meeting ON gaps (meeting_id)",
)

# Effects the database refused for good (a constraint violated, a meeting that is not there),
# set aside whole so that the rest of the recording goes on; nothing reads them back by itself.
_V2_QUARANTINE: Migration = (
    """
    CREATE TABLE quarantine (
        id         INTEGER PRIMARY KEY,
        time       TEXT NOT NULL,
        meeting_id INTEGER,
        effect     TEXT NOT NULL,
        content    TEXT NOT NULL,
        error      TEXT NOT NULL
    )
    """,
)

# The channel topic a meeting started with, so the end restores it even after a restart.
_V3_SAVED_TOPIC: Migration = ("ALTER TABLE meetings ADD COLUMN saved_topic TEXT",)

# Between meetings: #success/#thanks, and the outbox of announcements still to deliver.
_V4_FOLLOWUP: Migration = (
    """
    CREATE TABLE successes (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL CHECK (kind IN ('success', 'thanks')),
        time       TEXT NOT NULL,
        network    TEXT NOT NULL,
        channel    TEXT NOT NULL,
        nick       TEXT NOT NULL,
        account    TEXT,
        text       TEXT NOT NULL,
        meeting_id INTEGER REFERENCES meetings (id)
    )
    """,
    "CREATE INDEX successes_by_time ON successes (kind, time)",
    """
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        delivery_id     TEXT NOT NULL UNIQUE,
        receiver        TEXT NOT NULL,
        event           TEXT NOT NULL,
        payload         TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sent', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error      TEXT,
        sent_at         TEXT
    )
    """,
    "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending'",
)

# Whether a meeting was held in a `private = true` channel, kept with the meeting so the web
# archive can leave it out even after the channel's configuration changes; and the indexes
# the archive's listings (by series, by date) read meetings through. Meetings are few next
# to lines, so these cost the recording nothing measurable.
_V5_ARCHIVE: Migration = (
    "ALTER TABLE meetings ADD COLUMN private INTEGER NOT NULL DEFAULT 0 CHECK (private IN (0, 1))",
    "CREATE INDEX meetings_series ON meetings (network, name, started_at)",
    "CREATE INDEX meetings_started ON meetings (started_at)",
)

# Version 6: the searchable archive. `archive` holds one row per meeting in the index; its
# `key` ((2**33 - start second) * 64 + a slot for meetings starting in the same second)
# orders meetings newest first, and every indexed line's rowid in `search` is
# `key << 20 | (2**20 - 1 - n)`, so the index's own rowid order is newest first: "newest
# first" and date ranges are rowid ranges that FTS5 walks forwards, without sorting.
# `search` is contentless (the text lives in `lines`); the kind a line made is kept in
# `search_kinds`, since deleting a row from a contentless index needs the values it was
# indexed with. Meetings already published (and public: `private` comes from version 5)
# are indexed here.
_INDEXED_LINE_LIMIT = 1 << 20
# Prefix queries of this many letters read a table of their own in the index; others expand
# every matching word (slower, more so the shorter the prefix).
PREFIX_INDEX = 4
_SEARCH_TABLE = f"""
    CREATE VIRTUAL TABLE search USING fts5 (
        nick, text, kind, content = '', prefix = '{PREFIX_INDEX:d}',
        tokenize = 'unicode61 remove_diacritics 2'
    )
    """
_INDEX_ARCHIVED_LINES = """
    INSERT INTO search (rowid, nick, text, kind)
    SELECT (a.key << 20) | (1048575 - l.n), l.nick, l.text, COALESCE(k.kind, '')
    FROM archive AS a JOIN lines AS l ON l.meeting_id = a.meeting_id
    LEFT JOIN search_kinds AS k ON k.id = (a.key << 20) | (1048575 - l.n)
    WHERE l.n BETWEEN 1 AND a.upto
    ORDER BY 1
    """
_V6_SEARCH: Migration = (
    "ALTER TABLE meetings ADD COLUMN redacted_at TEXT",
    # An import asks "is this meeting already here?" once per meeting.
    "CREATE INDEX meetings_identity ON meetings (network, channel, started_at)",
    """
    CREATE TABLE archive (
        key        INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL UNIQUE REFERENCES meetings (id),
        network    TEXT NOT NULL,
        channel    TEXT NOT NULL,
        name       TEXT NOT NULL,
        upto       INTEGER NOT NULL
    )
    """,
    "CREATE INDEX archive_series ON archive (name, key)",
    "CREATE TABLE search_kinds (id INTEGER PRIMARY KEY, kind TEXT NOT NULL)",
    _SEARCH_TABLE,
    """
    CREATE TABLE redactions (
        id         INTEGER PRIMARY KEY,
        at         TEXT NOT NULL,
        what       TEXT NOT NULL CHECK (what IN ('line', 'meeting', 'person')),
        network    TEXT,
        meeting_id INTEGER,
        line       INTEGER,
        pseudonym  TEXT,
        reason     TEXT NOT NULL
    )
    """,
    f"""
    INSERT INTO archive (key, meeting_id, network, channel, name, upto)
    SELECT (8589934592 - CAST(strftime('%s', started_at) AS INTEGER)) * 64
            + ROW_NUMBER() OVER (PARTITION BY strftime('%s', started_at) ORDER BY id) - 1,
        id, network, lower(channel), name,
        MIN((SELECT COALESCE(MAX(n), 0) FROM lines WHERE meeting_id = meetings.id),
            {_INDEXED_LINE_LIMIT - 1:d})
    FROM meetings WHERE restricted = 0 AND private = 0 AND published_at IS NOT NULL
    """,
    f"""
    INSERT INTO search_kinds (id, kind)
    SELECT (a.key << 20) | (1048575 - i.line), i.kind FROM archive AS a
    JOIN (SELECT meeting_id, line, kind, MIN(id) FROM items WHERE removed = 0
          GROUP BY meeting_id, line) AS i ON i.meeting_id = a.meeting_id
    WHERE i.line BETWEEN 1 AND {_INDEXED_LINE_LIMIT - 1:d}
    """,
    _INDEX_ARCHIVED_LINES,
)

# Version 7: the index without its column sizes (`columnsize = 0`). Only FTS5's bm25 reads
# them, and search ranks the newest matches itself (bot/store/search.py); keeping them cost
# a row per indexed line, a fifth of what indexing a line costs. The index is built again
# from the rows version 6 keeps beside it (which meetings, up to which line, which kinds).
_V7_NO_COLUMN_SIZES: Migration = (
    "DROP TABLE search",
    _SEARCH_TABLE.replace("content = ''", "content = '', columnsize = 0"),
    _INDEX_ARCHIVED_LINES,
)


MIGRATIONS: tuple[Migration, ...] = (
    _V1,
    _V2_QUARANTINE,
    _V3_SAVED_TOPIC,
    _V4_FOLLOWUP,
    _V5_ARCHIVE,
    _V6_SEARCH,
    _V7_NO_COLUMN_SIZES,
)
SCHEMA_VERSION = len(MIGRATIONS)


async def user_version(conn: aiosqlite.Connection) -> int:
    return int(await scalar(conn, "PRAGMA user_version"))


def check_version(found: int, known: int = SCHEMA_VERSION) -> None:
    """Refuse a database written by a newer Gavel: it may hold data this code would lose."""
    if found > known:
        raise StoreError(
            f"database schema version {found} is newer than this Gavel "
            f"(knows up to {known}); upgrade Gavel"
        )
    if found < 0:
        raise StoreError(f"database schema version {found} is not valid")


async def migrate(
    conn: aiosqlite.Connection, migrations: tuple[Migration, ...] = MIGRATIONS
) -> int:
    """Bring the database up to `len(migrations)`, one transaction per step, and return the
    version reached."""
    check_version(await user_version(conn), len(migrations))
    for _ in range(len(migrations) + 1):
        if not await _migrate_one(conn, migrations):
            return await user_version(conn)
    raise StoreError("schema migration did not finish")  # unreachable unless the file changes


async def _migrate_one(conn: aiosqlite.Connection, migrations: tuple[Migration, ...]) -> bool:
    """Apply the next migration, if any; False when already up to date. The version is read
    again under the write lock so two processes opening a new file do not both migrate it."""
    await run(conn, "BEGIN IMMEDIATE")
    try:
        version = await user_version(conn)
        check_version(version, len(migrations))
        if version < len(migrations):
            for statement in migrations[version]:
                await run(conn, statement)
            # PRAGMA takes no parameters; `version` is an int we read, not outside input.
            await run(conn, f"PRAGMA user_version = {version + 1:d}")
        await run(conn, "COMMIT")
    except BaseException:
        await rollback(conn)
        raise
    return version < len(migrations)

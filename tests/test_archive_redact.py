"""`gavel redact` line / meeting / person on a real imported meeting with its files: the
database, the files (anchors unchanged), the index, the audit trail, and doing it twice."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.core.effects import Effect
from bot.store import Store
from tests.archivekit import config, eavesdrop_path, gavel, meeting_log, rows, write
from tests.corekit import Room

START = datetime(2014, 3, 6, 14, 0, 0, tzinfo=UTC)
SAID = [
    ("alice", "#chair bob"),
    ("bob", "#topic Stable branch"),
    ("carol", "bobby says the gate is green"),
    ("alice", "#action bob to backport the frobnication"),
    ("bob", "#startvote Release now? Yes, No"),
    ("bob", "#vote Yes"),
    ("carol", "#vote No"),
    ("bob", "#endvote"),
    ("carol", "thanks bob, and bob: see you"),
]
ACTION_LINE = 7  # #startmeeting, two bot lines, then SAID


def imported(tmp_path: Path) -> tuple[Path, Path]:
    write(eavesdrop_path(tmp_path / "logs", "nova", START), meeting_log("nova", START, SAID))
    cfg = config(tmp_path)
    ran = gavel(
        "import",
        "--config",
        cfg,
        "--channel",
        "#openstack-meeting",
        "--write-files",
        tmp_path / "logs",
    )
    assert ran.code == 0, ran.err
    return cfg, tmp_path / "gavel.sqlite3"


def files(tmp_path: Path) -> dict[str, str]:
    """The meetings' own files (the static indexes are looked at on their own)."""
    found = (tmp_path / "out").rglob("*.*")
    return {p.name: p.read_text(encoding="utf-8") for p in found if p.name != "index.html"}


def indexes(tmp_path: Path) -> dict[str, str]:
    """The static `index.html` pages, by path under the output directory."""
    out = tmp_path / "out"
    return {str(p.relative_to(out)): p.read_text("utf-8") for p in out.rglob("index.html")}


def minutes_text(found: dict[str, str]) -> str:
    return next(t for n, t in found.items() if n.endswith(".txt") and not n.endswith(".log.txt"))


def anchors(html: str) -> list[str]:
    return re.findall(r'id="(l-\d+)"', html)


def indexed_terms(db: Path) -> set[str]:
    """Every term the full-text index still holds, read from the index itself."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, search, 'row')")
        return {r[0] for r in conn.execute("SELECT term FROM temp.terms")}
    finally:
        conn.close()


def index_bytes(db: Path) -> bytes:
    """The raw pages of the full-text index (its terms are stored there, prefix-compressed)."""
    return b"".join(bytes(r[0]) for r in rows(db, "SELECT block FROM search_data"))


def total(cfg: Path, query: str) -> int:
    ran = gavel("search", "--config", cfg, query, "--json")
    assert ran.code == 0, ran.err
    count: int = json.loads(ran.out)["total"]
    return count


def test_redacting_a_line(tmp_path: Path) -> None:
    cfg, db = imported(tmp_path)
    before = files(tmp_path)
    assert total(cfg, "frobnication") == 1 and "frobnication" in indexed_terms(db)
    assert b"nication" in index_bytes(db)
    ran = gavel(
        "redact", "--config", cfg, "line", "1", str(ACTION_LINE), "--reason", "asked by bob"
    )
    assert (ran.code, ran.out) == (0, "redacted line of meeting 1\n")
    after = files(tmp_path)
    log_name = next(n for n in after if n.endswith(".log.txt"))
    log_lines = after[log_name].splitlines()
    assert log_lines[ACTION_LINE - 1] == "14:00:40 <alice> [redacted]"
    assert log_lines[: ACTION_LINE - 1] == before[log_name].splitlines()[: ACTION_LINE - 1]
    html_name = next(n for n in after if n.endswith(".log.html"))
    assert anchors(after[html_name]) == anchors(before[html_name])
    assert all("frobnication" not in text for text in after.values())
    assert "bob to backport" not in minutes_text(after)
    assert "bob to backport" in minutes_text(before)
    assert total(cfg, "frobnication") == 0 and total(cfg, "backport") == 0
    assert "frobnication" not in indexed_terms(db)
    assert b"nication" not in index_bytes(db)  # gone from the index's bytes, not just hidden
    assert total(cfg, "kind:action") == 0
    assert rows(db, "SELECT text, removed FROM items WHERE line = ?", (ACTION_LINE,)) == [
        ("[redacted]", 1)
    ]
    audit = rows(db, "SELECT what, network, meeting_id, line, pseudonym, reason FROM redactions")
    assert audit == [("line", None, 1, ACTION_LINE, None, "asked by bob")]
    again = gavel("redact", "--config", cfg, "line", "1", str(ACTION_LINE), "--reason", "again")
    assert (again.code, again.out) == (0, "nothing to redact: already done\n")
    assert files(tmp_path) == after
    assert len(rows(db, "SELECT * FROM redactions")) == 1


def database_bytes(db: Path) -> bytes:
    """Every byte of the database's files: the database, its write-ahead log and its index."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def test_a_redacted_text_is_gone_from_every_byte_of_the_database(tmp_path: Path) -> None:
    # With another process in the database (the bot, the web), closing the command's own
    # connection does not copy the log into the database: the command must, and the text
    # as it was must be neither in the database file nor in its log.
    cfg, db = imported(tmp_path)
    assert b"frobnication" in database_bytes(db)
    other = sqlite3.connect(db)
    try:
        assert other.execute("SELECT COUNT(*) FROM lines").fetchone()[0] > ACTION_LINE
        ran = gavel("redact", "--config", cfg, "line", "1", str(ACTION_LINE), "--reason", "x")
        assert (ran.code, ran.err) == (0, "")
        assert b"frobnication" not in database_bytes(db)
        assert b"backport" not in database_bytes(db)
        # ...and the other process reads the redacted line.
        got = other.execute("SELECT text FROM lines WHERE n = ?", (ACTION_LINE,)).fetchone()
        assert got == ("[redacted]",)
    finally:
        other.close()


def test_a_reader_holding_the_log_is_named_and_the_redaction_stands(tmp_path: Path) -> None:
    # A reader in the middle of a long read keeps the log from being emptied: the command
    # waits half a second, says so, and the redaction itself is done all the same.
    cfg, db = imported(tmp_path)
    reader = sqlite3.connect(db, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM lines").fetchone()[0] > ACTION_LINE
        ran = gavel("redact", "--config", cfg, "line", "1", str(ACTION_LINE), "--reason", "x")
        assert ran.code == 0
        assert "write-ahead log still holds pages as they were before" in ran.err
    finally:
        reader.close()
    assert rows(db, "SELECT text FROM lines WHERE n = ?", (ACTION_LINE,)) == [("[redacted]",)]
    assert total(cfg, "frobnication") == 0


def test_redacting_a_meeting(tmp_path: Path) -> None:
    cfg, db = imported(tmp_path)
    listed = indexes(tmp_path)  # the import wrote them: the top index and the series'
    assert sorted(listed) == ["index.html", "nova/index.html"]
    assert "nova" in listed["index.html"]
    ran = gavel("redact", "--config", cfg, "meeting", "1", "--reason", "off the record")
    assert (ran.code, ran.out) == (0, "redacted meeting of meeting 1\n")
    assert files(tmp_path) == {}
    left = indexes(tmp_path)  # the series had only this meeting: its index is gone
    assert sorted(left) == ["index.html"] and "nova" not in left["index.html"]
    assert total(cfg, "gate") == 0 and total(cfg, "kind:topic") == 0
    assert "frobnication" not in indexed_terms(db)
    for table in ("lines", "items", "votes", "chairs", "named", "presence"):
        assert rows(db, f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    assert rows(db, "SELECT redacted_at IS NOT NULL, topic, owner FROM meetings") == [
        (1, None, "[redacted]")
    ]
    assert gavel("regenerate", "--config", cfg, "--all").code == 0
    assert files(tmp_path) == {}  # nothing written back
    again = gavel("redact", "--config", cfg, "meeting", "1", "--reason", "again")
    assert (again.code, again.out) == (0, "nothing to redact: already done\n")
    audit = rows(db, "SELECT what, meeting_id, reason FROM redactions")
    assert audit == [("meeting", 1, "off the record")]


def test_redacting_a_person(tmp_path: Path) -> None:
    cfg, db = imported(tmp_path)
    before = files(tmp_path)
    ran = gavel("redact", "--config", cfg, "person", "oftc", "Bob", "--reason", "GDPR request")
    assert ran.code == 0, ran.err
    pseudonym = re.fullmatch(r"redacted Bob as (person-[0-9a-f]{4}) in 1 meetings\n", ran.out)
    assert pseudonym is not None
    name = pseudonym.group(1)
    after = files(tmp_path)
    bob = re.compile(r"(?<![\w-])bob(?![\w-])", re.IGNORECASE)
    for file_name, text in after.items():
        assert not bob.search(text), file_name
        if file_name.endswith((".log.txt", ".log.html", ".json")):
            assert "bobby says" in text, file_name
        assert name in text, file_name
    html_name = next(n for n in after if n.endswith(".log.html"))
    assert anchors(after[html_name]) == anchors(before[html_name])
    record = json.loads(after[next(n for n in after if n.endswith(".json"))])
    assert name in json.dumps(record["chairs"]) and name in json.dumps(record["votes"])
    assert total(cfg, "from:bob") == 0 and total(cfg, "bob") == 0
    assert total(cfg, f"from:{name}") == 4
    assert total(cfg, "bobby") == 1
    audit = rows(db, "SELECT what, network, meeting_id, pseudonym, reason FROM redactions")
    assert audit == [("person", "oftc", None, name, "GDPR request")]
    assert "bob" not in json.dumps(rows(db, "SELECT * FROM redactions")).lower()
    again = gavel("redact", "--config", cfg, "person", "oftc", "bob", "--reason", "again")
    assert (again.code, again.out) == (0, "nothing to redact: already done\n")
    assert files(tmp_path) == after


def test_a_running_meeting_or_a_missing_one_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path)

    async def running() -> None:
        async with await Store.open(tmp_path / "gavel.sqlite3") as store:
            room = Room(channel="#openstack-meeting")
            effects: list[Effect] = []
            effects += room.say("alice", "#startmeeting plans")
            effects += room.say("alice", "secret plans")
            await store.apply(effects)

    asyncio.run(running())
    ((meeting_id,),) = rows(tmp_path / "gavel.sqlite3", "SELECT id FROM meetings")
    ran = gavel("redact", "--config", cfg, "line", str(meeting_id), "2", "--reason", "x")
    assert (ran.code, ran.err) == (
        2,
        f"gavel: meeting {meeting_id} is still running; redact it once it has ended\n",
    )
    missing = gavel("redact", "--config", cfg, "meeting", "99999", "--reason", "x")
    assert (missing.code, missing.err) == (2, "gavel: no meeting 99999\n")

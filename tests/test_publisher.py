"""Publishing in the service: one owner of file names, decided once per meeting and recorded
before the files are written; files go where the channel's configuration says; the reply
and `gavel meetings` name the files that exist."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from bot import app
from bot.config_loader import parse_settings
from bot.core.effects import Effect, Publish, Say, SetTopic
from bot.core.events import Event, MessageSeen
from bot.core.state import World
from bot.engine import Engine
from bot.followup import Followup
from bot.publishing import GroupSync, Publishing
from bot.settings import AnnounceSettings, Settings, WebhookSettings
from bot.store import Store, StoreError
from bot.writers.paths import EXTENSIONS, relative_base
from bot.writers.publish import PublishedFiles, write_meeting_files
from tests.corekit import Room

URL = "http://example.org/m/"
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def settings(tmp_path: Path) -> Settings:
    return parse_settings(
        {
            "networks": [
                {
                    "name": "net",
                    "host": "127.0.0.1",
                    "channels": ["#open", {"name": "#secret", "private": True}],
                }
            ],
            "output": {
                "dir": str(tmp_path / "public"),
                "private_dir": str(tmp_path / "private"),
                "url_prefix": URL,
            },
        }
    )


async def ended_meeting(store: Store, channel: str) -> Publish:
    room = Room(channel=channel)
    effects: list[Effect] = []
    effects += room.say("alice", "#startmeeting plans")
    effects += room.say("alice", "#endmeeting")
    await store.apply(effects)
    (publish,) = [e for e in effects if isinstance(e, Publish)]
    return publish


async def test_private_channels_publish_to_the_private_dir(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publishing = Publishing(settings(tmp_path), store)
        secret = await publishing.write((await ended_meeting(store, "#secret")).meeting)
        public = await publishing.write((await ended_meeting(store, "#open")).meeting)
        assert all(p.is_relative_to(tmp_path / "private") for p in secret.paths)
        assert all(p.is_relative_to(tmp_path / "public") for p in public.paths)
        assert await store.pending_publishes() == []


class ChannelSender:
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    def perform(self, effect: Say | SetTopic) -> None:
        if isinstance(effect, Say):
            self.said.append((effect.target, effect.text))


def said(n: int, channel: str, text: str) -> MessageSeen:
    return MessageSeen("net", START + timedelta(seconds=n), n, channel, "alice", text, "gavel")


async def test_a_private_meeting_shows_its_real_path_in_the_listing_and_the_reply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A public and a private meeting of one name in one minute: the same relative name in
    # two directories. The database holds one name per meeting, so one of them takes -2,
    # and that is where its files must be too.
    config = settings(tmp_path)
    async with await Store.open(config.storage.path) as store:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        sender = ChannelSender()
        publishing = Publishing(config, store, report=queue.put_nowait)
        engine = Engine(World(), queue, store, {"net": sender}, publishing)
        for n, channel, text in [
            (1, "#open", "#startmeeting plans"),
            (2, "#open", "#endmeeting"),
            (3, "#secret", "#startmeeting plans"),
            (4, "#secret", "#endmeeting"),
        ]:
            queue.put_nowait(said(n, channel, text))
            await engine.drain()
    capsys.readouterr()
    assert await app.list_meetings(config, 10) == 0
    listed = {
        row.split()[5].split("/")[1]: row.split()[-1]
        for row in capsys.readouterr().out.splitlines()
        if re.match(r"\s*\d+\s+ended\s", row)
    }
    minutes = {
        target: text.split()[-1] for target, text in sender.said if text.startswith("Minutes:  ")
    }
    assert set(listed) == set(minutes) == {"#open", "#secret"}
    root = {"#open": tmp_path / "public", "#secret": tmp_path / "private"}
    for channel, path in listed.items():
        base = Path(path).relative_to(root[channel])
        assert Path(path + ".html").is_file()  # the listing names files that exist
        assert minutes[channel] == f"{URL}{base}.html"  # and so does the reply
        data = json.loads(Path(path + ".json").read_text(encoding="utf-8"))
        assert data["channel"] == channel
    assert sorted(str(Path(p).relative_to(root[c])) for c, p in listed.items()) == [
        "plans/2024/plans.2024-05-01-12.00",
        "plans/2024/plans.2024-05-01-12.00-2",
    ]


async def test_the_name_is_recorded_before_the_files_are_written(tmp_path: Path) -> None:
    blocker = tmp_path / "public"
    blocker.write_text("not a directory")  # the files cannot be written
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publishing = Publishing(settings(tmp_path), store)
        publish = await ended_meeting(store, "#open")
        with pytest.raises(OSError):
            await publishing.write(publish.meeting)
        chosen = await store.file_base(publish.meeting.id)
        assert chosen == "plans/2013/plans.2013-01-09-20.01"
        blocker.unlink()
        files = await publishing.write(publish.meeting)
        assert files.base == chosen


async def test_meetings_ending_together_get_distinct_names_in_the_database_and_on_disk(
    tmp_path: Path,
) -> None:
    # Eight meetings of one channel, name and minute, published at the same moment.
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        reported: list[object] = []
        publishing = Publishing(settings(tmp_path), store, report=reported.append)
        publishes = []
        for _ in range(8):
            room = Room(channel="#open")
            effects = room.say("alice", "#startmeeting plans") + room.say("alice", "#endmeeting")
            await store.apply(effects)
            publishes += [e for e in effects if isinstance(e, Publish)]
        for publish in publishes:
            publishing.submit(publish)
        await publishing.finish()
        held = {p.meeting.id: await store.file_base(p.meeting.id) for p in publishes}
    assert len(reported) == 8
    assert len(set(held.values())) == 8
    for meeting_id, base in held.items():
        assert base is not None
        data = json.loads((tmp_path / "public" / (base + ".json")).read_text(encoding="utf-8"))
        assert data["id"] == meeting_id
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM meetings WHERE publish_pending = 1").fetchone() == (
            0,
        )
    assert not [p for p in (tmp_path / "public").rglob(".gavel-*")]
    assert all(
        re.fullmatch(r"plans/2013/plans\.2013-01-09-20\.01(-[2-8])?", b or "")
        for b in held.values()
    )


async def test_publishes_written_together_are_made_durable_by_one_sync(tmp_path: Path) -> None:
    # Files are derived data: a batch of publishes is synced together (one syncfs of the
    # output's file system), not file by file.
    output = settings(tmp_path).output
    batch = []
    for n in range(6):
        room = Room(channel="#open")
        room.say("alice", f"#startmeeting plans{n}")
        (publish,) = [e for e in room.say("alice", "#endmeeting") if isinstance(e, Publish)]
        base = f"plans{n}/meeting"
        batch.append(write_meeting_files(publish.meeting, output, base, durable=False))
    with ThreadPoolExecutor(1) as threads:
        group = GroupSync(threads)
        await asyncio.gather(*(group.sync(files) for files in batch))
        assert group.syncs == 1
        await group.sync(batch[0])  # a later publish waits for a sync of its own
        assert group.syncs == 2


async def test_a_failed_sync_fails_its_whole_batch_and_nothing_is_noted(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publishing = Publishing(settings(tmp_path), store)
        publish = await ended_meeting(store, "#open")
        files = await publishing.write(publish.meeting)
        gone = PublishedFiles("x", (), "x", directories=(tmp_path / "removed meanwhile",))
        results = await asyncio.gather(
            publishing.synced.sync(files), publishing.synced.sync(gone), return_exceptions=True
        )
        assert [type(r) for r in results] == [FileNotFoundError, FileNotFoundError]
        assert publishing.synced.syncs == 1  # only the first publish's own sync


async def test_files_written_but_not_synced_are_written_again_at_the_next_start(
    tmp_path: Path,
) -> None:
    # A crash between the rename and the sync leaves files in place that the store does not
    # note as published: the next start writes them again, and only then notes them.
    config = settings(tmp_path)
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        publish = await ended_meeting(store, "#open")
        candidate = relative_base(publish.meeting, config.output.pattern)
        base = await store.reserve_file_base(publish.meeting.id, candidate)
        stale = write_meeting_files(publish.meeting, config.output, base, durable=False)
        for path in stale.paths:
            path.write_text("as a machine crash may leave it\n")
        assert await store.pending_publishes() == [publish.meeting.id]
        await Publishing(config, store).finish_interrupted()
        assert await store.pending_publishes() == []
        data = json.loads(stale.paths[EXTENSIONS.index(".json")].read_text(encoding="utf-8"))
        assert data["id"] == publish.meeting.id


async def test_an_ended_meeting_is_announced_in_the_transaction_that_notes_its_files(
    tmp_path: Path,
) -> None:
    hooks = AnnounceSettings(email=None, webhooks=(WebhookSettings("http://127.0.0.1:1/h", "s"),))
    config = replace(settings(tmp_path), announce=hooks)
    async with await Store.open(tmp_path / "g.sqlite3") as store:
        followup = Followup(config, store, asyncio.Queue())
        publishing = Publishing(config, store, followup=followup)
        publish = await ended_meeting(store, "#open")
        meeting = publish.meeting
        await publishing.write(meeting)  # files only (a #save's kind of write)
        assert await store.deliveries(("pending",)) == []
        files = await publishing.write(meeting, complete=True)
        [queued] = await store.deliveries(("pending",))
        assert queued.event == "meeting.complete"
        assert json.loads(queued.payload)["url"] == files.url_base + ".html"
        await publishing.write(meeting, complete=True)  # done again after a crash: same row
        assert [d.delivery_id for d in await store.deliveries(("pending",))] == [queued.delivery_id]
        # announcements and the note that the files are written go together or not at all
        # (a meeting waiting for its files, and an announcement the outbox refuses)
        other = (await ended_meeting(store, "#open")).meeting
        assert other.id in await store.pending_publishes()
        [announce] = followup.completion(other, "http://elsewhere/m", "minutes")
        refused = replace(announce, created=datetime(2024, 5, 1))  # naive: never stored
        with pytest.raises(StoreError):
            await store.mark_published(other.id, datetime.now(UTC), None, [refused])
        assert other.id in await store.pending_publishes()  # its note went with it
        assert len(await store.deliveries(("pending",))) == 1


async def test_a_meeting_noted_published_is_searchable_and_a_refused_index_holds_nothing_up(
    tmp_path: Path,
) -> None:
    hooks = AnnounceSettings(email=None, webhooks=(WebhookSettings("http://127.0.0.1:1/h", "s"),))
    config = replace(settings(tmp_path), announce=hooks)
    database = tmp_path / "g.sqlite3"

    def indexed(meeting_id: int) -> list[tuple[int]]:
        with sqlite3.connect(database) as conn:
            return conn.execute(
                "SELECT upto FROM archive WHERE meeting_id = ?", (meeting_id,)
            ).fetchall()

    async with await Store.open(database) as store:
        followup = Followup(config, store, asyncio.Queue())
        publishing = Publishing(config, store, followup=followup, indexes=False)
        meeting = (await ended_meeting(store, "#open")).meeting
        await publishing.write(meeting, complete=True)
        # Noted, announced and searchable, in one transaction.
        assert meeting.id not in await store.pending_publishes()
        assert indexed(meeting.id) == [(len(meeting.lines),)]
        assert len(await store.deliveries(("pending",))) == 1
        # The search index refuses the next meeting: its files are still noted and its
        # announcement queued; only its search entry waits, and the refusal is logged.
        other = (await ended_meeting(store, "#open")).meeting
        with sqlite3.connect(database) as conn:
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON archive BEGIN "
                "SELECT RAISE(ABORT, 'the index is full'); END"
            )
        with structlog.testing.capture_logs() as logs:
            await publishing.write(other, complete=True)
        assert other.id not in await store.pending_publishes()
        assert len(await store.deliveries(("pending",))) == 2
        assert indexed(other.id) == []
        (refused,) = [e for e in logs if e["event"] == "search_index_failed"]
        assert refused["meeting"] == other.id and "the index is full" in refused["error"]
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER refuse")
        await publishing.write(other, complete=True)  # as `gavel regenerate` does
        assert indexed(other.id) == [(len(other.lines),)]
        publishing.close()

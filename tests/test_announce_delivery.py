"""Announcements delivered to real receivers started here: an HTTP server that refuses and
goes down for a while, and an SMTP server (aiosmtpd). The outbox is a real SQLite file; the
minutes email of a series also goes the whole way from the configuration file through
publishing the meeting's files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.announce import compose
from bot.announce.sender import Sender, retry_delay, signature
from bot.config_loader import load_settings
from bot.core.effects import Effect, Publish
from bot.core.record import MeetingRecord, Success
from bot.followup import Followup
from bot.publishing import Publishing
from bot.settings import AnnounceSettings, EmailSettings, WebhookSettings
from bot.store import Store
from tests.corekit import Room
from tests.receivers import SECRET, HookReceiver, MailReceiver

NOW = datetime.now(UTC) - timedelta(seconds=1)  # queued just now: retrying is young
COMPLETE_KEYS = {
    "id",
    "event",
    "network",
    "meeting_id",
    "location",
    "meeting_name",
    "meeting_topic",
    "start_time",
    "start_user",
    "end_time",
    "end_user",
    "url",
    "json_url",
    "logs",
    "chairs",
    "attendees",
}


def ended_meeting(channel: str = "#chan", name: str = "heat") -> MeetingRecord:
    room = Room(channel=channel)
    room.members("alice", "bob", "meetbot")
    room.say("alice", f"#startmeeting {name}")
    room.say("bob", "hello")
    room.say("alice", "#action bob to test")
    effects = room.say("alice", "#endmeeting")
    [publish] = [e for e in effects if isinstance(e, Publish)]
    return publish.meeting


def settings_for(hook: HookReceiver, mail: MailReceiver | None = None) -> AnnounceSettings:
    email = None
    if mail is not None:
        email = EmailSettings(
            "127.0.0.1", "Gavel <gavel@example.org>", mail.port, "none", to=("team@example.org",)
        )
    return AnnounceSettings(
        email=email,
        webhooks=(WebhookSettings(hook.url, SECRET),),
        timeout=2.0,
        retry_first_delay=0.05,
        retry_max_delay=0.4,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "gavel.sqlite3") as opened:
        yield opened


async def run_until(sender: Sender, done: object, timeout: float) -> None:
    task = asyncio.create_task(sender.run())
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done():  # type: ignore[operator]
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_every_announcement_arrives_through_refusals_and_downtime(store: Store) -> None:
    hook = HookReceiver(refuse=3)
    mail = MailReceiver()
    mail.start()
    try:
        settings = settings_for(hook, mail)
        where = compose.Where("net", "#chan", True, ("extra@example.org",))
        queued = []
        for i in range(5):
            m = replace(ended_meeting(), id=1000 + i)
            queued += compose.meeting_started(settings, m, where, NOW)
            queued += compose.meeting_completed(
                settings, m, where, f"http://x/heat{i}", "minutes text\n", NOW
            )
        success = Success("success", NOW, "net", "#chan", "bob", None, "we did it")
        queued += compose.success_recorded(settings, success, where, NOW)
        await store.apply(queued)
        expected_hooks = {a.delivery_id for a in queued if a.receiver != compose.EMAIL}
        expected_mail = {a.delivery_id for a in queued if a.receiver == compose.EMAIL}
        assert len(expected_hooks) == 11 and len(expected_mail) == 5

        sender = Sender(settings, store)
        # down at first: connection refused, then up and refusing three times with 503
        await run_until(sender, lambda: False, 0.5)
        await hook.start()
        # until every delivery is marked sent (a receiver has it a moment before that)
        await run_until(sender, lambda: sender.sent >= len(queued), 15)
    finally:
        await hook.stop()
        mail.stop()

    assert set(hook.ids()) == expected_hooks
    assert hook.attempts > len(expected_hooks)  # the refusals were retried
    assert all(r.signed for r in hook.received)
    completes = [r.body for r in hook.received if r.event == "meeting.complete"]
    assert len(completes) == 5
    for body in completes:
        assert set(body) == COMPLETE_KEYS
        assert body["event"] == "meeting.complete" and body["location"] == "#chan"
        assert body["end_user"] == "alice" and body["start_user"] == "alice"
        assert [log["log_type"] for log in body["logs"]] == [
            "minutes",
            "minutes_text",
            "log",
            "log_text",
        ]
        assert {"name": "bob", "lines_said": 1} in body["attendees"]
    [said] = [r.body for r in hook.received if r.event == "success"]
    assert (said["nick"], said["text"], said["kind"]) == ("bob", "we did it", "success")

    assert {m["X-Gavel-Delivery"] for m in mail.messages} == expected_mail
    for message in mail.messages:
        delivery = message["X-Gavel-Delivery"]
        assert message["Message-ID"] == f"<{delivery}@gavel>"
        assert message["Subject"] == "[heat] Meeting minutes 2013-01-09"
        assert message["X-Envelope-To"] == "team@example.org, extra@example.org"
        assert "minutes text" in message.get_payload()
    assert await store.deliveries(("pending", "failed")) == []


async def test_retries_go_on_after_a_restart(tmp_path: Path) -> None:
    hook = HookReceiver()
    path = tmp_path / "gavel.sqlite3"
    settings = settings_for(hook)
    m = ended_meeting()
    queued = compose.meeting_started(settings, m, compose.Where("net", "#chan", True), NOW)
    async with await Store.open(path) as store:
        await store.apply(queued)
        await run_until(Sender(settings, store), lambda: False, 0.3)  # receiver down
        [row] = await store.deliveries(("pending",))
        assert row.attempts >= 1 and row.last_error
    await hook.start()
    try:
        async with await Store.open(path) as store:  # the bot started again
            again = Sender(settings, store)
            await run_until(again, lambda: again.sent >= 1, 10)
            assert await store.deliveries(("pending", "failed")) == []
    finally:
        await hook.stop()
    assert hook.ids() == [queued[0].delivery_id]


async def test_retrying_lasts_the_configured_hours_then_fails(store: Store) -> None:
    hook = HookReceiver()  # never started: every attempt is refused
    settings = replace(settings_for(hook), retry_for_hours=24.0)
    [announce] = compose.meeting_started(
        settings, ended_meeting(), compose.Where("net", "#chan", True), NOW
    )
    await store.apply([announce])
    clock = [NOW + timedelta(hours=23)]
    sender = Sender(settings, store, clock=lambda: clock[0])
    await run_until(sender, lambda: False, 0.3)
    [row] = await store.deliveries(("pending",))
    assert row.attempts >= 1
    clock[0] = NOW + timedelta(hours=25)
    await store.retry_delivery(row.delivery_id, NOW)
    await run_until(sender, lambda: False, 0.3)
    [failed] = await store.deliveries(("failed",))
    assert failed.last_error


def test_backoff_doubles_up_to_the_cap_and_signature_is_hmac_sha256() -> None:
    assert [retry_delay(n, 30, 3600) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    assert signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_private_and_restricted_meetings_go_only_to_their_channel_receivers() -> None:
    everyone = WebhookSettings("http://127.0.0.1:1/all", "x")
    theirs = WebhookSettings("http://127.0.0.1:1/team", "x", channels=("#Team",))
    other = WebhookSettings("http://127.0.0.1:1/other", "x", channels=("#other",))
    email = EmailSettings("127.0.0.1", "g@example.org", 25, "none", to=("list@example.org",))
    settings = AnnounceSettings(email=email, webhooks=(everyone, theirs, other))

    def receivers(where: compose.Where, restricted: bool = False) -> dict[str, list[str]]:
        m = replace(ended_meeting(where.channel), restricted=restricted)
        got = compose.meeting_completed(settings, m, where, "u", "t", NOW)
        got += compose.meeting_started(settings, m, where, NOW)
        return {
            a.receiver: json.loads(a.payload).get("to", [])
            for a in got
            if a.event == "meeting.complete" or a.receiver != compose.EMAIL
        }

    public = receivers(compose.Where("net", "#team", True, ("team@example.org",)))
    assert set(public) == {
        "email",
        "webhook http://127.0.0.1:1/all",
        "webhook http://127.0.0.1:1/team",
    }
    assert public["email"] == ["list@example.org", "team@example.org"]

    for where in (
        compose.Where("net", "#team", False, ("team@example.org",)),  # a private channel
    ):
        private = receivers(where)
        assert set(private) == {"email", "webhook http://127.0.0.1:1/team"}
        assert private["email"] == ["team@example.org"]
    # #restrictlogs: the same rule, decided from the meeting at its completion
    m = replace(ended_meeting("#team"), restricted=True)
    restricted = compose.meeting_completed(
        settings, m, compose.Where("net", "#team", False, ()), "u", "t", NOW
    )
    assert {a.receiver for a in restricted} == {"webhook http://127.0.0.1:1/team"}
    # a private channel with no receivers of its own is told to nobody
    alone = compose.meeting_completed(
        settings, ended_meeting("#secret"), compose.Where("net", "#secret", False), "u", "t", NOW
    )
    assert alone == []


async def test_a_shared_channel_mails_each_series_to_its_own_list(tmp_path: Path) -> None:
    """OpenStack's case: teams meet one after another in one channel, and each team's
    minutes go to its own list (found through the aliases), besides the global list."""
    mail = MailReceiver()
    config = tmp_path / "gavel.toml"
    config.write_text(
        f"""
[[networks]]
name = "net"
host = "127.0.0.1"
channels = ["#openstack-meeting"]

[output]
dir = "{tmp_path / "meetings"}"
url_prefix = "https://meetings.example.org/"

[archive]
aliases = {{ heat = ["heat_team"] }}

[announce]
retry_first_delay = 0.05
retry_max_delay = 0.4

[announce.email]
host = "127.0.0.1"
port = {mail.port}
security = "none"
from = "Gavel <gavel@example.org>"
to = ["openstack-discuss@example.org"]

[announce.email.series]
heat = ["heat-team@example.org"]
"Nova" = ["nova@lists.example.org", "ptl@example.org"]
""",
        encoding="utf-8",
    )
    settings = load_settings(config)

    def held(*lines: str) -> tuple[list[Effect], MeetingRecord]:
        room = Room(network="net", channel="#openstack-meeting")
        room.members("alice", "bob", "meetbot")
        effects = [e for line in (*lines, "#endmeeting") for e in room.say("alice", line)]
        [publish] = [e for e in effects if isinstance(e, Publish)]
        return effects, publish.meeting

    meetings = [
        held("#startmeeting heat_team", "#topic the gate"),  # heat, by its old name
        held("#startmeeting nova", "#topic cells"),
        held("#startmeeting glance", "#meetingname heat"),  # heat, by the name it ended with
        held("#startmeeting heat", "#restrictlogs"),  # heat, but restricted: no email at all
    ]
    mail.start()
    try:
        async with await Store.open(tmp_path / "gavel.sqlite3") as store:
            followup = Followup(settings, store, asyncio.Queue())
            publishing = Publishing(settings, store, followup=followup, indexes=False)
            for effects, meeting in meetings:
                await store.apply(effects)
                await publishing.write(meeting, complete=True)
            publishing.close()
            queued = await store.deliveries(("pending",))
            assert len(queued) == 3
            sender = Sender(settings.announce, store)
            await run_until(sender, lambda: sender.sent >= len(queued), 15)
            assert await store.deliveries(("pending", "failed")) == []
    finally:
        mail.stop()

    assert len(mail.messages) == 3
    to = {message["Subject"]: message["X-Envelope-To"] for message in mail.messages}
    assert to == {
        "[heat_team] Meeting minutes 2013-01-09": (
            "openstack-discuss@example.org, heat-team@example.org"
        ),
        "[nova] Meeting minutes 2013-01-09": (
            "openstack-discuss@example.org, nova@lists.example.org, ptl@example.org"
        ),
        "[heat] Meeting minutes 2013-01-09": (
            "openstack-discuss@example.org, heat-team@example.org"
        ),
    }
    assert all(m["To"] == m["X-Envelope-To"] for m in mail.messages)

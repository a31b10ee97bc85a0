"""Successes kept, read back and published: the store's reads, the pages and feeds, the
`gavel successes` and `gavel announcements` commands. Real SQLite files, real SMTP server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import html5lib
import pytest

from bench.reliability._hostile import html_findings
from bot import followup
from bot.announce import compose
from bot.cli import main
from bot.config_loader import parse_settings
from bot.core.effects import (
    ItemRecorded,
    ItemRemoved,
    MeetingEnded,
    MeetingStarted,
    SuccessRecorded,
)
from bot.core.record import Item, Success
from bot.settings import AnnounceSettings, EmailSettings, WebhookSettings
from bot.store import Store, StoreError
from bot.writers import successes as pages
from tests.corekit import Room

DAY = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def success(text: str, when: datetime, nick: str = "bob", channel: str = "#chan") -> Success:
    return Success("success", when, "net", channel, nick, None, text)


async def stored_meeting(
    store: Store, start: datetime, *, restricted: bool = False, channel: str = "#chan"
) -> int:
    room = Room(channel=channel, now=start)
    effects = room.say("alice", "#startmeeting heat")
    [started] = [e for e in effects if isinstance(e, MeetingStarted)]
    record = replace(started.meeting, restricted=restricted)
    await store.apply([MeetingStarted(record), MeetingEnded(record.id, start + timedelta(hours=1))])
    await store.reserve_file_base(record.id, f"heat/heat.{record.id}")
    await store.mark_published(record.id, start)
    return record.id


async def test_successes_read_newest_first_with_their_days_meeting(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "g.sqlite3") as store:
        await stored_meeting(store, DAY)
        await store.apply(
            [
                SuccessRecorded(success("before", DAY - timedelta(days=1))),
                SuccessRecorded(success("same day", DAY + timedelta(hours=3))),
                SuccessRecorded(success("elsewhere", DAY, channel="#other")),
            ]
        )
        kept = await store.successes("success")
        assert [s.text for s in kept] == ["same day", "elsewhere", "before"]
        assert [s.log_base is not None for s in kept] == [True, False, False]
        window = await store.successes("success", DAY, DAY + timedelta(days=1))
        assert {s.text for s in window} == {"same day", "elsewhere"}
        assert await store.successes("thanks") == []


async def test_a_restricted_meeting_is_never_linked(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "g.sqlite3") as store:
        await stored_meeting(store, DAY, restricted=True)
        await store.apply([SuccessRecorded(success("quiet", DAY + timedelta(minutes=5)))])
        [kept] = await store.successes("success")
        assert kept.log_base is None


async def test_a_success_and_its_announcements_are_kept_together_or_not_at_all(
    tmp_path: Path,
) -> None:
    settings = AnnounceSettings(
        email=None,
        webhooks=(WebhookSettings("http://127.0.0.1:1/h", "s"),),
    )
    said = success("atomic", DAY)
    queued = compose.success_recorded(settings, said, compose.Where("net", "#chan", True), DAY)
    async with await Store.open(tmp_path / "g.sqlite3") as store:
        with pytest.raises(StoreError):
            await store.apply([SuccessRecorded(said), *queued, ItemRemoved(404, 1)])
        assert await store.successes("success") == []
        assert await store.deliveries(("pending",)) == []
        await store.apply([SuccessRecorded(said), *queued])
        assert len(await store.deliveries(("pending",))) == 1
        await store.apply(queued)  # the same announcement again is the same row
        assert len(await store.deliveries(("pending",))) == 1


def entries() -> list[pages.Entry]:
    return [
        pages.Entry(2, "success", DAY + timedelta(hours=1), "net", "#chan", "eve", "<script>x"),
        pages.Entry(1, "success", DAY, "net", "#chan", "bob", "plain", "http://x/heat.log.html"),
    ]


def test_page_escapes_and_links() -> None:
    page = pages.render_page("success", entries())
    html5lib.HTMLParser(strict=True).parse(page)
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    assert '<a href="http://x/heat.log.html">bob (on #chan)</a>' in page
    assert page.index("eve (on #chan)") < page.index("bob (on #chan)")  # as given: newest first
    assert "2026-11-30 15:00 UTC" in page
    assert page.endswith("</html>\n")
    assert html_findings(page) == dict.fromkeys(
        html_findings(page), 0
    )  # as hostile input is checked


def test_feed_is_atom_with_one_entry_each() -> None:
    feed = pages.render_feed("thanks", entries(), "http://x/thanks.html", DAY)
    root = ET.fromstring(feed.encode())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert root.find("a:title", ns).text == "Thanks"  # type: ignore[union-attr]
    titles = [e.find("a:title", ns).text for e in root.findall("a:entry", ns)]  # type: ignore[union-attr]
    assert titles == ["eve: <script>x", "bob: plain"]
    assert root.find("a:updated", ns).text == "2026-11-30T16:00:00Z"  # type: ignore[union-attr]


def test_formats_for_the_newsletter() -> None:
    oldest_first = list(reversed(entries()))
    assert pages.newsletter(oldest_first) == "• bob: plain\n• eve: <script>x\n"
    assert pages.markdown(oldest_first).splitlines()[0] == (
        "* 2026-11-30 15:00 UTC [bob (on #chan)](http://x/heat.log.html): plain"
    )
    assert [row["nick"] for row in json.loads(pages.as_json(oldest_first))] == ["bob", "eve"]


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "gavel.toml"
    path.write_text(
        f"""[[networks]]
name = "net"
host = "127.0.0.1"
channels = ["#chan"]
[output]
dir = "{tmp_path / "meetings"}"
url_prefix = "http://x/"
[storage]
path = "{tmp_path / "g.sqlite3"}"
{extra}""",
        encoding="utf-8",
    )
    return path


async def _keep(path: Path, items: list[object]) -> None:
    async with await Store.open(path) as store:
        await store.apply(items)  # type: ignore[arg-type]


def test_gavel_successes_prints_the_week_oldest_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    asyncio.run(
        _keep(
            tmp_path / "g.sqlite3",
            [
                SuccessRecorded(success("last week", DAY - timedelta(days=8))),
                SuccessRecorded(success("monday", DAY, "bob")),
                SuccessRecorded(success("sunday", DAY + timedelta(days=6, hours=8), "eve")),
                SuccessRecorded(success("next week", DAY + timedelta(days=7, hours=9))),
            ],
        )
    )
    args = ["successes", "--config", str(config(tmp_path)), "--since", "2026-11-30"]
    assert main([*args, "--until", "2026-12-06"]) == 0
    assert capsys.readouterr().out == "• bob: monday\n• eve: sunday\n"
    assert main([*args, "--until", "2026-12-06", "--format", "json"]) == 0
    assert [r["text"] for r in json.loads(capsys.readouterr().out)] == ["monday", "sunday"]


def test_gavel_announcements_lists_and_retries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from tests.receivers import MailReceiver

    mail = MailReceiver()
    email = EmailSettings("127.0.0.1", "g@example.org", mail.port, "none", to=("l@example.org",))
    room = Room()
    room.members("alice")
    room.say("alice", "#startmeeting heat")
    record = room.say("alice", "#endmeeting")[-1].meeting  # type: ignore[attr-defined]
    [queued] = compose.meeting_completed(
        AnnounceSettings(email=email), record, compose.Where("net", "#chan", True), "u", "t", DAY
    )
    asyncio.run(_keep(tmp_path / "g.sqlite3", [queued]))
    extra = f"""[announce.email]
host = "127.0.0.1"
port = {mail.port}
security = "none"
from = "g@example.org"
to = ["l@example.org"]
"""
    path = config(tmp_path, extra)
    assert main(["announcements", "--config", str(path)]) == 0
    listing = capsys.readouterr().out
    assert queued.delivery_id in listing and "pending" in listing and "email" in listing
    # the server is down: the retry fails and says why
    assert main(["announcements", "--config", str(path), "--retry", queued.delivery_id]) == 1
    assert "failed again" in capsys.readouterr().err
    mail.start()
    try:
        assert main(["announcements", "--config", str(path), "--retry", queued.delivery_id]) == 0
    finally:
        mail.stop()
    assert [m["Message-ID"] for m in mail.messages] == [f"<{queued.delivery_id}@gavel>"]
    assert main(["announcements", "--config", str(path)]) == 0
    assert capsys.readouterr().out.endswith("nothing pending or failed\n")
    assert main(["announcements", "--config", str(path), "--retry", "nope"]) == 2


async def test_previous_meeting_is_the_latest_finished_public_one_of_the_series(
    tmp_path: Path,
) -> None:
    async with await Store.open(tmp_path / "g.sqlite3") as store:
        older = await stored_meeting(store, DAY - timedelta(days=14))
        await stored_meeting(store, DAY - timedelta(days=7), restricted=True)
        actions = [Item(n, "action", f"do {n}", "bob", DAY, n) for n in (10, 11, 12)]
        await store.apply([ItemRecorded(older, a) for a in actions] + [ItemRemoved(older, 11)])
        found = await store.previous_meeting("net", ("heat", "heat_team"), DAY, exclude_id=-1)
        assert found is not None and found.id == older  # the restricted one is skipped
        assert found.actions == ("do 10", "do 12")  # an #undo'd action is not listed
        assert await store.previous_meeting("net", ("nova",), DAY, exclude_id=-1) is None
        assert await store.previous_meeting("other", ("heat",), DAY, exclude_id=-1) is None
        assert (
            await store.previous_meeting(
                "net", ("heat",), DAY, exclude_id=-1, private_channels=frozenset({"#chan"})
            )
            is None
        )
        assert await store.previous_meeting("net", ("heat",), DAY - timedelta(days=20), -1) is None
        # held in a channel that was private then (so recorded), whatever the settings say now
        await store.index_meeting(older, private=True)
        assert await store.previous_meeting("net", ("heat",), DAY, exclude_id=-1) is None


@pytest.mark.parametrize(
    ("configured", "recorded"),
    [("#Heat[Dev]", "#heat{dev}"), ("#heat{dev}^", "#HEAT[DEV]~")],
)
async def test_previous_skips_a_private_channel_however_its_name_is_cased(
    tmp_path: Path, configured: str, recorded: str
) -> None:
    """Under RFC 1459 `[]\\~` are the capitals of `{}|^`: one channel, as the rest of Gavel
    compares channel names, so its meetings stay out of `#previous` both ways round."""
    settings = parse_settings(
        {
            "networks": [
                {
                    "name": "net",
                    "host": "127.0.0.1",
                    "channels": ["#chan", {"name": configured, "private": True}],
                }
            ],
            "output": {
                "dir": str(tmp_path / "public"),
                "private_dir": str(tmp_path / "private"),
                "url_prefix": "http://x/",
            },
        }
    )
    async with await Store.open(tmp_path / "g.sqlite3") as store:
        held = await stored_meeting(store, DAY - timedelta(days=7), channel=recorded)
        found = await store.previous_meeting("net", ("heat",), DAY, exclude_id=-1)
        assert found is not None and found.id == held
        hidden = followup.private_channels(settings, "net")
        assert await store.previous_meeting("net", ("heat",), DAY, -1, hidden) is None

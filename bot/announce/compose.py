"""What is announced, to which receivers: pure, data in and `Announce` effects out.

Receivers: the email list (`[announce.email]`) and each webhook. A public meeting's minutes
are mailed to the email `to` list, the channel's `announce_to` and its series' addresses
(`[announce.email.series]`), and it goes to every webhook that takes the event and lists no
channels or this one. A private channel's meetings (and any meeting under `#restrictlogs`)
go only to receivers configured for that channel: its own `announce_to`, and webhooks that
list it; never to a series' addresses, which reach beyond the channel.

Delivery ids are derived from what is announced and to whom, so queuing the same
announcement again (the completion of a meeting published again after a crash) is the
same outbox row; receivers drop a repeat delivery by its id.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.archive.series import SeriesAliases
from bot.core.casemap import irc_lower
from bot.core.effects import Announce
from bot.core.record import MeetingRecord, Success
from bot.core.timefmt import zone
from bot.settings import AnnounceSettings, EmailSettings, WebhookSettings
from bot.writers.paths import JSON, LOG_HTML, LOG_TEXT, MINUTES_HTML, MINUTES_TEXT
from bot.writers.projection import attendees

START = "meeting.start"
COMPLETE = "meeting.complete"
SUCCESS = "success"
EMAIL = "email"
WEBHOOK = "webhook "  # + the URL
_NAMESPACE = uuid.UUID("5b0c3a52-55e8-4d8e-9b8e-6a3f0f1f2c11")


@dataclass(frozen=True, slots=True)
class Where:
    """Where the announced thing happened, and whether it may be told beyond the channel's
    own receivers (False for private channels and restricted meetings). `series_to`: the
    addresses of the meeting's series (see `series_addresses`), for a public meeting only."""

    network: str
    channel: str
    public: bool
    announce_to: tuple[str, ...] = ()
    series_to: tuple[str, ...] = ()


def series_addresses(
    email: EmailSettings | None, aliases: SeriesAliases, meeting_name: str
) -> tuple[str, ...]:
    """The addresses configured for the series a meeting named `meeting_name` belongs to:
    the name in the lower case series names take, then its series through the aliases."""
    if email is None:
        return ()
    return email.series.get(aliases.canonical(meeting_name.lower()), ())


def mail_to(email: EmailSettings, where: Where) -> list[str]:
    """Who gets the minutes: for a public meeting the global `to`, the channel's
    `announce_to` and the series' addresses, in that order; otherwise the channel's own
    `announce_to` only. Each address once (compared without case: one mailbox in practice),
    as first written."""
    lists = (email.to, where.announce_to, where.series_to) if where.public else (where.announce_to,)
    seen: set[str] = set()
    to: list[str] = []
    for address in (a for addresses in lists for a in addresses):
        if address.lower() not in seen:
            seen.add(address.lower())
            to.append(address)
    return to


def receiver_of(hook: WebhookSettings) -> str:
    return WEBHOOK + hook.url


def _hooks(settings: AnnounceSettings, event: str, where: Where) -> list[WebhookSettings]:
    chosen = []
    for hook in settings.webhooks:
        if event not in hook.events:
            continue
        if hook.channels is None:
            if where.public:
                chosen.append(hook)
        elif irc_lower(where.channel) in {irc_lower(c) for c in hook.channels}:
            chosen.append(hook)
    return chosen


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _dumps(body: dict[str, object]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _to_hooks(
    settings: AnnounceSettings,
    event: str,
    where: Where,
    key: str,
    body: dict[str, object],
    now: datetime,
) -> list[Announce]:
    body = {**body, "id": key, "event": event, "network": where.network}
    payload = _dumps(body)
    return [
        Announce(_id(key, receiver_of(h)), receiver_of(h), event, now, payload)
        for h in _hooks(settings, event, where)
    ]


def _meeting_key(event: str, m: MeetingRecord) -> str:
    return _id(event, m.network, m.channel, m.id, _iso(m.start))


def _meeting_body(m: MeetingRecord) -> dict[str, object]:
    return {
        "meeting_id": m.id,
        "location": m.channel,
        "meeting_name": m.name,
        "meeting_topic": m.topic,
        "start_time": _iso(m.start),
        "start_user": m.owner,
    }


def meeting_started(
    settings: AnnounceSettings, meeting: MeetingRecord, where: Where, now: datetime
) -> list[Announce]:
    """The `meeting.start` webhooks."""
    key = _meeting_key(START, meeting)
    return _to_hooks(settings, START, where, key, _meeting_body(meeting), now)


def end_user(m: MeetingRecord) -> str:
    """Who ended the meeting: the speaker of its last `#endmeeting` line, else the owner."""
    for line in reversed(m.lines):
        if line.text.lstrip().lower().startswith("#endmeeting"):
            return line.nick
    return m.owner


def complete_body(m: MeetingRecord, url_base: str) -> dict[str, object]:
    """The fields of Fedora's meetbot messages at completion, plus our own."""
    assert m.end is not None
    return {
        **_meeting_body(m),
        "end_time": _iso(m.end),
        "end_user": end_user(m),
        "url": url_base + MINUTES_HTML,
        "json_url": url_base + JSON,
        "logs": [
            {"log_type": "minutes", "log_url": url_base + MINUTES_HTML},
            {"log_type": "minutes_text", "log_url": url_base + MINUTES_TEXT},
            {"log_type": "log", "log_url": url_base + LOG_HTML},
            {"log_type": "log_text", "log_url": url_base + LOG_TEXT},
        ],
        "chairs": [c.nick for c in m.chairs],
        "attendees": [{"name": a.nick, "lines_said": a.lines} for a in attendees(m)],
    }


def email_text(minutes_text: str, url_base: str) -> str:
    return (
        f"Minutes:        {url_base}{MINUTES_HTML}\n"
        f"Minutes (text): {url_base}{MINUTES_TEXT}\n"
        f"Log:            {url_base}{LOG_HTML}\n\n"
        f"{minutes_text}"
    )


def meeting_completed(
    settings: AnnounceSettings,
    meeting: MeetingRecord,
    where: Where,
    url_base: str,
    minutes_text: str,
    now: datetime,
) -> list[Announce]:
    """The `meeting.complete` webhooks and the minutes email, once the files are written."""
    key = _meeting_key(COMPLETE, meeting)
    announces = _to_hooks(settings, COMPLETE, where, key, complete_body(meeting, url_base), now)
    email = settings.email
    if email is None:
        return announces
    to = mail_to(email, where)
    if not to:
        return announces
    assert meeting.end is not None
    date = meeting.start.astimezone(zone(meeting.timezone)).strftime("%Y-%m-%d")
    subject = email.subject.format(
        meetingname=meeting.name, date=date, channel=meeting.channel, network=meeting.network
    )
    delivery = _id(key, EMAIL)
    mail: dict[str, object] = {
        "to": to,
        "subject": subject,
        "text": email_text(minutes_text, url_base),
        "message_id": f"<{delivery}@gavel>",
    }
    announces.append(Announce(delivery, EMAIL, COMPLETE, now, _dumps(mail)))
    return announces


def success_recorded(
    settings: AnnounceSettings, success: Success, where: Where, now: datetime
) -> list[Announce]:
    """The `success` webhooks (thanks too, told apart by `kind`)."""
    key = _id(SUCCESS, success.network, success.channel, _iso(success.time), success.nick)
    body: dict[str, object] = {
        "location": success.channel,
        "kind": success.kind,
        "nick": success.nick,
        "account": success.account,
        "text": success.text,
        "time": _iso(success.time),
        "meeting_id": success.meeting_id,
    }
    return _to_hooks(settings, SUCCESS, where, key, body, now)


def receivers(settings: AnnounceSettings) -> Sequence[str]:
    return ([EMAIL] if settings.email else []) + [receiver_of(h) for h in settings.webhooks]

"""Per-person reply limits, so nobody can make the bot talk itself off the network.

Refusals and errors: five per person per minute, so every ordinary mistake gets its
answer. Informational replies (`#commands`, `#showvote`): three per person per minute.
Replies to state changes (`#chair`, `#startvote`, ...): ten per person per minute, more
than a chair running a meeting needs, few enough that nobody can fill the outbox; the
change itself is always made. A `#success` or `#thanks` is kept at most once per person
per minute (one beyond is not kept). Whoever runs out of an allowance is told so once a
minute (`should_tell`) rather than met with silence; `answer` is that rule whole, for a
reply in a channel and in private alike. Time comes from the events, so the limiter is as
deterministic as the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

ERROR = "error"
INFO = "info"
STATE = "state"
FOLLOWUP = "followup"  # a #success or #thanks accepted (one per person per minute)

_WINDOW = timedelta(minutes=1)
_ALLOWANCE = {ERROR: 5, INFO: 3, STATE: 10, FOLLOWUP: 1}
MAX_TRACKED = 10_000  # forget the oldest people beyond this, so memory stays bounded


class Answer(Enum):
    """What to do with a reply the limiter was asked about."""

    REPLY = "reply"  # within the allowance: give it
    TELL = "tell"  # refused: say instead that the allowance is used up
    SILENT = "silent"  # refused, and told so within the last minute: say nothing


@dataclass
class ReplyLimiter:
    recent: dict[tuple[str, str, str], list[datetime]] = field(default_factory=dict)
    told: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def allow(self, network: str, person: str, kind: str, now: datetime) -> bool:
        """Whether `person` may trigger another reply of `kind` at `now` (and count it)."""
        allowance = _ALLOWANCE.get(kind)
        if allowance is None:
            return True
        key = (network, person, kind)
        times = [t for t in self.recent.get(key, ()) if now - t < _WINDOW]
        if len(times) >= allowance:
            self.recent[key] = times
            return False
        times.append(now)
        self.recent.pop(key, None)
        self.recent[key] = times
        if len(self.recent) > MAX_TRACKED:
            del self.recent[next(iter(self.recent))]
        return True

    def answer(self, network: str, person: str, kind: str, now: datetime) -> Answer:
        """Count a reply of `kind` to `person` at `now` against the allowance and say
        whether to give it, to tell them they ran out, or to say nothing."""
        if self.allow(network, person, kind, now):
            return Answer.REPLY
        if self.should_tell(network, person, now):
            return Answer.TELL
        return Answer.SILENT

    def should_tell(self, network: str, person: str, now: datetime) -> bool:
        """Whether `person`, just refused a reply, should hear that they ran out: once a
        minute, whatever the kind of reply refused (and count it)."""
        key = (network, person)
        last = self.told.get(key)
        if last is not None and now - last < _WINDOW:
            return False
        self.told.pop(key, None)
        self.told[key] = now
        if len(self.told) > MAX_TRACKED:
            del self.told[next(iter(self.told))]
        return True

"""Per-person reply limits, so nobody can make the bot talk itself off the network.

Refusals and errors: at most one per person per minute. Informational replies
(`#commands`, `#showvote`): three per person per minute. Replies to state changes
(`#chair`, `#startvote`, ...): ten per person per minute, more than a chair running a
meeting needs, few enough that nobody can fill the outbox; the change itself is always
made. Time comes from the events, so the limiter is as deterministic as the core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

ERROR = "error"
INFO = "info"
STATE = "state"
FOLLOWUP = "followup"  # a #success or #thanks accepted (one per person per minute)

_WINDOW = timedelta(minutes=1)
_ALLOWANCE = {ERROR: 1, INFO: 3, STATE: 10, FOLLOWUP: 1}
_MAX_TRACKED = 10_000  # forget the oldest people beyond this, so memory stays bounded


@dataclass
class ReplyLimiter:
    recent: dict[tuple[str, str, str], list[datetime]] = field(default_factory=dict)

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
        if len(self.recent) > _MAX_TRACKED:
            del self.recent[next(iter(self.recent))]
        return True

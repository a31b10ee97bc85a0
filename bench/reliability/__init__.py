"""Reliability scenarios: fault injection, hostile input and abuse, with their figures.

Each scenario module `bench/reliability/s<N>_<name>.py` defines

    TITLE: str                                  # one line, for the table
    async def run(profile: Profile) -> Result   # bounded in count and time

`Profile.full` selects the counts of `make soak`; the short profile is what `make test`
runs (tests/test_reliability.py). A scenario never fails by raising: it reports figures,
and names those that must be 0 in `must_be_zero` (and those that must be true in
`must_be_true`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Profile:
    full: bool = False

    def pick(self, short: int, full: int) -> int:
        return full if self.full else short


Figure = int | float | str | bool


@dataclass(slots=True)
class Result:
    scenario: str
    figures: dict[str, Figure] = field(default_factory=dict)
    must_be_zero: tuple[str, ...] = ()
    must_be_true: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        bad = [k for k in self.must_be_zero if self.figures.get(k) != 0]
        bad += [k for k in self.must_be_true if self.figures.get(k) is not True]
        return bad

    @property
    def ok(self) -> bool:
        return not self.failures

"""Series: the meetings of one team, identified by (network, meeting name).

Teams rename their meetings over the years (`nova_team`, then `nova`); the operator merges
the old names into one series with `[archive] aliases = { nova = ["nova_team"] }`. This
module turns that table into a lookup both ways and checks it; it knows nothing of where
meetings are stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# A series name is a meeting name as it appears in file names under either naming rule
# (OpenStack's `a-z0-9_`, Fedora's which also keeps `-` and `.`).
_SERIES_NAME = re.compile(r"[a-z0-9_][a-z0-9_.-]{0,63}")


def valid_series_name(name: str) -> bool:
    return _SERIES_NAME.fullmatch(name) is not None and ".." not in name


@dataclass(frozen=True, slots=True)
class SeriesAliases:
    """Old meeting names mapped to the series they belong to."""

    canonical_of: Mapping[str, str] = field(default_factory=dict)

    def canonical(self, name: str) -> str:
        """The series a meeting named `name` belongs to."""
        return self.canonical_of.get(name, name)

    def names_of(self, series: str) -> tuple[str, ...]:
        """Every meeting name of `series` (itself first, then its aliases, sorted), so a
        lookup by series can match each name stored in the database."""
        series = self.canonical(series)
        others = sorted(a for a, c in self.canonical_of.items() if c == series)
        return (series, *others)


def build_aliases(table: Mapping[str, Sequence[str]]) -> tuple[SeriesAliases, list[str]]:
    """Check the operator's alias table and return it as a lookup, with one problem
    sentence per bad entry (prefixed by the key it is about, relative to the table)."""
    problems: list[str] = []
    canonical_of: dict[str, str] = {}
    for series, aliases in table.items():
        if not valid_series_name(series):
            problems.append(f"{series}: not a meeting name (lower-case a-z, 0-9, _ . -)")
            continue
        for i, alias in enumerate(aliases):
            where = f"{series}[{i}]"
            if not isinstance(alias, str) or not valid_series_name(alias):
                problems.append(f"{where}: not a meeting name: {alias!r}")
            elif alias == series:
                problems.append(f"{where}: {alias!r} is the series itself")
            elif alias in canonical_of:
                problems.append(
                    f"{where}: {alias!r} is already an alias of {canonical_of[alias]!r}"
                )
            else:
                canonical_of[alias] = series
    for alias, series in canonical_of.items():
        if alias in table:
            problems.append(f"{alias}: is a series and also an alias of {series!r}")
    return SeriesAliases(canonical_of), problems

"""A meeting's recorded lines (`LogLine`), kept column by column.

A long meeting holds tens of thousands of lines, and the bot keeps every running meeting's
lines in memory until its files are written. One `LogLine` object per line costs some
350 bytes (the object, its number, its `datetime`, a string per nick); columns cost about
half of that: numbers and times in machine-word arrays, each speaker's nick and each
kind stored once, only the text a string of its own.

The meeting's own log only grows. `snapshot()` gives an immutable view of the lines so far
that shares the columns, so taking a record for `#save` or `#endmeeting` copies nothing
and the lines appended later are not part of it. Pure: no I/O.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import overload

LINE_MESSAGE = "message"
LINE_ACTION = "action"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One recorded channel line. `n` is 1-based within the meeting."""

    n: int
    time: datetime
    nick: str
    kind: str  # LINE_MESSAGE or LINE_ACTION
    text: str


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (a float timestamp would round far dates)."""
    if moment.tzinfo is None:  # recorded times are aware; a naive one can only mean UTC
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _moment(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


class LineLog(Sequence[LogLine]):
    """The lines of one meeting, in order; indexing and iterating give `LogLine`s.

    Writers that pass over every line use `rows()` and `times()`, which build no
    `LogLine` per line.
    """

    __slots__ = ("_frozen", "_kinds", "_micros", "_nicks", "_numbers", "_shared", "_size", "_texts")

    def __init__(self, lines: Iterable[LogLine] = ()) -> None:
        self._numbers = array("q")
        self._micros = array("q")
        self._nicks: list[str] = []
        self._kinds: list[str] = []
        self._texts: list[str] = []
        self._shared: dict[str, str] = {}  # one copy of each nick and kind
        self._size = 0
        self._frozen = False
        for line in lines:
            self.append(line)

    def append(self, line: LogLine) -> None:
        """Add the next line (only to the meeting's own log, never to a snapshot)."""
        self.add(line.n, line.time, line.nick, line.kind, line.text)

    def add(self, n: int, time: datetime, nick: str, kind: str, text: str) -> None:
        """`append` from the line's parts."""
        if self._frozen:
            raise ValueError("a snapshot of a log cannot grow")
        shared = self._shared
        self._numbers.append(n)
        self._micros.append(_micros(time))
        self._nicks.append(shared.setdefault(nick, nick))
        self._kinds.append(shared.setdefault(kind, kind))
        self._texts.append(text)
        self._size += 1

    def snapshot(self) -> LineLog:
        """The lines recorded so far, unchanged by any line appended later."""
        view = LineLog.__new__(LineLog)
        view._numbers, view._micros = self._numbers, self._micros
        view._nicks, view._kinds, view._texts = self._nicks, self._kinds, self._texts
        view._shared = self._shared
        view._size = self._size
        view._frozen = True
        return view

    def rows(self) -> Iterator[tuple[int, str, str, str]]:
        """`(n, nick, kind, text)` of every line."""
        end = self._size
        return zip(
            islice(self._numbers, end),
            islice(self._nicks, end),
            islice(self._kinds, end),
            islice(self._texts, end),
            strict=True,
        )

    def times(self) -> Iterator[datetime]:
        """The time of every line, in UTC."""
        return (_moment(m) for m in self.micros())

    def micros(self) -> Iterator[int]:
        """The time of every line as microseconds since 1970-01-01T00:00:00Z."""
        return islice(self._micros, self._size)

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> LogLine: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[LogLine, ...]: ...

    def __getitem__(self, index: int | slice) -> LogLine | tuple[LogLine, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._size)))
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError("line index out of range")
        return LogLine(
            self._numbers[index],
            _moment(self._micros[index]),
            self._nicks[index],
            self._kinds[index],
            self._texts[index],
        )

    def __iter__(self) -> Iterator[LogLine]:
        for (n, nick, kind, text), moment in zip(self.rows(), self.times(), strict=True):
            yield LogLine(n, moment, nick, kind, text)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LineLog | tuple | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"LineLog({list(self)!r})"


def frozen_lines(lines: Sequence[LogLine]) -> LineLog:
    """`lines` as a `LineLog` that cannot grow (itself when it already is one)."""
    if isinstance(lines, LineLog) and lines._frozen:
        return lines
    return (lines if isinstance(lines, LineLog) else LineLog(lines)).snapshot()

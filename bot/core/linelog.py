"""A meeting's recorded lines (`LogLine`), kept column by column.

A long meeting holds tens of thousands of lines, and the bot keeps every running meeting's
lines in memory until its files are written. One `LogLine` object per line costs some
350 bytes (the object, its number, its `datetime`, a string per nick); columns cost about
a quarter of that: times in machine-word arrays, each speaker's nick and each kind stored
once and referred to by a small number, and the texts one after another as UTF-8, a block
of lines to a buffer (a string object per text costs ~50 bytes more than its characters,
and texts kept as objects among the many short-lived ones a line makes while it is
handled keep the allocator's pools from being given back). A text becomes a string again
when it is read.

The meeting's own log only grows. `snapshot()` gives an immutable view of the lines so far
that shares the columns, so taking a record for `#save` or `#endmeeting` copies nothing
and the lines appended later are not part of it. Pure: no I/O.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
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


_BLOCK = 512  # lines whose texts are decoded together when reading them all
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z, exactly (a float timestamp would round far
    dates): how the log keeps its times, and how the writers and the import compare and
    format them without a `datetime` per line."""
    if moment.tzinfo is None:  # recorded times are aware; a naive one can only mean UTC
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def from_epoch_micros(micros: int) -> datetime:
    """The instant `micros` microseconds after the epoch, in UTC (`epoch_micros` reversed)."""
    return _EPOCH + timedelta(microseconds=micros)


class LineLog(Sequence[LogLine]):
    """The lines of one meeting, in order; indexing and iterating give `LogLine`s.

    Writers that pass over every line use `rows()` and `times()`, which build no
    `LogLine` per line.

    The texts are kept in blocks of `_BLOCK` lines, each block's UTF-8 in a buffer of its
    own, made exactly as long as its texts once the block is full: one buffer for all texts
    is copied to a larger place as it grows, and the place it left stays in the process's
    memory, so a long meeting held its texts nearly twice over.
    """

    __slots__ = (
        "_chunks",
        "_ends",
        "_frozen",
        "_micros",
        "_names",
        "_numbers",
        "_size",
        "_tail",
        "_used",
        "_which",
        "_who",
        "_whose",
    )

    def __init__(self, lines: Iterable[LogLine] = ()) -> None:
        # Per line: its number; None while line i is numbered i + 1, as a meeting's own
        # lines always are (a log read back from the database may miss one that was set
        # aside, and then the numbers are kept).
        self._numbers: array[int] | None = None
        self._micros = array("q")
        self._who = array("I")  # per line: the nick's index in `_names`
        self._which = array("I")  # per line: the kind's index in `_names`
        self._names: list[str] = []  # each nick and kind once
        self._whose: dict[str, int] = {}  # name -> index in `_names`
        # Per full block of `_BLOCK` lines: their texts one after another, UTF-8 (lone
        # surrogates passed through); the last block's grow in `_tail`.
        self._chunks: list[bytes] = []
        self._tail = bytearray()
        # Per line: where its text ends, in characters from the start of its block's texts.
        # Four bytes hold 4 G characters: a block's 512 lines would have to hold 8 M each on
        # average (lines heard are cut at 16 KiB).
        self._ends = array("I")
        self._used = -1  # a snapshot: the bytes of `_tail` it holds (-1: all of them)
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
        size = self._size
        if self._numbers is not None:
            self._numbers.append(n)
        elif n != size + 1:  # the first line out of the usual numbering
            self._numbers = array("q", range(1, size + 1))
            self._numbers.append(n)
        self._micros.append(epoch_micros(time))
        self._who.append(self._name(nick))
        self._which.append(self._name(kind))
        if size % _BLOCK:
            start = self._ends[-1]
        else:
            if size:  # the last block is full: kept exactly as long as it is
                self._chunks.append(bytes(self._tail))
                # A new buffer, not the old one emptied: a snapshot may be reading it.
                self._tail = bytearray()
            start = 0
        self._tail += text.encode("utf-8", "surrogatepass")
        self._ends.append(start + len(text))
        self._size = size + 1

    def _name(self, name: str) -> int:
        index = self._whose.get(name)
        if index is None:
            index = self._whose[name] = len(self._names)
            self._names.append(name)
        return index

    def _number(self, index: int) -> int:
        return index + 1 if self._numbers is None else self._numbers[index]

    def snapshot(self) -> LineLog:
        """The lines recorded so far, unchanged by any line appended later."""
        view = LineLog.__new__(LineLog)
        view._numbers, view._micros = self._numbers, self._micros
        view._who, view._which = self._who, self._which
        view._names, view._whose = self._names, self._whose
        view._chunks, view._tail, view._ends = self._chunks, self._tail, self._ends
        view._used = len(self._tail) if self._used < 0 else self._used
        view._size = self._size
        view._frozen = True
        return view

    def rows(self) -> Iterator[tuple[int, str, str, str]]:
        """`(n, nick, kind, text)` of every line."""
        end = self._size
        name = self._names.__getitem__  # mapped in C: no Python frame per line
        numbers = range(1, end + 1) if self._numbers is None else islice(self._numbers, end)
        return zip(
            numbers,
            map(name, islice(self._who, end)),
            map(name, islice(self._which, end)),
            self.texts(),
            strict=True,
        )

    def texts(self) -> Iterator[str]:
        """The text of every line, decoded a block of `_BLOCK` lines at a time (one call
        per block), so reading them all holds little more than one block extra."""
        # Counted from this log's size: a snapshot shares `_chunks` with the growing log.
        blocks = range((self._size + _BLOCK - 1) // _BLOCK)
        return chain.from_iterable(map(self._block_texts, blocks))

    def _block_texts(self, block: int) -> list[str]:
        """The texts of the lines of `block`, each its own string."""
        whole = self._block(block)
        first = block * _BLOCK
        ends = self._ends[first : min(first + _BLOCK, self._size)]
        return [whole[start:end] for start, end in zip([0, *ends], ends, strict=False)]

    def _block(self, block: int) -> str:
        """The texts of the lines of `block`, decoded together."""
        if block < (self._size - 1) // _BLOCK:
            return self._chunks[block].decode("utf-8", "surrogatepass")
        if self._used < 0:
            return self._tail.decode("utf-8", "surrogatepass")
        # A snapshot's last block, which the log may still be adding to (perhaps while the
        # snapshot is read in a thread): a copy of the bytes it holds.
        return self._tail[: self._used].decode("utf-8", "surrogatepass")

    def _text_at(self, index: int) -> str:
        whole = self._block(index // _BLOCK)
        start = self._ends[index - 1] if index % _BLOCK else 0
        return whole[start : self._ends[index]]

    def speakers(self) -> list[tuple[str, int, int]]:
        """(nick, number of its first line, how many lines it said) of each nick as spelt in
        the log, in the order of their first lines; counted in C, with no text decoded."""
        who = self._who[: self._size]
        counts = Counter(who)
        found: list[tuple[str, int, int]] = []
        at = 0
        # First lines come in this order, so each is looked for from the one before.
        for name in dict.fromkeys(who):
            at = who.index(name, at)
            found.append((self._names[name], self._number(at), counts[name]))
        return found

    def times(self) -> Iterator[datetime]:
        """The time of every line, in UTC."""
        return (from_epoch_micros(m) for m in self.micros())

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
            self._number(index),
            from_epoch_micros(self._micros[index]),
            self._names[self._who[index]],
            self._names[self._which[index]],
            self._text_at(index),
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

"""The archive's search language: one query string parsed into a plan the store can run.

`word`, `"a phrase"`, `prefix*`, `-word` (exclude), and the filters `from:`, `in:`,
`series:` (aliases apply), `network:`, `kind:`, `after:`, `before:`, `sort:`. Words become an
FTS5 expression in which every word is a quoted string, so nothing typed can be read as FTS5
syntax; the filters become plain values for parameters. Every malformed query gets one
sentence saying what is wrong. Pure: no database, no I/O; the SQL lives in `bot.store`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from bot.archive.series import SeriesAliases
from bot.core.record import ITEM_KINDS

MAX_QUERY_LENGTH = 500
MIN_PREFIX_LETTERS = 3  # a shorter prefix matches so many words that the index is no help
SORTS = ("relevance", "new", "old")
FILTERS = ("from", "in", "series", "network", "kind", "after", "before", "sort")
# Columns of the index (bot/store/schema.py): words are looked for in the nick and the text.
WORD_COLUMNS = "{nick text}"

_FILTER = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class QueryError(ValueError):
    """A query that cannot be understood; the message is one sentence for the person."""


@dataclass(frozen=True, slots=True)
class Term:
    """A word, phrase or prefix to find, as the tokens the index holds."""

    tokens: tuple[str, ...]
    prefix: bool = False

    def fts(self) -> str:
        quoted = '"' + " ".join(self.tokens).replace('"', '""') + '"'
        return quoted + " *" if self.prefix else quoted


@dataclass(frozen=True, slots=True)
class SearchPlan:
    """What to look for: an FTS5 expression and the filters, ready for parameters."""

    text: str
    match: str
    terms: tuple[Term, ...]  # the positive terms, for highlighting
    nicks: tuple[str, ...] = ()  # folded with `fold_name`
    channels: tuple[str, ...] = ()  # folded with `fold_name`
    series: tuple[str, ...] = ()  # every meeting name of the asked series
    networks: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    after: date | None = None  # meetings started on this day or later
    before: date | None = None  # meetings started before this day
    sort: str = "relevance"


def fold_name(name: str) -> str:
    """Nicks and channels compared the way the archive stores them (ASCII case folded)."""
    return name.translate(_ASCII_UPPER)


def fold_text(text: str) -> str:
    """Case and accents folded, as the index's `remove_diacritics 2` tokenizer does."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokens_of(text: str) -> tuple[str, ...]:
    """The folded tokens of `text`: runs of letters and digits, as FTS5's unicode61 sees
    them."""
    # Most lines are ASCII, where folding is lower-casing (and much cheaper).
    return tuple(_TOKEN.findall(text.lower() if text.isascii() else fold_text(text)))


_TOKEN = re.compile(r"[^\W_]+")


def parse_query(text: str, aliases: SeriesAliases | None = None) -> SearchPlan:
    """`text` as a `SearchPlan`; raises `QueryError` with one sentence when it is malformed."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"The query is longer than {MAX_QUERY_LENGTH} characters; shorten it.")
    aliases = aliases or SeriesAliases()
    found: dict[str, list[str]] = {name: [] for name in FILTERS}
    positive: list[Term] = []
    negative: list[Term] = []
    for excluded, quoted, word in _pieces(text):
        if not quoted and (m := _FILTER.fullmatch(word)) and not m.group(2).startswith("/"):
            name, value = m.group(1).lower(), m.group(2)
            if name not in found:
                raise QueryError(
                    f"{m.group(1)}: is not a filter; use one of "
                    + ", ".join(f"{f}:" for f in FILTERS)
                    + "."
                )
            if not value:
                raise QueryError(f"The filter {name}: needs a value after the colon.")
            found[name].append(_unquote(value))
            continue
        term = _term(word, quoted)
        if term is not None:
            (negative if excluded else positive).append(term)
    return _plan(text, positive, negative, found, aliases)


def _pieces(text: str) -> list[tuple[bool, bool, str]]:
    """Split into (excluded, quoted, word); a quote opens a phrase that must close."""
    pieces: list[tuple[bool, bool, str]] = []
    i, size = 0, len(text)
    while i < size:
        c = text[i]
        if c.isspace() or not c.isprintable():
            i += 1
            continue
        excluded = c == "-" and i + 1 < size and not text[i + 1].isspace()
        start = i + 1 if excluded else i
        if text[start] == '"':
            end = text.find('"', start + 1)
            if end < 0:
                raise QueryError('A quote (") is not closed; close the phrase or remove it.')
            pieces.append((excluded, True, text[start + 1 : end]))
            i = end + 1
            continue
        j = start
        while j < size and not text[j].isspace() and text[j].isprintable():
            if text[j] == '"':  # a filter's quoted value: from:"odd nick"
                close = text.find('"', j + 1)
                if close < 0:
                    raise QueryError('A quote (") is not closed; close the phrase or remove it.')
                j = close
            j += 1
        pieces.append((excluded, False, text[start:j]))
        i = j
    return pieces


def _unquote(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return value


def _term(word: str, quoted: bool) -> Term | None:
    prefix = not quoted and word.endswith("*")
    tokens = tokens_of(word.rstrip("*") if prefix else word)
    if not tokens:
        return None  # punctuation alone: nothing the index could hold
    if prefix and len(tokens[-1]) < MIN_PREFIX_LETTERS:
        raise QueryError(
            f"The prefix {word} is too short; give at least {MIN_PREFIX_LETTERS} letters "
            "before the *."
        )
    return Term(tokens, prefix)


def _plan(
    text: str,
    positive: list[Term],
    negative: list[Term],
    found: dict[str, list[str]],
    aliases: SeriesAliases,
) -> SearchPlan:
    kinds = tuple(dict.fromkeys(k.lower() for k in found["kind"]))
    for kind in kinds:
        if kind not in ITEM_KINDS:
            raise QueryError(
                f"kind:{kind} is not a kind of item; use one of {', '.join(ITEM_KINDS)}."
            )
    sorts = [s.lower() for s in found["sort"]]
    if len(set(sorts)) > 1:
        raise QueryError("Give sort: only once.")
    sort = sorts[0] if sorts else "relevance"
    if sort not in SORTS:
        raise QueryError(f"sort:{sort} is not an order; use sort:relevance, sort:new or sort:old.")
    after = _one_date("after", found["after"])
    before = _one_date("before", found["before"])
    nicks = tuple(dict.fromkeys(fold_name(n) for n in found["from"]))
    series: list[str] = []
    for name in found["series"]:
        series += aliases.names_of(name.lower())
    parts = [f"{WORD_COLUMNS} : {t.fts()}" for t in positive]
    if kinds:
        parts.append("kind : (" + " OR ".join(f'"{k}"' for k in kinds) + ")")
    nick_terms = [Term(tokens_of(n)) for n in nicks if tokens_of(n)]
    if nick_terms:
        parts.append("nick : (" + " OR ".join(t.fts() for t in nick_terms) + ")")
    if not parts:
        raise QueryError("Give at least one word to look for (or a from: or kind: filter).")
    match = "(" + " AND ".join(parts) + ")"
    for term in negative:
        match = f"({match} NOT {WORD_COLUMNS} : {term.fts()})"
    return SearchPlan(
        text=text,
        match=match,
        terms=tuple(positive),
        nicks=nicks,
        channels=tuple(dict.fromkeys(fold_name(c) for c in found["in"])),
        series=tuple(dict.fromkeys(series)),
        networks=tuple(dict.fromkeys(found["network"])),
        kinds=kinds,
        after=after,
        before=before,
        sort=sort,
    )


def _one_date(name: str, values: list[str]) -> date | None:
    if len(set(values)) > 1:
        raise QueryError(f"Give {name}: only once.")
    if not values:
        return None
    value = values[0]
    m = _DATE.fullmatch(value)
    try:
        if m is None:
            raise ValueError(value)
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise QueryError(f"{name}:{value} is not a date; write it as YYYY-MM-DD.") from None


def highlight(text: str, terms: tuple[Term, ...]) -> list[tuple[str, bool]]:
    """`text` cut into pieces, each marked True where it matches a term (case and accents
    folded), so a renderer can emphasise matches and escape everything else."""
    whole = {t.tokens[0] for t in terms if len(t.tokens) == 1 and not t.prefix}
    in_phrase = {tok for t in terms if len(t.tokens) > 1 for tok in t.tokens}
    prefixes = tuple(t.tokens[-1] for t in terms if t.prefix)
    pieces: list[tuple[str, bool]] = []
    last = 0
    for m in _WORD.finditer(text):
        folded = fold_text(m.group())
        hit = (
            folded in whole
            or folded in in_phrase
            or (bool(prefixes) and folded.startswith(prefixes))
        )
        if not hit:
            continue
        if m.start() > last:
            pieces.append((text[last : m.start()], False))
        pieces.append((m.group(), True))
        last = m.end()
    if last < len(text):
        pieces.append((text[last:], False))
    return pieces


# Words in the original text, combining accents kept with their letters.
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")


# BM25's usual constants: how fast repeated matches stop counting, and how much a long
# line is discounted.
_K1 = 1.2
_B = 0.75


def rank(terms: tuple[Term, ...], lines: list[tuple[int, str, str]]) -> list[int]:
    """The ids of `lines` (id, nick, text), best match first, by BM25 over these lines
    (term rarity is measured among them); ties keep the order given (newest first)."""
    if not lines:
        return []
    tokenised = [tokens_of(f"{nick} {text}") for _, nick, text in lines]
    counts = [[_occurrences(term, tokens) for term in terms] for tokens in tokenised]
    average = sum(len(t) for t in tokenised) / len(tokenised) or 1.0
    size = len(lines)
    weights = []
    for i in range(len(terms)):
        having = sum(1 for c in counts if c[i])
        weights.append(math.log((size - having + 0.5) / (having + 0.5) + 1.0))
    scored = []
    for (line_id, _, _), tokens, found in zip(lines, tokenised, counts, strict=True):
        norm = _K1 * (1 - _B + _B * len(tokens) / average)
        pairs = zip(weights, found, strict=True)
        score = sum(w * tf * (_K1 + 1) / (tf + norm) for w, tf in pairs if tf)
        scored.append((-score, line_id))
    return [line_id for _, line_id in sorted(scored, key=lambda pair: pair[0])]


def _occurrences(term: Term, tokens: tuple[str, ...]) -> int:
    width = len(term.tokens)
    if width == 1:
        token = term.tokens[0]
        if term.prefix:
            return sum(1 for t in tokens if t.startswith(token))
        return tokens.count(token)
    head, last = term.tokens[:-1], term.tokens[-1]
    found = 0
    for i in range(len(tokens) - width + 1):
        window = tokens[i : i + width]
        if window[:-1] == head and (
            window[-1].startswith(last) if term.prefix else window[-1] == last
        ):
            found += 1
    return found

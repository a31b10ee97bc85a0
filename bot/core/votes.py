"""Vote parsing and option matching.

`#startvote Release now? Yes, No`: the question runs to the last `?`; options are split
on anything that is not a letter, digit, `+` or `-`; no options means `Yes, No`.
"""

from __future__ import annotations

import re

DEFAULT_OPTIONS = ("Yes", "No")
_OPTION = re.compile(r"(?:[^\W_]|[+\-])+")


def parse_vote(arg: str) -> tuple[str, tuple[str, ...]] | None:
    """(question, options), or None when there is no `?` to end the question."""
    mark = arg.rfind("?")
    if mark < 0:
        return None
    question = arg[: mark + 1].strip()
    if question == "?":
        return None
    options: list[str] = []
    seen: set[str] = set()
    for option in _OPTION.findall(arg[mark + 1 :]):
        if option.casefold() not in seen:
            seen.add(option.casefold())
            options.append(option)
    return question, tuple(options) or DEFAULT_OPTIONS


def match_option(typed: str, options: tuple[str, ...]) -> str | None:
    """The option `typed` names (case-insensitively), or None."""
    wanted = typed.strip().casefold()
    for option in options:
        if option.casefold() == wanted:
            return option
    return None

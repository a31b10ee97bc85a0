"""Vote parsing and option matching.

`#startvote Release now? Yes, No`: the question runs to the last `?`. Options holding a
comma are split on commas only, so `Plan A, Plan B` or emoji are options as typed; without
a comma they are split on anything that is not a letter, digit, `+` or `-` (OpenStack's
rule, so `yes no` still works). No options means `Yes, No`. Options are matched without
regard to case or runs of spaces.
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
    rest = arg[mark + 1 :]
    if "," in rest:
        found = [" ".join(part.split()) for part in rest.split(",")]
    else:
        found = _OPTION.findall(rest)
    options: list[str] = []
    seen: set[str] = set()
    for option in found:
        if option and _key(option) not in seen:
            seen.add(_key(option))
            options.append(option)
    return question, tuple(options) or DEFAULT_OPTIONS


def _key(option: str) -> str:
    """What two spellings of one option share: case and runs of spaces do not count."""
    return " ".join(option.casefold().split())


def match_option(typed: str, options: tuple[str, ...]) -> str | None:
    """The option `typed` names (case-insensitively), or None."""
    wanted = _key(typed)
    for option in options:
        if _key(option) == wanted:
            return option
    return None

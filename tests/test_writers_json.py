"""The `.json` record against its documentation, and its field rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bot.core.record import Ballot, Chair, Gap, Named, Presence, VoteRecord
from bot.writers.jsonfmt import IDENTITY_KEYS, render_json
from tests.example_meeting import BASE, RECORD, START, VOTE, item, meeting, said

DOC = Path(__file__).parent.parent / "docs" / "json-format.md"


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _documented_example() -> Any:
    (block,) = re.findall(r"```json\n(.*?)```", _doc(), re.DOTALL)
    return json.loads(block)


def _documented_fields() -> set[str]:
    return set(re.findall(r"^\| `([a-z_\[\].]+)` \|", _doc(), re.MULTILINE))


def _field_paths(value: Any, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= _field_paths(inner, path)
    elif isinstance(value, list):
        for element in value:
            if isinstance(element, dict):
                paths |= _field_paths(element, prefix + "[]")
    return paths


def _full_record() -> Any:
    """A meeting using every field, so every field shows up in the output."""
    open_vote = VoteRecord(
        id=2,
        question="More?",
        options=("Yes", "No"),
        ballots=(Ballot("bob", "No", "bobacct"),),
        opened_by="alice",
        opened_at=START,
        opened_line=2,
    )
    return meeting(
        owner_account="aliceacct",
        chairs=(Chair("alice", "aliceacct"), Chair("carol")),
        end=None,
        timezone="Europe/Berlin",
        lines=said(("alice", "#link http://x.org/ docs"), ("bob", "waves", "action")),
        items=(item(1, "link", "http://x.org/ docs", url="http://x.org/"),),
        votes=(VOTE, open_vote),
        named=(Named("carol", 1),),
        presence=(Presence(START, "nick", "bob", "bobby"),),
        gaps=(Gap(START, START, "restart"),),
    )


def test_documented_example_is_what_the_writer_writes() -> None:
    assert _documented_example() == json.loads(render_json(RECORD, BASE))


def test_every_field_is_documented_and_every_documented_field_exists() -> None:
    written = _field_paths(json.loads(render_json(_full_record(), BASE)))
    assert written == _documented_fields()


def test_identifying_keys_come_first() -> None:
    head = render_json(RECORD, BASE).splitlines()[1 : 1 + len(IDENTITY_KEYS)]
    assert [line.split('"')[1] for line in head] == list(IDENTITY_KEYS)


def test_times_carry_the_meetings_offset_and_running_meetings_have_no_end() -> None:
    data = json.loads(render_json(_full_record(), BASE))
    assert data["start"] == "2013-01-09T21:01:10+01:00"
    assert data["end"] is None
    assert data["lines"][1] == {
        "n": 2,
        "time": "2013-01-09T21:01:11+01:00",
        "nick": "bob",
        "kind": "action",
        "text": "waves",
    }
    assert data["votes"][1]["closed_at"] is None
    assert data["votes"][1]["results"] == [
        {"option": "Yes", "count": 0},
        {"option": "No", "count": 1},
    ]
    assert data["attendees"] == [
        {"nick": "alice", "lines": 1},
        {"nick": "bob", "lines": 1},
        {"nick": "carol", "lines": 0},
    ]


def test_an_empty_meeting_is_still_a_document() -> None:
    record = meeting(lines=(), items=(), votes=(), chairs=(), named=(), topic=None)
    data = json.loads(render_json(record, BASE))
    assert data["lines"] == [] and data["items"] == [] and data["attendees"] == []
    assert data["topic"] is None

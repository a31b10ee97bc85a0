"""The worked example of outputs.md through every writer, compared with golden files.

`tests/data/example.log.txt` and `tests/data/example.txt` are the specification's example
log and text minutes, copied byte for byte; `heat.log.txt` and `heat.txt` must equal them.
The other three were written once by the renderers, reviewed by eye, and now pin the layout;
to change them on purpose, rewrite them with `render_all` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import html5lib
import pytest

from bot.core.messages import meeting_ended
from bot.core.timefmt import zone
from bot.settings import OutputSettings
from bot.writers.paths import relative_base
from bot.writers.publish import url_base
from bot.writers.render import render_all
from tests.example_meeting import BASE, RECORD, URL_PREFIX

GOLDEN = Path(__file__).parent / "golden"
SPEC_EXAMPLES = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_all(RECORD, BASE, URL_PREFIX)


def _golden(name: str) -> str:
    return (GOLDEN / name).read_bytes().decode("utf-8")


@pytest.mark.parametrize("extension", [".txt", ".log.txt", ".log.html", ".html", ".json"])
def test_output_matches_golden_file(rendered: dict[str, str], extension: str) -> None:
    assert rendered[extension] == _golden(f"heat{extension}")


def test_example_path_is_the_specs(rendered: dict[str, str]) -> None:
    assert relative_base(RECORD, OutputSettings().pattern) == BASE
    assert "heat/2013/heat.2013-01-09-20.01.log.html" in rendered[".txt"]


def test_endmeeting_reply_names_the_files() -> None:
    lines = meeting_ended(
        RECORD.end or RECORD.start,
        zone("UTC"),
        RECORD.info_url,
        "1.0.0",
        url_base(OutputSettings(url_prefix=URL_PREFIX), BASE),
    )
    assert lines[1] == f"Minutes:        {URL_PREFIX}heat/2013/heat.2013-01-09-20.01.html"


def test_golden_text_files_are_the_spec_examples() -> None:
    for golden, example in (("heat.log.txt", "example.log.txt"), ("heat.txt", "example.txt")):
        assert _golden(golden).encode("utf-8") == (SPEC_EXAMPLES / example).read_bytes()


@pytest.mark.parametrize("extension", [".log.html", ".html"])
def test_html_parses_strictly(rendered: dict[str, str], extension: str) -> None:
    html5lib.HTMLParser(strict=True).parse(rendered[extension])


def test_json_is_one_valid_document(rendered: dict[str, str]) -> None:
    data = json.loads(rendered[".json"])
    assert data["format"] == "gavel-meeting/1"
    assert [a["lines"] for a in data["attendees"]] == [9, 7, 3]
    assert data["votes"][0]["ballots"] == [
        {"nick": "alice", "option": "Yes", "account": None},
        {"nick": "bob", "option": "Yes", "account": None},
    ]


def test_every_file_ends_with_one_newline(rendered: dict[str, str]) -> None:
    for text in rendered.values():
        assert text.endswith("\n") and not text.endswith("\n\n")

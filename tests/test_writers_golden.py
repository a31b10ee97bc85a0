"""The worked example of outputs.md through every writer, compared with golden files.

`heat.txt` and `heat.log.txt` are copied from the spec and must match byte for byte. The
other three were written once by the renderers, reviewed by eye, and now pin the layout; to
change them on purpose, rewrite them with `render_all` and review the diff.
"""

from __future__ import annotations

import json
import re
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
# The shared spec sits beside the repository on developer machines and in CI.
SPEC_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "spec" / "outputs.md",
    Path("/work/shared/spec/outputs.md"),
)


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
    spec = next((p for p in SPEC_CANDIDATES if p.exists()), None)
    assert spec is not None, f"outputs.md not found in {SPEC_CANDIDATES}"
    blocks = re.findall(r"```\n(.*?)```", spec.read_text(encoding="utf-8"), re.DOTALL)
    assert _golden("heat.log.txt") in blocks
    assert _golden("heat.txt") in blocks


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

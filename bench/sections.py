"""The sections of `docs/benchmarks.md` that benchmarks other than `make bench` write.

`make bench` regenerates the file's head (the live bot against its peers); `bench/archive.py`
and `bench/web.py` each own one section after it, headed by the titles below. Each writer
replaces only its own section and keeps the others, in this order.
"""

from __future__ import annotations

from pathlib import Path

ARCHIVE = "## The archive: import and search"
WEB = "## The web archive under load"
SECTIONS = (ARCHIVE, WEB)


def split(text: str) -> tuple[str, dict[str, str]]:
    """The text before the first owned section, and each owned section's body (its heading
    line left out) by heading."""
    positions = sorted((text.find(h), h) for h in SECTIONS if text.find(h) >= 0)
    if not positions:
        return text, {}
    head = text[: positions[0][0]]
    bodies: dict[str, str] = {}
    for (start, heading), (end, _) in zip(
        positions, [*positions[1:], (len(text), "")], strict=True
    ):
        bodies[heading] = text[start + len(heading) : end].strip("\n")
    return head, bodies


def join(head: str, bodies: dict[str, str]) -> str:
    parts = [head.rstrip("\n")] if head.strip() else []
    parts += [f"{h}\n\n{bodies[h]}" for h in SECTIONS if h in bodies]
    return "\n\n".join(parts) + "\n"


def write_section(path: Path, heading: str, body: str) -> None:
    """Replace (or add) the section `heading` of `path`, keeping everything else."""
    head, bodies = split(path.read_text(encoding="utf-8") if path.exists() else "")
    bodies[heading] = body.strip("\n")
    path.write_text(join(head, bodies), encoding="utf-8")


def with_sections_of(path: Path, new_head: str) -> str:
    """`new_head` followed by the owned sections `path` has now: what `make bench` writes."""
    _, bodies = split(path.read_text(encoding="utf-8") if path.exists() else "")
    return join(new_head, bodies)

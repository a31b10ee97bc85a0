"""Only `bot/writers/publish.py` touches the filesystem; the rest of the writers are pure."""

from __future__ import annotations

import ast
from pathlib import Path

WRITERS = Path(__file__).parent.parent / "bot" / "writers"
FORBIDDEN_MODULES = {"tempfile", "threading", "shutil", "io", "socket", "asyncio", "sqlite3"}
FORBIDDEN_MODULES |= {"aiosqlite", "irc", "structlog", "time", "subprocess"}
FORBIDDEN_CALLS = {"open", "mkdir", "makedirs", "exists", "lexists", "is_dir", "is_file"}
FORBIDDEN_CALLS |= {"resolve", "realpath", "stat", "lstat", "unlink", "rename", "fsync"}
FORBIDDEN_CALLS |= {"listdir", "scandir", "read_text", "read_bytes", "write_text", "write_bytes"}
FORBIDDEN_CALLS |= {"now", "utcnow", "today", "time", "perf_counter", "getcwd", "abspath"}


def _pure_modules() -> list[Path]:
    files = sorted(p for p in WRITERS.glob("*.py") if p.name != "publish.py")
    assert len(files) >= 10
    return files


def _offences(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES or node.module.endswith("publish"):
                found.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in FORBIDDEN_CALLS:
                found.append(f"{name}()")
    return found


def test_writers_other_than_publish_do_no_io() -> None:
    offenders = {p.name: _offences(p.read_text(encoding="utf-8")) for p in _pure_modules()}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_check_catches_io() -> None:
    sample = "import tempfile\nfrom pathlib import Path\nPath('x').write_text('y')\nopen('z')\n"
    assert _offences(sample) == ["tempfile", "write_text()", "open()"]

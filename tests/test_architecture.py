"""The core (and the archive's rules) stay pure: no I/O libraries, no clock, no filesystem;
and no module of the bot imports itself through others."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).parent.parent / "bot" / "core"
PURE_PACKAGES = (CORE, CORE.parent / "archive")
FORBIDDEN_MODULES = {"asyncio", "aiosqlite", "irc", "structlog", "sqlite3", "socket", "os", "time"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "open"}


def _core_files() -> list[Path]:
    files = sorted(path for package in PURE_PACKAGES for path in package.rglob("*.py"))
    assert len(files) >= 10
    return files


def test_core_imports_no_io_library() -> None:
    offenders = []
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [(path.name, n) for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
    assert offenders == []


def test_core_never_reads_the_clock_or_files() -> None:
    offenders = []
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in FORBIDDEN_CALLS:
                    offenders.append((path.name, node.lineno, name))
    assert offenders == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    sample = "import asyncio\nfrom datetime import datetime\nx = datetime.now()\n"
    tree = ast.parse(sample)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import)]
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert imports[0].names[0].name in FORBIDDEN_MODULES
    assert isinstance(calls[0].func, ast.Attribute) and calls[0].func.attr in FORBIDDEN_CALLS


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_only_the_web_app_imports_aiohttp_web_and_it_has_no_sql() -> None:
    bot = CORE.parent
    importers = sorted(
        path.relative_to(bot).as_posix()
        for path in bot.rglob("*.py")
        if any(n == "aiohttp.web" or n.startswith("aiohttp.web.") for n in _imports(path))
    )
    assert importers == ["web/app.py"]
    for path in (bot / "web").rglob("*.py"):
        assert not {"sqlite3", "aiosqlite"} & {n.split(".")[0] for n in _imports(path)}, path
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\s", text), path


BOT = CORE.parent


def _imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every `bot.*` module a file imports, wherever the import stands (at the top, in a
    function, under `TYPE_CHECKING`): a cycle hidden in a function is still a cycle.
    `from bot.irc import choke` imports the module `bot.irc.choke`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return found & modules


def _module_graph() -> dict[str, set[str]]:
    paths = {
        ".".join(path.relative_to(BOT.parent).with_suffix("").parts).removesuffix(".__init__"): path
        for path in BOT.rglob("*.py")
    }
    names = set(paths)
    return {name: _imports_of(path, names) - {name} for name, path in paths.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each module that is part of one (depth-first search)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = _module_graph()
    assert "bot.core.record" in graph and "bot.core.linelog" in graph["bot.core.record"]
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_the_service_imports_no_http_mail_or_template_library_until_it_needs_one() -> None:
    # Memory: aiohttp and aiosmtplib (announcements) and Jinja2 (success pages) take some
    # 20 MB together; a bot that announces nothing and hears no #success never loads them.
    code = (
        "import sys, bot.app, bot.cli, bot.followup, bot.publishing\n"
        "print(sorted(m for m in ('aiohttp', 'aiosmtplib', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"

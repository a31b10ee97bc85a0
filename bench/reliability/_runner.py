"""Finding and running the scenario modules, and turning their results into a table.

Used by `python -m bench.reliability` (the soak) and by `tests/test_reliability.py` (the
short profile in `make test`). A scenario that raises, or overruns its time limit, is
reported as a failed result rather than stopping the others.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import re
import time
import traceback
from dataclasses import dataclass
from types import ModuleType

import bench.reliability as package
from bench.reliability import Figure, Profile, Result

SCENARIO = re.compile(r"^s(\d+)_\w+$")
# Hard limits per scenario; each scenario also bounds itself, well inside these.
LIMIT_SHORT = 180.0
LIMIT_FULL = 1200.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str  # module name, e.g. s1_kill9
    number: int
    module: ModuleType

    @property
    def title(self) -> str:
        return str(getattr(self.module, "TITLE", self.name))


def scenario_names() -> list[str]:
    """Module names of every scenario in the package, in number order."""
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        match = SCENARIO.match(info.name)
        if match:
            found.append((int(match.group(1)), info.name))
    return [name for _, name in sorted(found)]


def load(name: str) -> Scenario:
    match = SCENARIO.match(name)
    if match is None:
        raise ValueError(f"not a scenario module name: {name!r}")
    module = importlib.import_module(f"{package.__name__}.{name}")
    return Scenario(name, int(match.group(1)), module)


def select(only: list[str] | None) -> list[str]:
    """Every scenario, or those named by number or prefix (`s1`, `s2_server_restart`)."""
    names = scenario_names()
    if not only:
        return names
    chosen = []
    for want in only:
        matches = [n for n in names if n == want or n.split("_", 1)[0] == want]
        if not matches:
            raise ValueError(f"no scenario {want!r} (have: {', '.join(names)})")
        chosen += [m for m in matches if m not in chosen]
    return chosen


@dataclass(slots=True)
class Outcome:
    scenario: Scenario
    result: Result
    seconds: float


async def run_scenario(scenario: Scenario, profile: Profile) -> Outcome:
    """Run one scenario within its hard limit; an exception becomes a failed result."""
    limit = LIMIT_FULL if profile.full else LIMIT_SHORT
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(scenario.module.run(profile), limit)
    except TimeoutError:
        result = failed(scenario, f"did not finish within {limit:.0f} s")
    except Exception as exc:
        result = failed(scenario, "".join(traceback.format_exception(exc)).strip())
    return Outcome(scenario, result, time.monotonic() - started)


def failed(scenario: Scenario, why: str) -> Result:
    return Result(
        scenario.name,
        figures={"completed": False},
        must_be_true=("completed",),
        notes=[why],
    )


def show(value: Figure) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def rule(result: Result, name: str) -> str:
    if name in result.must_be_zero:
        return "must be 0"
    if name in result.must_be_true:
        return "must be yes"
    return ""


def table(outcomes: list[Outcome]) -> list[str]:
    """Markdown table rows: one per figure, failing ones marked."""
    rows = ["| Scenario | Figure | Value | Rule |", "|---|---|---|---|"]
    for outcome in outcomes:
        result = outcome.result
        label = f"{outcome.scenario.name} ({outcome.seconds:.0f} s)"
        failures = set(result.failures)
        for name, value in result.figures.items():
            mark = " **FAILED**" if name in failures else ""
            cell = show(value).replace("|", "\\|")
            rows.append(f"| {label} | {name} | {cell}{mark} | {rule(result, name)} |")
            label = ""
        for name in sorted(failures - set(result.figures)):
            rows.append(f"| {label} | {name} | (missing) **FAILED** | {rule(result, name)} |")
            label = ""
    return rows

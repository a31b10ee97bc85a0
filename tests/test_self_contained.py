"""The suite reads nothing outside the repository, so a clone anywhere passes on its own.

The tests that read the repository's data files (examples, golden files, documentation,
shipped configuration) run in a child interpreter with an audit hook that records every file
and directory opened; anything outside the checkout, the interpreter's installation, the
temporary directory and the system's own directories is a file the clone would not have.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_READERS = (
    "tests/test_writers_golden.py",
    "tests/test_writers_json.py",
    "tests/test_replay.py",
    "tests/test_replay_fedora.py",
    "tests/test_config.py",
)

_CHILD = """
import json, os, site, sys, sysconfig, tempfile

root, report = sys.argv[1], sys.argv[2]
allowed = [root, sys.prefix, sys.base_prefix, sys.exec_prefix, tempfile.gettempdir()]
allowed += [p for p in sysconfig.get_paths().values()]
allowed += site.getsitepackages() + [site.getusersitepackages()]
allowed += ["/dev", "/proc", "/sys", "/etc", "/usr", "/lib", "/lib64", "/bin", "/run"]
allowed = tuple(os.path.realpath(p).rstrip("/") + "/" for p in allowed)
outside = set()

def hook(event, args):
    if event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    if not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.path.realpath(os.fsdecode(args[0])).rstrip("/") + "/"
    if not path.startswith(allowed):
        outside.add(path.rstrip("/"))

sys.addaudithook(hook)
import pytest
code = pytest.main(["-q", "-p", "no:cacheprovider", "-x", *sys.argv[3:]])
with open(report, "w") as out:
    json.dump({"code": int(code), "outside": sorted(outside)}, out)
"""


def test_data_reading_tests_read_only_the_repository(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(ROOT), str(report), *DATA_READERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert report.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    result = json.loads(report.read_text())
    assert result["code"] == 0, run.stdout[-2000:]
    assert result["outside"] == []

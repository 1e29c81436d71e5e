"""Cached environments on the local site, with real virtualenvs: the run's own code is
always this run's, the cache key ignores comments and order, --rebuild-env rebuilds.

Offline: index requirements come from wheels in a project folder (--no-index --find-links),
the run's own code from a local folder with no dependencies."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli import hpcrun
from tests.conftest import write
from tests.wheels import build_wheel

ENV_LINE = re.compile(r"\[hpcrun\] environment (py3\.\d+-[0-9a-f]{16}): (built in \d+ s|reused)")

WORKFLOW = """workflows:
  - name: use
    provider: python
    file: use.py
    requirements: requirements.txt
"""

USE = """import hpcrun_testpkg, hpcrun_otherpkg, mylib
print("index", hpcrun_testpkg.VERSION, hpcrun_otherpkg.VERSION)
print("mylib", mylib.VALUE, mylib.__file__)
"""


def project(folder: Path, requirements: str) -> Path:
    build_wheel(folder / "wheels", "hpcrun_testpkg", "0.1")
    build_wheel(folder / "wheels", "hpcrun_otherpkg", "0.2")
    write(folder / "mylib" / "pyproject.toml", '[project]\nname = "mylib"\nversion = "0"\n')
    write(folder / "mylib" / "src" / "mylib" / "__init__.py", "VALUE = 'first'\n")
    write(folder / "use.py", USE)
    write(folder / "requirements.txt", requirements)
    write(folder / "workflows.yaml", WORKFLOW)
    return folder


def submit(folder: Path, *flags: str) -> tuple[str, str, str]:
    """(environment name, 'built'/'reused', output) of one attached run."""
    result = hpcrun("submit", "use", *flags, cwd=folder, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    [(name, how)] = ENV_LINE.findall(result.stdout)
    return name, how.split(" ")[0], result.stdout


REQUIREMENTS = """--no-index
--find-links wheels
hpcrun_testpkg
hpcrun_otherpkg
-e ./mylib
"""


def test_second_run_imports_its_own_edited_code(tmp_path: Path) -> None:
    folder = project(tmp_path / "p", REQUIREMENTS)
    name, how, out = submit(folder)
    assert how == "built" and "index 0.1 0.2" in out and "mylib first" in out
    write(folder / "mylib" / "src" / "mylib" / "__init__.py", "VALUE = 'edited'\n")
    again, how, out = submit(folder)
    assert (again, how) == (name, "reused")  # same requirements: same environment
    assert "mylib edited" in out  # ...but this run's own code
    [path] = re.findall(r"mylib edited (\S+)", out)
    assert "/envs/" not in path and "/code/mylib/src/mylib/__init__.py" in path


def test_comments_and_order_do_not_rebuild_and_rebuild_env_does(tmp_path: Path) -> None:
    folder = project(tmp_path / "p", REQUIREMENTS)
    name, how, _ = submit(folder)
    assert how == "built"
    write(
        folder / "requirements.txt",
        "# reordered and commented\n--no-index\n--find-links wheels  # offline\n\n"
        "-e ./mylib\nhpcrun_otherpkg\nhpcrun_testpkg  # the test package\n",
    )
    assert submit(folder)[:2] == (name, "reused")
    assert submit(folder, "--rebuild-env")[:2] == (name, "built")
    assert submit(folder)[:2] == (name, "reused")  # the next runs use the rebuilt one
    write(
        folder / "requirements.txt", REQUIREMENTS.replace("hpcrun_otherpkg", "hpcrun_otherpkg==0.2")
    )
    changed, how, _ = submit(folder)
    assert changed != name and how == "built"


def test_own_wheels_install_per_run(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    first = build_wheel(folder / "dist", "hpcrun_testpkg", "0.1")
    write(folder / "requirements.txt", f"./dist/{first.name}\n")
    write(folder / "use.py", "import hpcrun_testpkg\nprint('own wheel', hpcrun_testpkg.VERSION)\n")
    write(folder / "workflows.yaml", WORKFLOW)
    name, how, out = submit(folder)
    assert how == "built" and "own wheel 0.1" in out
    first.unlink()
    second = build_wheel(folder / "dist", "hpcrun_testpkg", "0.2")
    write(folder / "requirements.txt", f"./dist/{second.name}\n")
    again, how, out = submit(folder)
    assert (again, how) == (name, "reused") and "own wheel 0.2" in out

"""Run history on the local site: what a run records (args, overrides, --var, code hash,
git state), `show`/`ps RUN`, `rerun` with a flag over the recorded ones, ps filters, tags."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.cli import hpcrun, ps_json
from tests.conftest import write

VARIABLES = "variables:\n  global:\n    greeting: hello\n"
WORKFLOWS = """workflows:
  - name: echo
    provider: python
    file: echo.py
    args: [default]
    env:
      - WHO=${{ greeting }}
  - name: other
    provider: bash
    commands: [echo other]
"""
ECHO = "import os, sys\nprint('ARGS', sys.argv[1:], 'WHO', os.environ['WHO'], 'X', os.environ.get('X'))\n"


def project(tmp_path: Path) -> Path:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    write(tmp_path / "echo.py", ECHO)
    write(tmp_path / "variables.yaml", VARIABLES)
    return tmp_path


def show(run: str) -> dict[str, Any]:
    result = hpcrun("show", run, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_submit_records_args_overrides_and_vars_and_rerun_reproduces_them(
    tmp_path: Path,
) -> None:
    root = project(tmp_path)
    first = hpcrun("submit", "echo", "--var", "greeting=bonjour", "-e", "X=1", "--cpu", "1",
                   "--", "a b", "c", cwd=root)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "ARGS ['a b', 'c'] WHO bonjour X 1" in first.stdout
    [run] = ps_json()
    data = show(run["run"])
    assert data["overrides"] == {"args": ["a b", "c"], "env": ["X=1"], "cpu": 1}
    assert data["variables"] == {"greeting": "bonjour"}
    assert data["code_hash"].startswith("sha256:") and data["git_commit"] is None
    assert data["target"] == {"path": None, "workflow": "echo"}
    assert data["state_history"][0]["state"] == "submitting"
    assert data["state_history"][-1]["state"] == "completed"
    text = hpcrun("ps", run["run"])  # ps RUN is show RUN
    assert text.returncode == 0, text.stderr
    assert (
        "args:           'a b' c" in text.stdout
        and "var:            greeting=bonjour" in text.stdout
    )
    assert "override:       env = X=1" in text.stdout and "state history:" in text.stdout

    script = hpcrun("rerun", run["run"], "--dry-run", "--cpu", "2")
    assert script.returncode == 0, script.stderr
    assert "--cpus-per-task=2" in script.stdout and "'a b' c" in script.stdout
    again = hpcrun("rerun", run["run"], cwd=tmp_path.parent)  # not from the project
    assert again.returncode == 0, again.stderr
    assert "ARGS ['a b', 'c'] WHO bonjour X 1" in again.stdout
    changed = hpcrun("rerun", run["run"], "-e", "X=2", "--var", "greeting=hi", "-d")
    assert changed.returncode == 0, changed.stderr
    new = changed.stdout.strip().splitlines()[-1]
    log = hpcrun("logs", new, "-f")
    assert "ARGS ['a b', 'c'] WHO hi X 2" in log.stdout, log.stdout + log.stderr
    assert show(new)["overrides"]["env"] == ["X=2"]
    assert show(run["run"])["code_hash"] == show(new)["code_hash"]


def test_git_commit_and_dirty_flag_are_recorded(tmp_path: Path) -> None:
    root = project(tmp_path)

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()  # fmt: skip
    clean = hpcrun("submit", "other", "-d", cwd=root)
    assert clean.returncode == 0, clean.stderr
    write(root / "echo.py", ECHO + "# edited\n")
    dirty = hpcrun("submit", "other", "-d", cwd=root)
    assert dirty.returncode == 0, dirty.stderr
    first, second = (show(r.stdout.strip().splitlines()[-1]) for r in (clean, dirty))
    assert (first["git_commit"], first["git_dirty"]) == (head, False)
    assert (second["git_commit"], second["git_dirty"]) == (head, True)
    assert first["code_hash"] != second["code_hash"]
    assert "(dirty: uncommitted changes)" in hpcrun("show", second["run"]).stdout


def test_ps_filters_tags_and_long_reasons(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert hpcrun("submit", "other", cwd=root).returncode == 0
    failing = hpcrun("submit", "echo", "--", "x", cwd=root)
    assert failing.returncode == 0
    runs = {r["workflow"]: r["run"] for r in ps_json()}
    assert hpcrun("tag", runs["other"], "best").returncode == 0
    only = hpcrun("ps", "--workflow", "other", "--json")
    assert [r["run"] for r in json.loads(only.stdout)] == [runs["other"]]
    tagged = json.loads(hpcrun("ps", "--tag", "best", "--json").stdout)
    assert [(r["run"], r["tags"]) for r in tagged] == [(runs["other"], ["best"])]
    assert json.loads(hpcrun("ps", "--state", "failed", "--json").stdout) == []
    assert len(json.loads(hpcrun("ps", "--since", "1h", "--json").stdout)) == 2
    bad = hpcrun("ps", "--since", "soon")
    assert bad.returncode == 2 and "--since" in bad.stderr
    table = hpcrun("ps")
    assert "TAGS" in table.stdout.splitlines()[0] and "best" in table.stdout
    listing = hpcrun("tags")
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[1].split() == ["best", runs["other"], "other", "completed"]

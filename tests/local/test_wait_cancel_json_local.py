"""``hpcrun wait``, ``cancel`` of several runs and ``--all``, and the ``--json`` outputs of
submit -d, cancel, artifacts, validate and site check, on the local site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import hpcrun, ps_json
from tests.conftest import write

WORKFLOWS = """\
workflows:
  - name: quick
    provider: bash
    commands: [mkdir -p out, echo hi > out/a.txt, echo done]
    artifacts: [out]
  - name: fails
    provider: bash
    commands: [sleep 1, exit 5]
  - name: fails-less
    provider: bash
    commands: [exit 3]
  - name: sleepy
    provider: bash
    commands: [echo started, sleep 60]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    return tmp_path


def detached(project: Path, workflow: str) -> str:
    result = hpcrun("submit", "-d", workflow, cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_submit_detached_json_is_the_ps_record(project: Path) -> None:
    result = hpcrun("submit", "-d", "--json", "quick", cwd=project)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    for key in ("run", "workflow", "site", "job_id", "state", "exit_code", "submitted_at",
                "finished_at", "artifacts_dir"):  # fmt: skip
        assert key in record, key
    assert (record["workflow"], record["site"]) == ("quick", "local") and record["job_id"]
    refused = hpcrun("submit", "--json", "quick", cwd=project)
    assert refused.returncode == 2 and "--json needs -d" in refused.stderr


def test_wait_exits_with_the_worst_exit_code(project: Path) -> None:
    runs = [detached(project, w) for w in ("quick", "fails", "fails-less")]
    result = hpcrun("wait", *runs)
    assert result.returncode == 5, result.stderr
    lines = result.stdout.splitlines()
    assert sorted(lines) == sorted([f"{runs[0]} completed (exit code 0)",
                                    f"{runs[1]} failed (exit code 5)",
                                    f"{runs[2]} failed (exit code 3)"])  # fmt: skip
    assert lines[-1] == f"{runs[1]} failed (exit code 5)"  # it ends last (sleep 1)
    again = hpcrun("wait", runs[0], "--json")  # already ended: returns at once
    assert again.returncode == 0, again.stderr
    [record] = json.loads(again.stdout)
    assert (record["run"], record["state"], record["exit_code"]) == (runs[0], "completed", 0)


def test_wait_timeout_leaves_runs_going(project: Path) -> None:
    sleepy = detached(project, "sleepy")
    result = hpcrun("wait", sleepy, "--timeout", "1")
    assert result.returncode == 124, result.stderr
    assert f"still going after 1 s: {sleepy}" in result.stderr
    assert {r["run"]: r["state"] for r in ps_json()}[sleepy] in ("pending", "running")
    assert hpcrun("cancel", sleepy).returncode == 0


def test_cancel_several_runs_then_all(project: Path) -> None:
    first, second, third = (detached(project, "sleepy") for _ in range(3))
    done = detached(project, "quick")
    assert hpcrun("wait", done).returncode == 0
    result = hpcrun("cancel", first, second, done, "--json")
    assert result.returncode == 0, result.stderr
    outcomes = {o["run"]: o for o in json.loads(result.stdout)}
    assert list(outcomes) == [first, second, done]
    assert outcomes[first]["outcome"] == outcomes[second]["outcome"] == "cancelled"
    assert outcomes[first]["state"] == "cancelled"
    assert (outcomes[done]["outcome"], outcomes[done]["state"]) == ("ended", "completed")
    for key in ("job_id", "exit_code", "message"):
        assert key in outcomes[first], key
    states = {r["run"]: r["state"] for r in ps_json()}
    assert states[third] in ("pending", "running")
    everything = hpcrun("cancel", "--all")
    assert everything.returncode == 0, everything.stderr
    assert f"{third} cancelled" in everything.stderr
    assert {r["run"]: r["state"] for r in ps_json()}[third] == "cancelled"
    assert "no unfinished runs" in hpcrun("cancel", "--all").stderr
    both = hpcrun("cancel", first, "--all")
    assert both.returncode == 2 and "not both" in both.stderr
    assert hpcrun("cancel").returncode == 2


def test_cancel_by_workflow(project: Path) -> None:
    sleepy = detached(project, "sleepy")
    other = hpcrun("cancel", "--workflow", "quick", "--json")
    assert other.returncode == 0 and json.loads(other.stdout) == []
    result = hpcrun("cancel", "--workflow", "sleepy", "--json")
    assert [(o["run"], o["outcome"]) for o in json.loads(result.stdout)] == [(sleepy, "cancelled")]


def test_artifacts_json(project: Path, tmp_path: Path) -> None:
    run = detached(project, "quick")
    assert hpcrun("wait", run).returncode == 0
    result = hpcrun("artifacts", run, "--dest", str(tmp_path / "got"), "--json")
    assert result.returncode == 0, result.stderr
    fetched = json.loads(result.stdout)
    assert fetched["run"] == run and fetched["folder"] == str((tmp_path / "got").resolve())
    assert fetched["bytes"] > 0 and fetched["unsafe_links"] == []
    assert (Path(fetched["folder"]) / "out" / "a.txt").read_text() == "hi\n"


def test_validate_and_site_check_json(project: Path) -> None:
    write(project / "bad.yaml", "workflows:\n  - name: b\n    provider: bash\n    cpu: 2\n")
    good = hpcrun("validate", "--json", cwd=project)
    assert good.returncode == 0, good.stderr
    report = json.loads(good.stdout)
    assert report["valid"] == ["quick", "fails", "fails-less", "sleepy"]
    assert report["problems"] == [] and report["file"].endswith("workflows.yaml")
    bad = hpcrun("validate", "bad.yaml", "--json", cwd=project)
    assert bad.returncode == 2
    problems = json.loads(bad.stdout)["problems"]
    assert {"file", "line", "column", "field", "message", "hint"} == set(problems[0])
    cpu = next(p for p in problems if p["field"].endswith("cpu"))
    assert (cpu["file"], cpu["line"], cpu["column"]) == ("bad.yaml", 4, 5)
    checks = hpcrun("site", "check", "local", "--json")
    assert checks.returncode == 0, checks.stderr
    items = json.loads(checks.stdout)
    assert items[0]["name"] == "config" and {i["status"] for i in items} <= {"ok", "warn"}
    assert all(set(i) == {"name", "status", "detail", "hint"} for i in items)

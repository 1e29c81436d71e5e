"""Hostile names from a workflows file (issue 8, defect 1) against the real CLI and the local
site: validate, render -o, submit with deps, artifacts, working_dir and tags are refused
(exit 2, the rule stated), and nothing outside hpcrun's own folders is created, changed
or deleted. A sandbox holds HPCRUN_HOME, the project, the render output and a `victim`
folder; the sandbox is snapshotted before and after.

Also here: validate and submit agree on dependency cycles and missing dependencies
(defect 9), since submit needs a real site to refuse them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from hpcrun.ops.stage import link_dependency
from hpcrun.transport.base import CommandFailed
from hpcrun.transport.local import LocalTransport
from tests.cli import hpcrun, ps_json
from tests.conftest import write

RULE = "1 to 64 characters from A-Z a-z 0-9 . _ -, starting with a letter or a digit"
# Quoted as YAML double-quoted scalars (JSON is valid YAML), so NUL and newlines survive.
HOSTILE = [
    "..", ".", "../victim", "../../../../victim", "../../../../../victim",
    "../../../../../../victim", "a/../../../../../victim", "/abs", "x/y", "a\x00b", "do\nwn",
    "a" * 300, "\uff0e\uff0e\uff0fvictim", "\u2024\u2024/victim", " .. ", "a b", "-rf",
    "$(touch pwned)", "`touch pwned`", ".hidden",
]  # fmt: skip


def snapshot(root: Path, skip: tuple[str, ...]) -> dict[str, str]:
    """Every entry under ``root`` (except hpcrun's own folders) with its kind and content."""
    result: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        relative = Path(dirpath).relative_to(root)
        if relative.parts and relative.parts[0] in skip:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = str(relative / name)
            if key in skip:
                continue
            if path.is_symlink():
                result[key] = "link:" + os.readlink(path)
            elif path.is_dir():
                result[key] = f"dir:{path.stat().st_mode:o}"
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                result[key] = f"file:{path.stat().st_mode:o}:{digest}"
    return result


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/sandbox/{home (HPCRUN_HOME), project, out, victim}: deep enough that a ../ chain
    from a run folder can reach victim."""
    root = tmp_path / "sandbox"
    home = root / "home"
    monkeypatch.setenv("HPCRUN_HOME", str(home))
    write(root / "victim" / "keep.txt", "precious\n")
    write(root / "victim" / "sub" / "more.txt", "more\n")
    (root / "project").mkdir()
    return root


def yaml_text(value: str) -> str:
    return json.dumps(value)


def assert_untouched(root: Path, before: dict[str, str]) -> None:
    after = snapshot(root, ("home", "out"))
    assert after == before
    assert (root / "victim" / "keep.txt").read_text() == "precious\n"
    assert not list(root.rglob("pwned"))


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_workflow_and_dependency_names(sandbox: Path, name: str) -> None:
    project = sandbox / "project"
    write(
        project / "workflows.yaml",
        "workflows:\n"
        f"  - {{name: {yaml_text(name)}, provider: bash, commands: [echo up], artifacts: [x]}}\n"
        f"  - {{name: down, provider: bash, commands: [echo down], deps: [{yaml_text(name)}]}}\n"
        f"  - {{name: tagged, provider: bash, commands: [echo t], deps: [{yaml_text('up:' + name)}]}}\n"
        f"  - {{name: bare, provider: bash, commands: [echo t], deps: [{yaml_text(':' + name)}]}}\n",
    )
    before = snapshot(sandbox, ("home", "out"))
    checked = hpcrun("validate", cwd=project)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert RULE in checked.stderr and "workflows.yaml:2:" in checked.stderr
    assert "workflows.yaml:3:" in checked.stderr  # the dependency is located too
    assert "hint: rename it" in checked.stderr
    for workflow in ("down", "tagged", "bare", *([name] if "\x00" not in name else [])):
        rendered = hpcrun("render", workflow, "-o", str(sandbox / "out"), cwd=project)
        assert rendered.returncode == 2, rendered.stdout + rendered.stderr
        assert "Traceback" not in rendered.stderr
    for workflow in ("down", "tagged", "bare"):
        submitted = hpcrun("submit", workflow, cwd=project)
        assert submitted.returncode == 2, submitted.stdout + submitted.stderr
        assert RULE in submitted.stderr
    assert ps_json() == []  # nothing was submitted
    assert not (sandbox / "out").exists() or not any((sandbox / "out").iterdir())
    assert_untouched(sandbox, before)


PATHS = [
    "..", "../victim", "../../../../victim", "../../../../../../victim", "a/../../../victim",
    "a/..", "/abs", "/", "~/x", "~", "a\x00b", "a\nb", "x\n", "\rx", "./", ".", "",
]  # fmt: skip
# Look-alikes of '/' and '..' are ordinary file names: allowed, but they stay inside.
LOOK_ALIKES = ["\uff0e\uff0e\uff0fvictim", "\u2024\u2024/victim", "\u2215victim"]


@pytest.mark.parametrize("path", PATHS)
def test_hostile_artifact_paths_and_working_dir(sandbox: Path, path: str) -> None:
    project = sandbox / "project"
    write(
        project / "workflows.yaml",
        "workflows:\n"
        f"  - {{name: art, provider: bash, commands: [echo a], artifacts: [{yaml_text(path)}]}}\n"
        f"  - {{name: wd, provider: bash, commands: [pwd], working_dir: {yaml_text(path)}}}\n",
    )
    before = snapshot(sandbox, ("home", "out"))
    results = [
        hpcrun("validate", cwd=project),
        hpcrun("render", "art", "-o", str(sandbox / "out"), cwd=project),
        hpcrun("submit", "art", cwd=project),
    ]
    if path not in (".", "./"):  # "." is a fine working_dir (the project root)
        results.append(hpcrun("submit", "wd", cwd=project))
    if "\x00" not in path:  # a NUL cannot be a command-line argument at all
        results.append(hpcrun("submit", "wd", "-a", path, "--working-dir", path, cwd=project))
    for result in results:
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    assert [r for r in ps_json() if r["workflow"] == "art"] == []
    assert_untouched(sandbox, before)


@pytest.mark.parametrize("path", LOOK_ALIKES)
def test_look_alike_paths_stay_inside(sandbox: Path, path: str) -> None:
    project = sandbox / "project"
    write(
        project / "workflows.yaml",
        "workflows:\n"
        f"  - {{name: art, provider: bash, commands: ['mkdir -p \"$(dirname {path})\"', "
        f"'echo hi > {path}'], artifacts: [{yaml_text(path)}]}}\n"
        f"  - {{name: down, provider: bash, commands: ['cat {path}'], deps: [art]}}\n",
    )
    before = snapshot(sandbox, ("home", "out"))
    result = hpcrun("submit", "down", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hi" in result.stdout
    assert_untouched(sandbox, before)


def test_working_dir_symlinked_out_of_the_project_is_refused(sandbox: Path) -> None:
    project = sandbox / "project"
    os.symlink(sandbox / "victim", project / "sub")
    write(project / "workflows.yaml",
          "workflows:\n  - {name: w, provider: python, file: keep.txt, working_dir: sub}\n"
          "  - {name: other, provider: python, file: missing.py}\n")  # fmt: skip
    before = snapshot(sandbox, ("home", "out"))
    for args in (["validate"], ["render", "w"], ["submit", "w"]):
        result = hpcrun(*args, cwd=project)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "working_dir 'sub' leads outside" in result.stderr
    # validate still reports the other workflows' problems
    assert "'missing.py' does not exist" in hpcrun("validate", cwd=project).stderr
    assert_untouched(sandbox, before)


def test_render_output_is_never_written_through_a_symlink_out(sandbox: Path) -> None:
    project = sandbox / "project"
    write(project / "workflows.yaml", "workflows:\n  - {name: w, provider: bash, commands: [x]}\n")
    (sandbox / "out").mkdir()
    os.symlink(sandbox / "victim" / "keep.txt", sandbox / "out" / "w.sbatch")
    before = snapshot(sandbox, ("home",))
    result = hpcrun("render", "w", "-o", str(sandbox / "out"), cwd=project)
    assert result.returncode == 2 and "leads outside" in result.stderr
    assert snapshot(sandbox, ("home",)) == before
    assert (sandbox / "victim" / "keep.txt").read_text() == "precious\n"
    os.unlink(sandbox / "out" / "w.sbatch")
    result = hpcrun("render", "w", "-o", str(sandbox / "out"), cwd=project)
    assert result.returncode == 0, result.stderr
    assert (sandbox / "out" / "w.sbatch").read_text().startswith("#!/bin/bash")


def test_hostile_tags_are_refused_and_a_good_one_works(sandbox: Path) -> None:
    project = sandbox / "project"
    write(project / "workflows.yaml",
          "workflows:\n  - {name: up, provider: bash, commands: [echo up], artifacts: [x]}\n")  # fmt: skip
    done = hpcrun("submit", "up", cwd=project)
    assert done.returncode == 0, done.stderr
    [run] = ps_json()
    before = snapshot(sandbox, ("home", "out"))
    for tag in [t for t in HOSTILE if "\x00" not in t] + ["", "latest\n"]:
        result = hpcrun("tag", "--", run["run"], tag)
        assert result.returncode == 2, (tag, result.stderr)
        assert RULE in result.stderr
    assert_untouched(sandbox, before)
    assert hpcrun("tag", run["run"], "v0.0.2").returncode == 0


def test_the_issue_reproduction_on_the_local_site(sandbox: Path) -> None:
    """The YAML of the issue, with ../ chains deep enough to reach the sandbox's victim."""
    project = sandbox / "project"
    for depth in range(3, 8):
        victim = "../" * depth + "victim"
        write(
            project / "workflows.yaml",
            f"workflows:\n  - {{name: {victim}, provider: bash, commands: [echo up]}}\n"
            f"  - {{name: down, provider: bash, commands: [echo down], deps: [{victim}]}}\n",
        )
        before = snapshot(sandbox, ("home", "out"))
        result = hpcrun("submit", "workflows.yaml", "down", cwd=project)
        assert result.returncode == 2, result.stdout + result.stderr
        assert ps_json() == []
        assert_untouched(sandbox, before)


def test_linking_refuses_to_follow_a_symlink_out_of_the_run_folder(sandbox: Path) -> None:
    """Defence in depth on the cluster side: even with a clean name, a link in the run's tree
    that points outside is never followed by `rm -rf`."""
    run_dir = sandbox / "home" / "runs" / "down-1"
    (run_dir / "code").mkdir(parents=True)
    os.symlink(sandbox / "victim", run_dir / "code" / "data")
    up = SimpleNamespace(
        record=SimpleNamespace(
            remote_dir=str(sandbox / "home" / "runs" / "up-1"), workflow="up", run="up-1"
        ),
        working_dir=None,
        paths=("data/keep.txt",),
    )
    before = snapshot(sandbox, ("home", "out"))
    with pytest.raises(CommandFailed, match="outside the run folder"):
        link_dependency(LocalTransport(), str(run_dir), None, up)
    assert_untouched(sandbox, before)
    # a clean tree links as before
    os.unlink(run_dir / "code" / "data")
    link_dependency(LocalTransport(), str(run_dir), None, up)
    assert os.readlink(run_dir / "code" / "data" / "keep.txt").endswith("up-1/code/data/keep.txt")
    assert os.readlink(run_dir / "input" / "up").endswith("up-1/output")


CYCLE = """workflows:
  - {name: a, provider: bash, commands: [echo a], deps: [b]}
  - {name: b, provider: bash, commands: [echo b], deps: [a]}
  - {name: self, provider: bash, commands: [echo s], deps: [self]}
  - {name: free, provider: bash, commands: [echo f]}
"""
MISSING = """workflows:
  - {name: needs-ghost, provider: bash, commands: [echo x], deps: [ghost]}
  - {name: needs-tag, provider: bash, commands: [echo x], deps: ["up:best"]}
  - {name: needs-bare-tag, provider: bash, commands: [echo x], deps: [":best"]}
  - {name: up, provider: bash, commands: [echo up]}
"""


def test_validate_and_submit_agree_on_cycles(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", CYCLE)
    checked = hpcrun("validate", cwd=tmp_path)
    assert checked.returncode == 2
    for cycle in ("a -> b -> a", "b -> a -> b", "self -> self"):
        assert f"dependency cycle: {cycle}" in checked.stderr
    assert "ok       free" in checked.stdout and "ok       a\n" not in checked.stdout
    for name, cycle in (("a", "a -> b -> a"), ("self", "self -> self")):
        submitted = hpcrun("submit", name, cwd=tmp_path)
        assert submitted.returncode == 2
        assert f"dependency cycle: {cycle}" in submitted.stderr
    assert ps_json() == []


def test_validate_and_submit_agree_on_missing_dependencies(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", MISSING)
    checked = hpcrun("validate", cwd=tmp_path)
    assert checked.returncode == 2
    expected = {
        "needs-ghost": "dependency 'ghost': no workflow named 'ghost' in",
        "needs-tag": "dependency 'up:best': no run of workflow 'up' is tagged 'best'",
        "needs-bare-tag": "dependency ':best': no run is tagged 'best'",
    }
    for name, message in expected.items():
        assert message in checked.stderr
        submitted = hpcrun("submit", name, cwd=tmp_path)
        assert submitted.returncode == 2 and message in submitted.stderr
    assert "no completed run of it at site 'local'" in checked.stderr
    assert ps_json() == []
    # once a recorded run can satisfy them, both accept them
    assert hpcrun("submit", "up", cwd=tmp_path).returncode == 0
    [run] = ps_json()
    assert hpcrun("tag", run["run"], "best").returncode == 0
    checked = hpcrun("validate", cwd=tmp_path)
    assert "tagged 'best'" not in checked.stderr and "ghost" in checked.stderr
    assert hpcrun("submit", "needs-tag", cwd=tmp_path).returncode == 0
    assert hpcrun("submit", "needs-bare-tag", cwd=tmp_path).returncode == 0

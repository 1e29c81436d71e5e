"""Shell completion of workflow, site and run names (hpcrun.cli.completion), in process
through click's completion machinery and once through the real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from hpcrun.cli.completion import site_names, workflow_names, workflows_file
from hpcrun.cli.main import cli
from hpcrun.store import RunRecord, default_store
from tests.conftest import write

WORKFLOWS = """\
workflows:
  - name: train
    provider: bash
    commands: [echo]
  - name: test
    provider: bash
    commands: [echo]
  - name: eval
    provider: bash
    commands: [echo]
"""


@pytest.fixture(autouse=True)
def completing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_HPCRUN_COMPLETE", "bash_complete")  # as the shell's script sets it


def complete(words: list[str], incomplete: str) -> list[tuple[str, str]]:
    """What ``hpcrun WORDS INCOMPLETE<Tab>`` offers: (type, value) pairs."""
    found = ShellComplete(cli, {}, "hpcrun", "_HPCRUN_COMPLETE").get_completions(words, incomplete)
    return [(item.type, item.value) for item in found]


def values(words: list[str], incomplete: str) -> list[str]:
    return [value for kind, value in complete(words, incomplete) if kind == "plain"]


def record_run(name: str) -> None:
    with default_store() as store:
        store.create_run(RunRecord(run=name, workflow="train", site="local", site_config="x"))


def test_workflow_names_from_the_default_file(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    monkeypatch.chdir(tmp_path)
    assert values(["submit"], "t") == ["train", "test"]
    assert values(["render"], "") == ["train", "test", "eval"]
    assert values(["submit", "-d"], "ev") == ["eval"]
    assert values(["sweep"], "t") == ["train", "test"]  # a tick (its group loads it lazily)
    assert values(["sweep", "status"], "e") == ["eval"]
    # no workflow matches: the shell completes file names (a project, a FILE.py)
    assert complete(["submit"], "main") == [("file", "main")]


def test_dstack_folder_comes_first_and_a_named_file_wins(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path / ".dstack" / "workflows.yaml", "workflows:\n  - name: from-dstack\n")
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    write(tmp_path / "other" / "flows.yml", "workflows:\n  - name: elsewhere\n")
    monkeypatch.chdir(tmp_path)
    assert values(["submit"], "") == ["from-dstack"]
    assert values(["submit", "other/flows.yml"], "") == ["elsewhere"]
    assert workflows_file(["other/flows.yml"]) == Path("other/flows.yml")


def test_broken_or_missing_workflows_files_complete_to_nothing(tmp_path: Path) -> None:
    broken = write(tmp_path / "workflows.yaml", "workflows: [unclosed\n  - name: x")
    with pytest.raises(Exception):  # noqa: B017  (the reader raises; completion must not)
        workflow_names(broken)
    assert values(["submit", str(broken)], "") == []
    assert workflows_file([], cwd=tmp_path / "nowhere") is None
    write(tmp_path / "list.yaml", "- just\n- a list\n")
    assert workflow_names(tmp_path / "list.yaml") == []


def test_site_names_from_every_search_folder(isolated_home: Path) -> None:
    write(isolated_home / "config" / "sites" / "mycluster.yaml", "name: mycluster\n")
    assert site_names()[0] == "mycluster" and "local" in site_names()
    assert values(["submit", "--site"], "my") == ["mycluster"]
    assert values(["ps", "--site"], "lo") == ["local"]
    assert values(["site", "check"], "my") == ["mycluster"]
    assert complete(["submit", "--site"], "./sites/") == [("file", "./sites/")]


def test_run_names_and_tags(isolated_home: Path) -> None:
    assert values(["logs"], "") == []
    assert not (isolated_home / "hpcrun.db").exists()  # completing created nothing
    record_run("train-aaaa")
    record_run("train-bbbb")
    with default_store() as store:
        store.tag("train-aaaa", "best")
    assert values(["logs"], "train-") == ["train-bbbb", "train-aaaa"]
    assert values(["show"], "b") == ["best"]
    assert values(["wait", "train-aaaa"], "train-") == ["train-bbbb"]  # not twice
    for command in (["cancel"], ["artifacts"], ["rm"], ["ps"], ["rerun"], ["tag"]):
        assert "train-aaaa" in values(command, "t"), command


def test_a_broken_store_completes_to_nothing(isolated_home: Path) -> None:
    (isolated_home / "hpcrun.db").write_bytes(b"not a database" * 100)
    assert values(["logs"], "") == []


def test_the_entry_point_is_fast_and_never_prints_a_traceback(
    isolated_home: Path, tmp_path: Path
) -> None:
    write(tmp_path / "workflows.yaml", "workflows: [oops")
    (isolated_home / "hpcrun.db").write_bytes(b"garbage")
    env = {**os.environ, "_HPCRUN_COMPLETE": "bash_complete"}
    for line, cword in (("hpcrun submit t", 2), ("hpcrun logs x", 2), ("hpcrun nope x", 2),
                        ("hpcrun submit --site ", 3)):  # fmt: skip
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "hpcrun"], cwd=tmp_path, capture_output=True, text=True,
            env={**env, "COMP_WORDS": line, "COMP_CWORD": str(cword)}, timeout=30,
        )  # fmt: skip
        assert time.monotonic() - started < 3, line
        assert result.returncode == 0 and result.stderr == "", (line, result.stderr)
        assert "Traceback" not in result.stdout
    sites = subprocess.run(
        [sys.executable, "-m", "hpcrun"], cwd=tmp_path, capture_output=True, text=True,
        env={**env, "COMP_WORDS": "hpcrun submit --site lo", "COMP_CWORD": "3"}, timeout=30,
    )  # fmt: skip
    assert sites.stdout.split() == ["plain,local"]

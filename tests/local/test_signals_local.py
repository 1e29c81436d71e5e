"""The job script's signal contract on the local site (docs/interruptible.md): the program
runs as a child in its own process group, `hpcrun cancel --signal NAME` reaches it without
cancelling, `hpcrun cancel` gives it SIGTERM first, and the exit status is the program's.
Real detached processes, the real CLI."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.cli import hpcrun, ps_json
from tests.conftest import REPO, write

TRAIN = REPO / "examples" / "interruptible" / "train.py"


def project(folder: Path, workflow: str) -> None:
    write(folder / "train.py", TRAIN.read_text())
    write(folder / "workflows.yaml", "workflows:\n" + workflow)


TRAIN_WORKFLOW = (
    "  - name: train\n    provider: python\n    file: train.py\n"
    "    args: ['--steps', '200', '--step-seconds', '0.1']\n"
)


def run_record(run: str) -> dict[str, Any]:
    return next(r for r in ps_json() if r["run"] == run)


def wait_until(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def started(folder: Path) -> str:
    submitted = hpcrun("submit", "train", "-d", cwd=folder)
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    wait_until(lambda: "step 1 done" in hpcrun("logs", run).stdout)
    return run


def final(run: str) -> dict[str, Any]:
    return wait_until(lambda: (r := run_record(run))["state"] not in ("pending", "running") and r)


def test_cancel_signal_reaches_the_program_without_cancelling(tmp_path: Path) -> None:
    project(tmp_path, TRAIN_WORKFLOW)
    run = started(tmp_path)
    sent = hpcrun("cancel", "--signal", "usr1", run)
    assert sent.returncode == 0, sent.stderr
    assert f"{run} sent SIGUSR1" in sent.stderr
    record = final(run)
    # the program caught it, saved and chose its own exit status: not a cancel
    assert (record["state"], record["exit_code"]) == ("failed", 3)
    run_dir = Path(record["remote_dir"])
    assert (run_dir / "output" / "signals.txt").read_text() == "attempt 1: SIGUSR1\n"
    assert (run_dir / "checkpoint" / "state.json").is_file()
    log = hpcrun("logs", run).stdout
    assert "[hpcrun] attempt 1 started" in log
    assert "[hpcrun] attempt 1: received SIGUSR1" in log
    assert "[hpcrun] attempt 1 ended: stopped by SIGUSR1 (exit 3)" in log
    attempts = (run_dir / ".attempts").read_text().splitlines()
    assert [line.split("\t")[:3] for line in attempts][-1] == ["1", "ended", "stopped by SIGUSR1"]


def test_cancel_gives_the_program_sigterm_before_killing_it(tmp_path: Path) -> None:
    project(tmp_path, TRAIN_WORKFLOW)
    run = started(tmp_path)
    cancelled = hpcrun("cancel", run)
    assert cancelled.returncode == 0, cancelled.stderr
    record = final(run)
    assert record["state"] == "cancelled"
    signals = Path(record["remote_dir"]) / "output" / "signals.txt"
    wait_until(signals.is_file, timeout=10)
    assert signals.read_text() == "attempt 1: SIGTERM\n"  # once: only the script forwards it


def test_a_signal_reaches_every_process_of_a_bash_workflow(tmp_path: Path) -> None:
    """`commands` run in a subshell in the program's process group: a python started by
    them gets the signal too, and the job's exit status is the commands'."""
    project(
        tmp_path,
        "  - name: train\n    provider: bash\n    commands:\n"
        "      - echo preparing\n"
        "      - python3 train.py --steps 200 --step-seconds 0.1\n",
    )
    run = started(tmp_path)
    assert hpcrun("cancel", "--signal", "USR2", run).returncode == 0
    record = final(run)
    # train.py does not handle USR2: Python's default action ends it, and bash reports it
    assert (record["state"], record["exit_code"]) == ("failed", 128 + 12)
    assert "attempt 1 ended: stopped by SIGUSR2 (exit 140)" in hpcrun("logs", run).stdout


def test_signal_is_refused_for_unknown_names_and_ended_runs(tmp_path: Path) -> None:
    project(tmp_path, TRAIN_WORKFLOW.replace("'200'", "'1'"))
    done = hpcrun("submit", "train", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = ps_json()[0]["run"]
    bad = hpcrun("cancel", "--signal", "KILL", run)
    assert bad.returncode == 2
    assert "'KILL' is not a signal hpcrun forwards" in bad.stderr
    ended = hpcrun("cancel", "--signal", "USR1", run)
    assert ended.returncode == 0
    assert "had already ended: completed" in ended.stderr
    assert run_record(run)["restarts"] == 0

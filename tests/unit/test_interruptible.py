"""Interruptible and long runs (docs/interruptible.md): the site's `interruptible:` block,
resume_on_timeout, the #SBATCH lines they render, and the pure parts of tracking
(restart counts, what .attempts says). The job script's behaviour itself is exercised on
this machine in tests/local/test_signals_local.py and on the cluster in
tests/integration/test_interruptible.py."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from pydantic import ValidationError

from hpcrun.render import render_job_script
from hpcrun.schedulers import slurm, slurm_restarts
from hpcrun.schedulers.status import JobStatus
from hpcrun.signals import signal_name
from hpcrun.site.models import Site
from hpcrun.site.resolve import resolve
from hpcrun.spec.models import PythonWorkflow


def site(**fields: Any) -> Site:
    base: dict[str, Any] = {"name": "c", "scheduler": "slurm",
                            "partitions": {"default": "main", "preemptible": "spot"}}  # fmt: skip
    return Site.model_validate({**base, **fields})


def plan(the_site: Site, **fields: Any) -> Any:
    workflow = PythonWorkflow.model_validate(
        {"name": "w", "provider": "python", "file": "a.py", **fields}
    )
    return resolve(workflow, the_site, run="w-1")


def sbatch_lines(the_plan: Any) -> list[str]:
    return [line for line in render_job_script(the_plan).splitlines() if line.startswith("#SBATCH")]


def test_signal_names_are_checked_and_normalised() -> None:
    assert signal_name("usr1") == "USR1"
    assert signal_name("SIGTERM") == "TERM"
    for bad in ("KILL", "STOP", "USR1; rm -rf ~", "", "9"):
        with pytest.raises(ValueError, match="not a signal hpcrun forwards"):
            signal_name(bad)


def test_site_interruptible_block_defaults_and_refusals() -> None:
    block = site(interruptible={"qos": "scavenger"}).interruptible
    assert block is not None
    assert (block.partition, block.qos, block.requeue, block.signal, block.signal_lead) == (
        None, "scavenger", True, "USR1", 120,
    )  # fmt: skip
    assert site(interruptible={"signal": "sigusr2"}).interruptible.signal == "USR2"  # type: ignore[union-attr]
    for bad in ({"signal": "KILL"}, {"signal_lead": 0}, {"qos": "a b"}, {"nope": 1}):
        with pytest.raises(ValidationError):
            site(interruptible=bad)


def test_interruptible_renders_partition_requeue_append_and_warning() -> None:
    result = plan(site(), resources={"interruptible": True}, max_duration="1h")
    assert (result.partition, result.requeue, result.signal, result.signal_lead) == (
        "spot", True, "USR1", 120,
    )  # fmt: skip
    lines = sbatch_lines(result)
    assert "#SBATCH --partition=spot" in lines
    assert "#SBATCH --requeue" in lines
    assert "#SBATCH --open-mode=append" in lines
    assert "#SBATCH --signal=B:USR1@120" in lines


def test_interruptible_block_wins_over_partitions_and_adds_qos() -> None:
    the_site = site(interruptible={"partition": "low", "qos": "scavenger", "signal": "USR2",
                                   "signal_lead": 300})  # fmt: skip
    result = plan(the_site, resources={"interruptible": True}, max_duration="2h")
    lines = sbatch_lines(result)
    assert "#SBATCH --partition=low" in lines
    assert "#SBATCH --qos=scavenger" in lines
    assert "#SBATCH --signal=B:USR2@300" in lines
    # a QOS asked for by the workflow still wins
    asked = plan(the_site, resources={"interruptible": True}, slurm={"qos": "mine"})
    assert asked.qos == "mine"


def test_qos_alone_is_enough_for_interruptible_work() -> None:
    the_site = Site.model_validate(
        {"name": "c", "scheduler": "slurm", "interruptible": {"qos": "scavenger"}}
    )
    result = plan(the_site, resources={"interruptible": True})
    assert (result.partition, result.qos, result.requeue) == (None, "scavenger", True)


def test_requeue_disabled_renders_no_requeue() -> None:
    result = plan(site(interruptible={"requeue": False}), resources={"interruptible": True})
    lines = sbatch_lines(result)
    assert "#SBATCH --no-requeue" in lines
    assert "#SBATCH --requeue" not in lines
    assert any(line.startswith("#SBATCH --signal=B:USR1@") for line in lines)


def test_the_warning_comes_at_most_halfway_through_the_time_limit() -> None:
    result = plan(site(), resources={"interruptible": True}, max_duration="1m")
    assert result.signal_lead == 30
    assert "#SBATCH --signal=B:USR1@30" in sbatch_lines(result)


def test_resume_on_timeout_requeues_and_warns_without_interruptible() -> None:
    result = plan(site(), max_duration="4h", resume_on_timeout=5)
    assert (result.partition, result.resume_on_timeout, result.time_seconds) == (
        "main", 5, 4 * 3600,
    )  # fmt: skip
    lines = sbatch_lines(result)
    assert "#SBATCH --requeue" in lines
    assert "#SBATCH --signal=B:USR1@120" in lines
    script = render_job_script(result)
    assert "all 5 resumes used" in script
    assert 'scontrol requeue "$SLURM_JOB_ID"' in script


@pytest.mark.parametrize("value", [-1, 101, "many"])
def test_resume_on_timeout_is_a_small_count(value: object) -> None:
    with pytest.raises(ValidationError):
        plan(site(), resume_on_timeout=value)


def test_plain_jobs_get_no_warning_but_still_forward_signals() -> None:
    result = plan(site())
    lines = sbatch_lines(result)
    assert not any("--signal" in line or "requeue" in line for line in lines)
    script = render_job_script(result)
    assert "scontrol requeue" not in script
    assert 'trap "hpcrun_forward $hpcrun_sig" "$hpcrun_sig"' in script
    assert "hpcrun_finish" in script


def test_local_site_forwards_but_sets_no_scheduler_options() -> None:
    local = Site.model_validate({"name": "local", "scheduler": "local"})
    result = plan(local, resources={"interruptible": True}, resume_on_timeout=2)
    assert (result.requeue, result.signal_lead, result.resume_on_timeout) == (False, None, 0)
    assert any("cancel --signal" in warning for warning in result.warnings)
    assert any("resume_on_timeout has no effect" in warning for warning in result.warnings)
    script = render_job_script(result)
    assert ".hpcrun-program" in script and "scontrol" not in script


def test_rendered_scripts_are_valid_bash() -> None:
    for the_plan in (
        plan(site(), resources={"interruptible": True}, max_duration="1h", resume_on_timeout=3),
        plan(site(interruptible={"requeue": False}), resources={"interruptible": True}),
        plan(Site.model_validate({"name": "local", "scheduler": "local"})),
    ):
        subprocess.run(["bash", "-n"], input=render_job_script(the_plan), text=True, check=True)


def test_scancel_signal_reaches_the_batch_shell_only() -> None:
    assert slurm.scancel_signal_argv(["12", "13"], "usr1") == [
        "scancel", "--batch", "--signal=USR1", "12", "13",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        slurm.scancel_signal_argv(["12"], "KILL")


def test_restart_counts_parsed_from_squeue_format() -> None:
    assert slurm_restarts.restarts_argv(["7", "9"]) == [
        "squeue", "--noheader", "--Format=JobArrayID:|,RestartCnt:", "--jobs=7,9",
    ]  # fmt: skip
    # captured from Slurm 22.05.8 (squeue -O pads nothing with an empty width)
    text = "6957_[4-7%2]|0\n7053|1\n7054|0\ngarbage\n"
    assert slurm_restarts.parse_restarts(text) == {"7053": 1, "7054": 0}


ATTEMPTS = (
    "1\tstarted\t2026-11-29T17:41:58Z\t7053\n"
    "1\tended\tpreempted\t3\t2026-11-29T17:42:04Z\n"
    "2\tstarted\t2026-11-29T17:44:23Z\t7053\n"
)


def test_last_attempt_of_the_attempts_file() -> None:
    assert slurm_restarts.last_attempt(ATTEMPTS) == (2, "running", None)
    ended = ATTEMPTS + "2\tended\tcompleted\t0\t2026-11-29T17:44:29Z\n"
    assert slurm_restarts.last_attempt(ended) == (2, "completed", 0)
    assert slurm_restarts.last_attempt("") is None
    assert slurm_restarts.last_attempt("junk\n") is None


def test_what_really_happened_corrects_timeout_and_preempted() -> None:
    timeout = JobStatus("7", "timeout", "TIMEOUT", True, 0)
    done = "1\tended\tcompleted\t0\tT\n"
    assert slurm_restarts.what_happened(timeout, done).state == "completed"
    assert slurm_restarts.what_happened(timeout, done).exit_code == 0
    preempted = "1\tended\tpreempted\t3\tT\n"
    assert slurm_restarts.what_happened(timeout, preempted).state == "preempted"
    limit = "1\tended\ttime limit\t3\tT\n"
    was_preempted = JobStatus("7", "preempted", "PREEMPTED", True, 0)
    assert slurm_restarts.what_happened(was_preempted, limit).state == "timeout"
    # killed before it could record anything: Slurm's word stands
    assert slurm_restarts.what_happened(timeout, "1\tstarted\tT\t7\n") == timeout
    assert slurm_restarts.what_happened(timeout, "1\tended\tfailed\t1\tT\n") == timeout

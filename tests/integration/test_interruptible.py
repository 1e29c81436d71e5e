"""Interruptible and long runs on the real test cluster (docs/interruptible.md): the
example training loop (examples/interruptible/train.py) is preempted by a higher-priority
job on the same GPUs, requeued, resumes from its checkpoint and completes with every step
done once; the warning signal and plain SIGTERM reach the Python program; a run with a
1-minute limit and resume_on_timeout continues past its limit.

The test cluster's preempt partition has GraceTime=5 and SlurmctldParameters has
preempt_send_user_signal (scripts/test-cluster). Slurm holds a requeued job for 120 s
before it may start again; the tests shorten that wait with `scontrol update StartTime=now`
(what an impatient user could do too), so each takes well under two minutes.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from tests.cli import hpcrun
from tests.integration.conftest import Cluster, wait_for
from tests.integration.preemption import PreemptionSite
from tests.integration.remote import run_of, site_variant, wait_state, workflows

EXAMPLE = Path(__file__).parents[2] / "examples" / "interruptible" / "train.py"


def project(folder: Path, steps: int, extra: str = "", resources: str = "") -> None:
    workflows(
        folder,
        "workflows:\n  - name: train\n    provider: python\n    version: '3.11'\n"
        f"    file: train.py\n    args: ['--steps', '{steps}', '--step-seconds', '1']\n"
        f"{extra}    resources:\n      cpu: 1\n{resources}",
        **{"train.py": EXAMPLE.read_text()},
    )


def remote_text(cluster: Cluster, record: dict[str, Any], name: str) -> str:
    return cluster.ssh_ok(f"cat {record['remote_dir']}/{name} 2>/dev/null || true")


SEEN: dict[str, list[str]] = {}  # run -> the states until_final saw, in order


def until_final(cluster: Cluster, run: str, timeout: float) -> dict[str, Any]:
    """Wait for the run to end; each time it is requeued (pending again with more restarts)
    and the last attempt has left the node, let it start without Slurm's 120 s wait."""
    deadline = time.monotonic() + timeout
    hurried = 0
    while time.monotonic() < deadline:
        record = run_of(run)
        SEEN.setdefault(run, []).append(record["state"])
        if record["final"]:
            return record
        job = record["job_id"]
        # held by Slurm after a requeue: `preempted` (or `pending`, resuming after a time limit)
        requeued = record["state"] in ("pending", "preempted") and record["restarts"] > hurried
        if requeued and cluster.ssh_ok(f"squeue -h -j {job} -o %T").strip() == "PENDING":
            time.sleep(5)  # the node cleans up after the last attempt (KillWait=2 s)
            cluster.ssh(f"scontrol update JobId={job} StartTime=now")
            hurried = record["restarts"]
        time.sleep(1)
    raise AssertionError(f"{run} still {run_of(run)['state']} after {timeout}s")


def preempted_run(
    cluster: Cluster, preemption: PreemptionSite, folder: Path, site: str, steps: int = 14
) -> tuple[str, dict[str, Any], dict[str, Any], str]:
    """Submit the example as an interruptible run holding every GPU of the site's first
    type, preempt it with a job of the high-priority partition after a few steps, and wait
    for it to end: (run, its record while running, its final record, its log)."""
    project(folder, steps, resources=preemption.victim_resources())
    submitted = hpcrun("submit", "train", "--site", site, "-d", cwd=folder)
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    record = wait_state(run, {"running"}, timeout=60)
    wait_for("a few steps", lambda: "step 2 done" in hpcrun("logs", run).stdout, timeout=30)
    cluster.ssh_ok(preemption.preemptor_command())
    final = until_final(cluster, run, 150)
    return run, record, final, hpcrun("logs", run).stdout


def assert_every_step_once(cluster: Cluster, run: str, record: dict[str, Any], steps: int,
                           dest: Path) -> None:  # fmt: skip
    """steps.txt lists every step once, on the cluster and in the fetched artifacts."""
    every = "".join(f"{step}\n" for step in range(steps))
    assert remote_text(cluster, record, "output/steps.txt") == every
    fetched = hpcrun("artifacts", run, "--dest", str(dest))
    assert fetched.returncode == 0, fetched.stderr
    assert [p.read_text() for p in dest.rglob("steps.txt")] == [every]


def partition_of(cluster: Cluster, job: str) -> str:
    return cluster.ssh_ok(f"sacct -n -X -P -j {job} -o Partition").split()[0]


def warned_once(cluster: Cluster, record: dict[str, Any], signal: str) -> None:
    """The program's own record of the signals it got (signals.txt): only the first attempt
    was stopped, and it saw the warning (SIGTERM may come with it, as Slurm sends it too)."""
    signals = remote_text(cluster, record, "output/signals.txt").splitlines()
    got = signals[0].removeprefix("attempt 1: ").split() if len(signals) == 1 else []
    assert signal in got and set(got) <= {signal, "SIGTERM"}, signals


def test_preempted_example_resumes_and_completes_every_step_once(
    cluster: Cluster, preemption: PreemptionSite, tmp_path: Path
) -> None:
    site = str(cluster.site_config)
    run, record, final, log = preempted_run(cluster, preemption, tmp_path, site)
    assert partition_of(cluster, final["job_id"]) == preemption.preemptible_partition
    assert final["state"] == "completed", log
    assert final["restarts"] >= 1
    # shown as preempted while Slurm holds the requeued job, never as failed
    assert "preempted" in SEEN[run] and "failed" not in SEEN[run], SEEN[run]
    assert "[hpcrun] attempt 1 started\n" in log
    assert "[hpcrun] attempt 2 started (previous attempt ended: preempted)" in log
    assert re.search(r"attempt 2: resuming after step \d+", log), log
    # the warning at preemption (preempt_send_user_signal), and the program itself got it
    assert f"received {preemption.signal}" in log
    warned_once(cluster, record, preemption.signal)
    assert_every_step_once(cluster, run, record, 14, tmp_path / "fetched")
    shown = hpcrun("ps", "-a").stdout
    assert re.search(rf"{run} .*completed \(attempt [2-9]\)", shown), shown


def test_warning_signal_and_sigterm_reach_the_python_program(
    cluster: Cluster, tmp_path: Path
) -> None:
    project(tmp_path, 60)
    runs = []
    for _ in range(2):
        submitted = hpcrun("submit", "train", "--site", str(cluster.site_config), "-d",
                           cwd=tmp_path)  # fmt: skip
        assert submitted.returncode == 0, submitted.stderr
        runs.append(submitted.stdout.strip())
    for run in runs:
        wait_state(run, {"running"}, timeout=60)
        wait_for("the first step", lambda r=run: "step 0 done" in hpcrun("logs", r).stdout)
    # USR1 as `hpcrun cancel --signal` sends it (scancel --batch: only the batch shell)
    signalled = hpcrun("cancel", "--signal", "USR1", runs[0])
    assert signalled.returncode == 0, signalled.stderr
    assert "sent SIGUSR1" in signalled.stderr + signalled.stdout
    # plain SIGTERM, as Slurm sends it to a cancelled job
    cancelled = hpcrun("cancel", runs[1])
    assert cancelled.returncode == 0, cancelled.stderr
    usr1 = wait_state(runs[0], {"failed", "completed", "cancelled"}, timeout=60)
    term = wait_state(runs[1], {"failed", "completed", "cancelled"}, timeout=60)
    assert usr1["state"] == "failed" and usr1["exit_code"] == 3  # the program's own status
    assert remote_text(cluster, usr1, "output/signals.txt") == "attempt 1: SIGUSR1\n"
    assert term["state"] == "cancelled"
    wait_for(
        "the program's record of SIGTERM",
        lambda: remote_text(cluster, term, "output/signals.txt") == "attempt 1: SIGTERM\n",
        timeout=30,
    )
    assert "attempt 1 ended: stopped by SIGUSR1 (exit 3)" in hpcrun("logs", runs[0]).stdout


def test_resume_on_timeout_runs_past_the_time_limit(cluster: Cluster, tmp_path: Path) -> None:
    # 1 minute is Slurm's smallest --time; warned 20 s before it (Slurm checks its timers
    # every ~30 s, so the warning may come earlier): each attempt does some 20-40 steps
    site = site_variant(cluster.site_config, tmp_path, interruptible={"signal_lead": 20})
    project(tmp_path, 40, extra="    max_duration: 1m\n    resume_on_timeout: 4\n")
    submitted = hpcrun("submit", "train", "--site", site, "-d", cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    record = wait_state(run, {"running"}, timeout=60)
    final = until_final(cluster, run, 240)
    log = hpcrun("logs", run).stdout
    assert final["state"] == "completed", log
    assert "attempt 1 ended: time limit (exit 3)" in log
    assert "[hpcrun] attempt 2 started (previous attempt ended: time limit)" in log
    assert remote_text(cluster, record, "output/steps.txt") == "".join(
        f"{step}\n" for step in range(40)
    )


def test_resume_on_timeout_stops_when_the_run_budget_is_spent(
    cluster: Cluster, tmp_path: Path
) -> None:
    # job_time 1m per job, max_duration 2m for the whole run: attempts of some 20-50 s
    # (warned 20 s before each limit) until less than a minute of the budget is left
    site = site_variant(cluster.site_config, tmp_path, interruptible={"signal_lead": 20})
    extra = "    max_duration: 2m\n    job_time: 1m\n    resume_on_timeout: 9\n"
    project(tmp_path, 400, extra=extra)
    submitted = hpcrun("submit", "train", "--site", site, "-d", cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    record = wait_state(run, {"running"}, timeout=60)
    script = cluster.ssh_ok(f"cat {record['remote_dir']}/job.sh 2>/dev/null || true")
    final = until_final(cluster, run, 300)
    log = hpcrun("logs", run).stdout
    assert final["state"] == "timeout", log
    spent = re.search(r"\[hpcrun\] budget of 2m spent after (\d+) attempts \(", log)
    assert spent, log
    attempts = int(spent.group(1))
    assert 2 <= attempts <= 6, log
    assert log.count("requeueing job") == attempts - 1, log
    assert f"attempt {attempts} ended: time limit (exit 3)" in log
    assert f"attempt {attempts + 1} started" not in log
    assert "#SBATCH --time=00:01:00" in script and "hpcrun_budget_seconds=120" in script
    # every step done at most once across the attempts, and not all of them
    done = re.findall(r"^step (\d+) done$", log, re.MULTILINE)
    assert done == [str(step) for step in range(len(done))] and 0 < len(done) < 400

"""Regenerate the real Slurm captures in this folder (see README.md).

Run as root on the test cluster (``scripts/test-cluster up``): jobs are submitted and
queried as the login user with the exact argv of ``hpcrun.schedulers.slurm``. Takes about
five minutes (a job must time out, then squeue must forget the finished jobs).

    python3 tests/data/slurm/capture.py
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hpcrun.schedulers import slurm

HERE = Path(__file__).resolve().parent
USER = "hpcuser"
SLURM_CONF = Path("/etc/slurm/slurm.conf")


def run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` as the login user, through a login shell like the SSH transport."""
    command = ["su", "-", USER, "-c", shlex.join(argv)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=180)
    if check and result.returncode != 0:
        sys.exit(f"{shlex.join(argv)} failed ({result.returncode}): {result.stderr}")
    return result


def save(name: str, result: subprocess.CompletedProcess[str], argv: list[str]) -> None:
    (HERE / f"{name}.stdout").write_text(result.stdout)
    if result.stderr or result.returncode:
        (HERE / f"{name}.stderr").write_text(result.stderr)
    commands = json.loads((HERE / "commands.json").read_text())
    commands[name] = {"argv": argv, "returncode": result.returncode}
    (HERE / "commands.json").write_text(json.dumps(commands, indent=2, sort_keys=True) + "\n")
    print(f"captured {name} (rc {result.returncode})", flush=True)


def submit(role: str, options: list[str], command: str, jobs: dict[str, str]) -> str:
    argv = slurm.sbatch_argv(
        "", [f"--job-name=parsers-{role}", "--output=/dev/null", "--mem=64M", *options]
    )
    argv = [*argv[:-1], "--wrap", command]  # --wrap instead of a script file
    result = run(argv)
    jobs[role] = slurm.parse_sbatch(result.stdout)
    if role == "completed":
        save("sbatch_parsable", result, argv)
    return jobs[role]


def squeue(ids: list[str]) -> dict[str, slurm.JobStatus]:
    return slurm.parse_squeue(run(slurm.squeue_argv(ids)).stdout)


def snapshot(name: str, ids: list[str]) -> None:
    for tool, argv in (("squeue", slurm.squeue_argv(ids)), ("sacct", slurm.sacct_argv(ids))):
        save(f"{name}.{tool}", run(argv, check=False), argv)


def wait(what: str, ready: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(2)


def state_of(job_id: str) -> str:
    return squeue([job_id, job_id]).get(job_id, slurm.JobStatus(job_id, "", "", False)).raw_state


def bogus_conf(directory: Path) -> Path:
    """slurm.conf with the controller and slurmdbd ports moved to where nothing listens."""
    lines = []
    for line in SLURM_CONF.read_text().splitlines():
        key = line.split("=", 1)[0].strip().lower()
        if key in ("slurmctldport", "accountingstorageport"):
            continue
        lines.append(line)
    lines += ["SlurmctldPort=1", "AccountingStoragePort=1"]
    path = directory / "slurm.conf"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o644)
    return path


def main() -> None:
    (HERE / "commands.json").write_text("{}\n")
    for old in [*HERE.glob("*.stdout"), *HERE.glob("*.stderr")]:
        old.unlink()
    jobs: dict[str, str] = {}
    submit("completed", [], "echo hello", jobs)
    submit("failed", [], "exit 3", jobs)
    submit("running", [], "sleep 300", jobs)  # cancelled once running
    submit("pending", ["--begin=now+3600"], "true", jobs)  # cancelled while pending
    submit("held", ["--hold"], "true", jobs)  # cancelled while held
    submit("timeout", ["--time=1"], "sleep 600", jobs)
    submit(
        "oom",
        ["--mem=100M"],  # killed by OverMemoryKill (jobacct_gather), not by cgroups
        "python3 -c 'x = bytearray(400 * 2**20); import time; time.sleep(10)'",
        jobs,
    )
    submit("array", ["--array=0-3%2"], "sleep 15", jobs)
    submit("array_mixed", ["--array=0-2"], "exit $(( SLURM_ARRAY_TASK_ID == 2 ? 2 : 0 ))", jobs)
    submit("requeued", [], "sleep 20", jobs)  # `scontrol requeue`d once running
    # GPU preemption: main (tier 10) preempts the preempt partition (PreemptMode=REQUEUE).
    submit("preempted_requeued", ["--partition=preempt", "--gres=gpu:v100:2"], "sleep 25", jobs)
    submit(
        "preempted_final",
        ["--partition=preempt", "--gres=gpu:a100:2", "--no-requeue"],
        "sleep 300",
        jobs,
    )
    ids = list(jobs.values())
    (HERE / "jobs.json").write_text(json.dumps(jobs, indent=2) + "\n")

    wait(
        "jobs to start",
        lambda: all(
            state_of(jobs[role]) == "RUNNING"
            for role in ("running", "requeued", "preempted_requeued", "preempted_final")
        ),
        60,
    )
    subprocess.run(["scontrol", "requeue", jobs["requeued"]], check=True)
    submit("preemptor", ["--gres=gpu:v100:2,gpu:a100:2"], "sleep 10", jobs)
    ids = list(jobs.values())
    (HERE / "jobs.json").write_text(json.dumps(jobs, indent=2) + "\n")
    time.sleep(3)
    snapshot("live", ids)

    for role in ("running", "pending", "held"):
        run(slurm.scancel_argv([jobs[role]]))
    wait("every job to end", lambda: all(s.final for s in squeue(ids).values()), 300)
    snapshot("finished", ids)
    ended = slurm.parse_sacct((HERE / "finished.sacct.stdout").read_text())
    for role, job_id in jobs.items():
        status = ended.get(job_id)
        if role not in ("running", "pending", "held") and status and status.state == "cancelled":
            sys.exit(f"job {job_id} ({role}) was cancelled by someone else: run again")
    # The same, as sacct prints it without SLURM_TIME_FORMAT (cluster-local ISO times).
    argv = slurm.sacct_argv(ids)[2:]
    save("finished_iso.sacct", run(argv), argv)

    wait("squeue to forget the jobs", lambda: not squeue(ids), 400)
    snapshot("purged", ids)
    one = slurm.squeue_argv([jobs["completed"]])
    save("purged_single.squeue", run(one, check=False), one)
    cancel = slurm.scancel_argv([jobs["completed"]])
    save("purged.scancel", run(cancel, check=False), cancel)
    bad = [*slurm.sbatch_argv("", ["--partition=nosuch"])[:-1], "--wrap", "true"]
    save("bad_partition.sbatch", run(bad, check=False), bad)

    with tempfile.TemporaryDirectory() as directory:
        Path(directory).chmod(0o755)
        conf = bogus_conf(Path(directory))
        for tool, argv in (("squeue", slurm.squeue_argv(ids)), ("sacct", slurm.sacct_argv(ids))):
            unreachable = ["env", f"SLURM_CONF={conf}", *argv]
            save(f"unreachable.{tool}", run(unreachable, check=False), unreachable)


if __name__ == "__main__":
    main()

"""Regenerate the sbatch rejection and pending-reason captures (see README.md): ~1 minute.

Run as root on the test cluster (``scripts/test-cluster up``):

    python3 tests/data/slurm/capture_reasons.py

Every job is cancelled at the end; nothing runs longer than a few seconds.
"""

from __future__ import annotations

import time

from capture import run, save  # type: ignore[import-not-found]  # run from this folder

from hpcrun.schedulers import slurm

BASE = ["--output=/dev/null", "--mem=64M"]

# name -> sbatch options that the test cluster refuses at submit time
REJECTED = {
    "reject_gpu_count": ["--gres=gpu:a100:99"],
    "reject_memory": ["--mem=10T"],
    "reject_partition": ["--partition=nosuch"],
    "reject_gres_type": ["--gres=gpu:h100:1"],
}
# name -> sbatch options that the test cluster accepts, with the reason they then pend with
PENDING = {
    "cpus": ["--cpus-per-task=999"],  # PartitionConfig
    "nodes": ["--nodes=5"],  # PartitionNodeLimit
    "qos": ["--qos=nosuch", "--begin=now+3600"],  # accepted: no AccountingStorageEnforce
    "account": ["--account=nosuch", "--begin=now+3600"],  # same
    "begin": ["--begin=now+3600"],  # BeginTime
    "held": ["--hold"],  # JobHeldUser
    "time": ["--partition=short", "--time=10"],  # PartitionTimeLimit (MaxTime=5)
}


def sbatch(options: list[str], command: str = "true") -> list[str]:
    argv = slurm.sbatch_argv("", [*BASE, *options])
    return [*argv[:-1], "--wrap", command]


def main() -> None:
    for name, options in REJECTED.items():
        argv = sbatch(options)
        save(f"{name}.sbatch", run(argv, check=False), argv)
    jobs: dict[str, str] = {}
    for name, options in PENDING.items():
        argv = sbatch(options)
        result = run(argv, check=False)
        save(f"accept_{name}.sbatch", result, argv)
        if result.returncode == 0:
            jobs[name] = slurm.parse_sbatch(result.stdout)
    failed = slurm.parse_sbatch(run(sbatch(["--job-name=reasons-failed"], "exit 3")).stdout)
    sleeper = slurm.parse_sbatch(run(sbatch(["--job-name=reasons-sleeper"], "sleep 30")).stdout)
    time.sleep(5)  # the failed job has ended
    jobs["dependency_never"] = slurm.parse_sbatch(
        run(sbatch([f"--dependency=afterok:{failed}"])).stdout
    )
    jobs["dependency"] = slurm.parse_sbatch(run(sbatch([f"--dependency=afterok:{sleeper}"])).stdout)
    ids = sorted(jobs.values(), key=int)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # until the scheduler has looked at every job
        listed = slurm.parse_squeue(run(slurm.squeue_argv(ids)).stdout)
        if all(status.reason not in (None, "None") for status in listed.values()):
            break
        time.sleep(3)
    argv = slurm.squeue_argv(ids)
    save("reasons.squeue", run(argv), argv)
    run(slurm.scancel_argv([*ids, sleeper]), check=False)
    print({name: jobs[name] for name in sorted(jobs)})


if __name__ == "__main__":
    main()

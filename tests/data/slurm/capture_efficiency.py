"""Regenerate the usage capture (``efficiency.sacct``, see README.md): about 20 seconds.

Run as root on the test cluster (``scripts/test-cluster up``). Four jobs: one that holds
about 60 MiB and keeps a CPU busy for 3 s (``--mem=200M``, 2 CPUs), one with a per-CPU
request (``--mem-per-cpu=100M``, 2 CPUs) that runs an srun step, one that fails, and one
cancelled before it started. Once they ended, the poll's sacct with the usage fields
(``slurm_efficiency.sacct_argv``) is captured.

    python3 tests/data/slurm/capture_efficiency.py
"""

from __future__ import annotations

import json
import time

from capture import HERE, run, save  # type: ignore[import-not-found]  # run from this folder

from hpcrun.schedulers import slurm, slurm_efficiency

BUSY = (
    'python3 -c \'import time; x = bytearray(60 * 2**20); x[::4096] = b"1" * len(x[::4096]);'
    " end = time.time() + 3\nwhile time.time() < end: pass'"
)
JOBS = {
    "busy": (["--mem=200M", "--cpus-per-task=2"], BUSY),
    "per_cpu": (["--mem-per-cpu=100M", "--cpus-per-task=2"], "srun sleep 2"),
    "failed": (["--mem=64M"], "sleep 2; exit 3"),
    "never_started": (["--mem=64M", "--begin=now+3600"], "true"),
}


def main() -> None:
    ids: dict[str, str] = {}
    for role, (options, command) in JOBS.items():
        argv = ["sbatch", "--parsable", f"--job-name=usage-{role}", "--output=/dev/null",
                *options, "--wrap", command]  # fmt: skip
        ids[role] = slurm.parse_sbatch(run(argv).stdout)
    run(slurm.scancel_argv([ids["never_started"]]))
    deadline = time.monotonic() + 300
    while True:
        argv = slurm_efficiency.sacct_argv(list(ids.values()))
        result = run(argv)
        text, _ = slurm_efficiency.split_sacct(result.stdout)
        statuses = slurm.parse_sacct(text)
        if set(statuses) == set(ids.values()) and all(s.final for s in statuses.values()):
            break
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the jobs to end")
        time.sleep(2)
    time.sleep(2)  # let the last step records reach slurmdbd
    result = run(argv)
    save("efficiency.sacct", result, argv)
    (HERE / "efficiency_jobs.json").write_text(json.dumps(ids, indent=2) + "\n")


if __name__ == "__main__":
    main()

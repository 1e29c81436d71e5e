"""Regenerate the job-by-name captures (``byname.*``, see README.md): about 15 seconds.

Run as root on the test cluster (``scripts/test-cluster up``). Two jobs carry the name
``byname-twice``, one ``byname-once``; squeue is asked while they run, sacct once they
ended, and both for a name no job carries.

    python3 tests/data/slurm/capture_names.py
"""

from __future__ import annotations

import time

from capture import run, save  # type: ignore[import-not-found]  # run from this folder

from hpcrun.schedulers import slurm

NAMES = ["byname-twice", "byname-once", "byname-none"]


def main() -> None:
    for name in ("byname-twice", "byname-twice", "byname-once"):
        argv = ["sbatch", "--parsable", f"--job-name={name}", "--output=/dev/null",
                "--mem=64M", "--wrap", "sleep 4"]  # fmt: skip
        run(argv)
    argv = slurm.squeue_by_name_argv(NAMES)
    save("byname_live.squeue", run(argv), argv)
    argv = slurm.squeue_by_name_argv(["byname-none"])
    save("byname_none.squeue", run(argv), argv)
    time.sleep(12)
    argv = slurm.sacct_by_name_argv(NAMES, 600)
    save("byname_finished.sacct", run(argv), argv)
    argv = slurm.sacct_by_name_argv(["byname-none"], 600)
    save("byname_none.sacct", run(argv), argv)


if __name__ == "__main__":
    main()

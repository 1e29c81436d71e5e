"""On the real test cluster: jobs that Slurm ends FAILED (a SIGKILL, 0:9, with and without
slurmstepd's memory message in the log; a program that recorded a time limit or a
preemption in .attempts) are polled together: their states are corrected from their own
files, read in ONE command after the poll's squeue and sacct (not one per job)."""

from __future__ import annotations

import shlex
import uuid
from typing import Any

from hpcrun.ops.session import Session
from hpcrun.transport.base import CommandResult, Shell
from tests.integration.conftest import Cluster, wait_for

_ATTEMPT = 'printf "1\\tstarted\\t2026-01-01T00:00:00Z\\t%s\\n1\\tended\\t{why}\\t{code}\\tX\\n" '
SCRIPTS = {  # run folder -> (job script body, (state, exit code) the poll must give)
    # slurmstepd's message written by the job itself: a real memory kill takes longer
    # (test_remote_runs.py::test_job_over_its_memory has one)
    "oom": (
        'echo "slurmstepd: error: Job $SLURM_JOB_ID exceeded memory limit (300 > 200)"\nkill -9 $$',
        ("out_of_memory", 137),
    ),
    "killed it's": ("echo working\nkill -9 $$", ("failed", 137)),
    "time limit": (
        _ATTEMPT.format(why="time limit", code=2) + '"$SLURM_JOB_ID" > .attempts\nexit 2',
        ("timeout", 2),
    ),
    "preempted": (
        _ATTEMPT.format(why="preempted", code=1) + '"$SLURM_JOB_ID" > .attempts\nexit 1',
        ("preempted", 1),
    ),
    "done": ("echo fine", ("completed", 0)),
}
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "PREEMPTED")


class _Counting:
    """The session's real transport, recording each command the backend runs."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.commands: list[Any] = []

    def run(self, command: Any, **kwargs: Any) -> CommandResult:
        self.commands.append(command)
        return self.inner.run(command, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_ended_jobs_files_are_read_in_one_command(cluster: Cluster) -> None:
    top = f"hpcrun-test-poll-reads-{uuid.uuid4().hex[:8]}"
    home = cluster.ssh_ok("echo $HOME").strip()
    jobs: dict[str, str] = {}  # job id -> run folder
    try:
        for name, (body, _) in SCRIPTS.items():
            folder = f"{home}/{top}/{name}"
            cluster.ssh_ok(f"mkdir -p {shlex.quote(folder)}")
            job = cluster.sbatch(
                "-t 1 -o slurm-%j.log -J hpcrun-test-poll-reads",
                f"#!/bin/bash\n{body}\n",
                cwd=shlex.quote(folder),
            )
            jobs[job] = folder

        def all_ended() -> bool:
            out = cluster.ssh_ok(f"sacct -X -n -P -j {','.join(jobs)} --format=JobID,State")
            states = dict(line.split("|", 1) for line in out.splitlines() if "|" in line)
            return len(states) == len(jobs) and all(
                state.split()[0] in FINAL for state in states.values()
            )

        wait_for("the jobs to end in sacct", all_ended, timeout=60, interval=0.5)
        with Session() as session:
            site, _ = session.site(str(cluster.site_config))
            transport = _Counting(session.transport(site))
            statuses = session.backend(site).poll(transport, jobs)
    finally:
        cluster.ssh(f"rm -rf {shlex.quote(top)}")
    got = {jobs[job].rpartition("/")[2]: (s.state, s.exit_code) for job, s in statuses.items()}
    assert got == {name: want for name, (_, want) in SCRIPTS.items()}
    shells = [command for command in transport.commands if isinstance(command, Shell)]
    # squeue, sacct, and ONE command reading the .attempts and log ends of four jobs
    assert len(shells) == 1 and len(transport.commands) == 3, transport.commands

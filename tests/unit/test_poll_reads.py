"""A Slurm poll that sees many jobs end TIMEOUT/PREEMPTED/FAILED reads their .attempts and
log ends in ONE command, not one per job (hpcrun.ops.backends.file_ends). squeue and sacct
are answered here from canned text (tests/integration/test_poll_reads_remote.py does it
on the real cluster); the files are real, read by bash through the local transport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpcrun.ops.backends import file_ends
from hpcrun.ops.backends.slurm import SlurmBackend
from hpcrun.transport.base import CommandResult, Shell
from hpcrun.transport.local import LocalTransport

_TIMES = "1764460000|1764460060|00:01:00|00:00:50|8264K|1000M|cpu=1,mem=1000M,node=1|node1|1"
SACCT = {  # job id -> (State, ExitCode) as sacct prints them
    "101": ("TIMEOUT", "0:0"),  # the program had completed: .attempts says so
    "102": ("PREEMPTED", "0:0"),  # .attempts: it stopped at its time limit
    "103": ("FAILED", "0:9"),  # SIGKILL, slurmstepd's memory message in the log
    "104": ("FAILED", "0:9"),  # SIGKILL for another reason
    "105": ("TIMEOUT", "0:0"),  # no .attempts (never started its program)
    "106": ("COMPLETED", "0:0"),  # nothing to read
}
ATTEMPTS = {
    "101": "0\told\n1\tstarted\t2026-01-01T00:00:00Z\t101\n1\tended\tcompleted\t0\tX\n",
    "102": "1\tstarted\t2026-01-01T00:00:00Z\t102\n1\tended\ttime limit\t143\tX\n",
}
LOGS = {
    "103": "x" * 20000 + "\nslurmstepd: error: Job 103 exceeded memory limit (9 > 8)\n",
    "104": "exceeded memory limit\n" + "y" * 9000,  # too far from the end: not the cause
}


class _FakeSlurm(LocalTransport):
    """squeue lists nothing (the jobs have left it), sacct prints SACCT; every other
    command runs here for real. Records what was run."""

    def __init__(self) -> None:
        self.commands: list[Any] = []

    def run(self, command: Any, **kwargs: Any) -> CommandResult:
        self.commands.append(command)
        if isinstance(command, Shell):
            return super().run(command, **kwargs)
        if "squeue" in command:
            return CommandResult("squeue", 0, "", "")
        asked = next(arg for arg in command if arg.startswith("--jobs=")).split("=")[1]
        lines = [f"{job}|{SACCT[job][0]}|{SACCT[job][1]}|{_TIMES}|None"
                 for job in asked.split(",")]  # fmt: skip
        return CommandResult("sacct", 0, "\n".join(lines) + "\n", "")


def _run_dirs(tmp_path: Path) -> dict[str, str]:
    dirs = {}
    for job in SACCT:
        folder = tmp_path / f"run {job}'s"  # quoting matters
        folder.mkdir()
        if job in ATTEMPTS:
            (folder / ".attempts").write_text(ATTEMPTS[job])
        if job in LOGS:
            (folder / f"slurm-{job}.log").write_text(LOGS[job])
        dirs[job] = str(folder)
    return dirs


def test_many_ended_jobs_cost_one_read(tmp_path: Path) -> None:
    transport = _FakeSlurm()
    statuses = SlurmBackend().poll(transport, _run_dirs(tmp_path))
    states = {job: (status.state, status.exit_code) for job, status in statuses.items()}
    assert states == {
        "101": ("completed", 0),
        "102": ("timeout", None),
        "103": ("out_of_memory", 137),
        "104": ("failed", 137),
        "105": ("timeout", None),
        "106": ("completed", 0),
    }
    shells = [command for command in transport.commands if isinstance(command, Shell)]
    assert len(transport.commands) == 3 and len(shells) == 1  # squeue, sacct, ONE read


def test_a_poll_without_such_jobs_reads_nothing(tmp_path: Path) -> None:
    transport = _FakeSlurm()
    dirs = _run_dirs(tmp_path)
    SlurmBackend().poll(transport, {"106": dirs["106"]})
    assert not any(isinstance(command, Shell) for command in transport.commands)


def test_each_file_gets_its_own_text_whatever_it_holds() -> None:
    marker = "hpcrun-0123456789abcdef"
    stdout = (
        "login banner\n"
        f"\n{marker} 0\nhpcrun-0000 1\nno final newline"  # a forged marker, no newline
        f"\n{marker} 1\n"  # missing file: nothing
        f"\n{marker} 2\nlast\n"
        f"\n{marker} end\ntrailing noise\n"
    )
    assert file_ends.parse(stdout, marker, 3) == {
        0: "hpcrun-0000 1\nno final newline",
        1: "",
        2: "last\n",
    }
    cut_off = stdout[: stdout.index(f"\n{marker} end")]
    assert file_ends.parse(cut_off, marker, 3) == {0: "hpcrun-0000 1\nno final newline", 1: ""}


def test_paths_too_long_for_one_argument_are_split_over_commands() -> None:
    wanted = [(file_ends.LAST_8K, f"/runs/{'x' * 90}/{i}/slurm-{i}.log") for i in range(2000)]
    batches = file_ends._batches(wanted)
    assert len(batches) > 1 and sorted(i for batch in batches for i in batch) == list(range(2000))
    for batch in batches:
        code = file_ends.script("hpcrun-x", [wanted[i] for i in batch])
        assert len(code) <= file_ends.MAX_CODE
    assert len(file_ends._batches(wanted[:300])) == 1  # hundreds fit in one

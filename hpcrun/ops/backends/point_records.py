"""What a sweep point's own folder says about how its task ended.

Each task of a sweep's array writes, in its point folder, ``.array-task`` (``ARRAY_TASK``
of the task that runs the point now: a retry is a new array) and, through the job script,
``.attempts`` (each attempt's start and end, with why it ended and the exit code). Slurm's
TIMEOUT, PREEMPTED or FAILED is not always the truth (templates/slurm/attempt.sh.j2): the
point's record corrects it, as it does for a single run, and without sacct (restricted
keys) it is the only record of an exit code.

Read in ONE round trip for all points: a shell loop over the folders, or one rsync where
no shell is allowed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpcrun.ops.backends import file_ends
from hpcrun.schedulers import slurm_restarts
from hpcrun.schedulers.status import JobStatus

ARRAY_TASK_FILE = ".array-task"
CORRECTED_STATES = ("timeout", "preempted", "failed")

Records = dict[str, tuple[str, str]]  # point folder -> (.array-task, end of .attempts)


def read_with_shell(transport: Any, point_dirs: Sequence[str]) -> Records:
    """.array-task's first line and .attempts' last lines of every folder, by one shell
    loop (``file_ends``); '' for what is missing."""
    if not point_dirs:
        return {}
    tasks = [(file_ends.FIRST_LINE, f"{d}/{ARRAY_TASK_FILE}") for d in point_dirs]
    attempts = [(file_ends.LAST_TWO_LINES, f"{d}/{slurm_restarts.ATTEMPTS_FILE}")
                for d in point_dirs]  # fmt: skip
    texts = file_ends.read_ends(transport, tasks + attempts)
    count = len(point_dirs)
    return {d: (texts[i].strip(), texts[count + i]) for i, d in enumerate(point_dirs)}


def read_with_rsync(transport: Any, point_dirs: Sequence[str]) -> Records:
    """The same records through ONE rsync; '' for what is missing."""
    wanted = (ARRAY_TASK_FILE, slurm_restarts.ATTEMPTS_FILE)
    texts = read_files(transport, point_dirs, wanted)
    return {d: (texts[d][ARRAY_TASK_FILE].strip(), texts[d][slurm_restarts.ATTEMPTS_FILE])
            for d in point_dirs}  # fmt: skip


def read_files(
    transport: Any, folders: Sequence[str], names: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Per folder, the text of each of its files ``names`` ('' when missing), fetched by
    ONE rsync: the folders share their parent (a sweep's points/ or chunks/), and no
    shell is needed (restricted keys)."""
    if not folders:
        return {}
    parent = folders[0].rpartition("/")[0]
    subs = [folder.rpartition("/")[2] for folder in folders]
    with tempfile.TemporaryDirectory(prefix="hpcrun-records-") as tmp:
        transport.sync_down(parent, [f"{sub}/{name}" for sub in subs for name in names],
                            Path(tmp))  # fmt: skip
        return {
            folder: {name: _text(Path(tmp, sub, name)) for name in names}
            for folder, sub in zip(folders, subs, strict=True)
        }


def attempts_of(records: Records, point_dir: str, key: tuple[str, int]) -> str:
    """The point's .attempts if its latest task is ``key`` (array, index); else '' (an
    earlier array of this point wrote it, or the task never started)."""
    task, attempts = records.get(point_dir, ("", ""))
    return attempts if task == f"{key[0]}_{key[1]}" else ""


def corrected(
    statuses: Mapping[tuple[str, int], JobStatus],
    points: Mapping[tuple[str, int], str],
    records: Records,
) -> dict[tuple[str, int], JobStatus]:
    """Final TIMEOUT/PREEMPTED/FAILED tasks as their points' records say they ended."""
    result = dict(statuses)
    for key in _doubtful(statuses, points):
        attempts = attempts_of(records, points[key], key)
        if attempts:
            result[key] = slurm_restarts.what_happened(statuses[key], attempts)
    return result


def to_correct(
    statuses: Mapping[tuple[str, int], JobStatus], points: Mapping[tuple[str, int], str]
) -> list[str]:
    """The point folders ``corrected`` needs the records of."""
    return [points[key] for key in _doubtful(statuses, points)]


def _doubtful(
    statuses: Mapping[tuple[str, int], JobStatus], points: Mapping[tuple[str, int], str]
) -> list[tuple[str, int]]:
    """Tasks Slurm ended TIMEOUT, PREEMPTED or FAILED whose point folder is known."""
    return [key for key, status in statuses.items()
            if status.final and status.state in CORRECTED_STATES and key in points]  # fmt: skip


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""

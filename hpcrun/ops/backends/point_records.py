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

import shlex
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpcrun.schedulers import slurm_restarts
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import Shell

ARRAY_TASK_FILE = ".array-task"
CORRECTED_STATES = ("timeout", "preempted", "failed")
_POINT = "hpcrun-point "
_ATTEMPTS = "hpcrun-attempts"
# Per folder (numbered): a marker, .array-task's first line, a marker, .attempts' last lines.
_TAILS = """i=0
for d in {dirs}; do
  printf '{point}%s\\n' "$i"
  head -n 1 "$d/{task_file}" 2>/dev/null
  printf '{attempts}\\n'
  tail -n 2 "$d/{attempts_file}" 2>/dev/null
  i=$((i + 1))
done
"""

Records = dict[str, tuple[str, str]]  # point folder -> (.array-task, end of .attempts)


def read_with_shell(transport: Any, point_dirs: Sequence[str]) -> Records:
    if not point_dirs:
        return {}
    code = _TAILS.format(
        dirs=" ".join(shlex.quote(d) for d in point_dirs), point=_POINT, attempts=_ATTEMPTS,
        task_file=ARRAY_TASK_FILE, attempts_file=slurm_restarts.ATTEMPTS_FILE,
    )  # fmt: skip
    answer = transport.run(Shell(code))
    return parse_tails(answer.stdout, point_dirs) if answer.ok else {}


def parse_tails(stdout: str, point_dirs: Sequence[str]) -> Records:
    records: Records = {}
    index, task, attempts, in_attempts = None, "", [], False

    def flush() -> None:
        if index is not None and index < len(point_dirs):
            records[point_dirs[index]] = (task.strip(), "".join(attempts))

    for line in stdout.splitlines(keepends=True):
        bare = line.rstrip("\n")
        if bare.startswith(_POINT) and bare[len(_POINT) :].isdigit():
            flush()
            index, task, attempts, in_attempts = int(bare[len(_POINT) :]), "", [], False
        elif bare == _ATTEMPTS:
            in_attempts = True
        elif in_attempts:
            attempts.append(line)
        elif index is not None and not task:
            task = bare
    flush()
    return records


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

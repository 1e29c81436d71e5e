"""One user-facing error type, with an exit code per kind of failure.

Everything a user can cause (bad YAML, unknown site, unreachable host) is an
``HpcrunError``: the CLI prints ``message`` and ``hint`` and exits with ``exit_code``,
with no traceback. Anything else is a bug and keeps its traceback behind ``--debug``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# The job may be queued or running, but hpcrun lost track of it: the connection to the
# cluster stayed lost longer than hpcrun retries (or broke while sbatch may have run), or
# the job IS queued but recording it locally failed (disk full, database locked). Never 1
# ("failed"), so a script neither reports a failure nor blindly submits again.
# EX_TEMPFAIL of sysexits.h.
EXIT_CONNECTION_LOST = 75
EXIT_QUEUED_NOT_RECORDED = EXIT_CONNECTION_LOST
# Waiting for runs gave up at its --timeout while some were still going (like timeout(1)).
EXIT_WAIT_TIMEOUT = 124


class HpcrunError(Exception):
    """Base of every error that is meant for the user, not for a traceback."""

    exit_code = EXIT_RUNTIME

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(HpcrunError):
    """Bad input: a wrong argument, an unknown name, an unreadable file."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One mistake in a YAML file, where it is, and how to fix it."""

    location: Location | None
    field: str
    message: str
    hint: str | None = None

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field = f"{self.field}: " if self.field else ""
        text = f"{where}{field}{self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        """``validate --json``'s object: file/line/column are null when unknown."""
        where = self.location
        return {"file": where.file if where else None, "line": where.line if where else None,
                "column": where.column if where else None, "field": self.field,
                "message": self.message, "hint": self.hint}  # fmt: skip


class SpecError(UsageError):
    """One or more problems in a workflows file or a site config, reported together."""

    def __init__(self, problems: Sequence[Problem], summary: str | None = None) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = summary or f"{count} problem{'s' if count != 1 else ''} found"
        super().__init__(head)

    def render(self) -> str:
        lines = [problem.render() for problem in self.problems]
        lines.append(f"error: {self.message}")
        return "\n".join(lines)


class ResolveError(UsageError):
    """The workflow asks for something the site cannot provide."""


class QueuedNotRecordedError(HpcrunError):
    """The scheduler accepted the job, but recording its id in the local database failed."""

    exit_code = EXIT_QUEUED_NOT_RECORDED

    def __init__(self, run: str, job_id: str, cause: HpcrunError | OSError) -> None:
        self.run, self.job_id = run, job_id
        reason = cause.message if isinstance(cause, HpcrunError) else str(cause)
        super().__init__(
            f"run {run} IS queued as job {job_id}, but recording it failed: {reason}",
            "do not submit it again. Once the database can be written (free space, or let "
            "the other process finish), run `hpcrun ps` with the same HPCRUN_HOME: it adopts "
            f"job {job_id} from the run folder and tracks the run as usual",
        )


class RemoteError(HpcrunError):
    """The cluster, the connection or the scheduler failed."""


class ScriptRejectedError(RemoteError):
    """``render --check``: the scheduler answered, and would not accept the script (not a
    failure to ask it)."""


class LoginShellNotClean(RemoteError):
    """The cluster's login shell prints text (a banner, a quota notice) for non-interactive
    commands: it would break file transfers and the output hpcrun reads. Not a connection
    failure: retrying cannot help, the user's startup file must change."""


class JobNeverStartsError(HpcrunError):
    """Slurm says a pending job can never start (e.g. DependencyNeverSatisfied): following
    stops with exit 1, the job stays queued for the user to cancel or fix."""


class ConnectionLostError(RemoteError):
    """The login node stayed unreachable: nothing is known about the job, which may still
    be running (or, during a submission, may have been queued)."""

    exit_code = EXIT_CONNECTION_LOST


class WaitTimeoutError(HpcrunError):
    """Waiting for a run gave up at its timeout; the run keeps going, nothing is cancelled."""

    exit_code = EXIT_WAIT_TIMEOUT


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean ...?' hint for a misspelled ``word``, or None."""
    options = list(choices)
    lowered = {choice.lower(): choice for choice in options}
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if matches:
        return f"did you mean '{lowered[matches[0]]}'?"
    return None

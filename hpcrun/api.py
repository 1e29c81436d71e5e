"""The public Python API: ``hpcrun.submit``, ``hpcrun.runs`` and ``hpcrun.Run``.

A thin layer over the same service functions the CLI uses (``hpcrun.ops``): every call
opens its own Session (database, connections) and closes it, so a ``Run`` is just a name
plus the last record read, safe to keep around, pickle or rebuild from ``Run(name)``.
Every failure a user or the machine causes is an ``HpcrunError`` subclass."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError, WaitTimeoutError, did_you_mean

# Overrides fields given as sequences of strings (a single string is one item).
_SEQUENCES = ("env", "artifacts", "args", "sbatch")


def _session() -> Any:
    from hpcrun.ops.session import Session
    from hpcrun.ops.upload_feedback import UploadFeedback

    # an upload's warning (large files it sends) as a Python warning; no progress bar
    return Session(upload_feedback=UploadFeedback(warn=_warn))


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=4)


def _overrides(values: Mapping[str, Any]) -> Any:
    """``Overrides`` from keyword arguments; an unknown name is a UsageError."""
    from hpcrun.spec.overrides import Overrides

    known = [f.name for f in fields(Overrides)]
    for name in values:
        if name not in known:
            raise UsageError(
                f"hpcrun.submit() got an unknown keyword argument '{name}'",
                did_you_mean(name, known) or f"known overrides: {', '.join(known)}",
            )
    converted: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name == "env" and isinstance(value, Mapping):
            value = tuple(f"{key}={val}" for key, val in value.items())
        elif name in _SEQUENCES:
            value = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        converted[name] = value
    return Overrides(**converted)


def submit(
    workflow_or_file: str | Path,
    *,
    workflow: str | None = None,
    site: str | None = None,
    variables: Mapping[str, str] | None = None,
    inputs: str | Path | None = None,
    detach: bool = True,
    **overrides: Any,
) -> Run:
    """Submit a run, like ``hpcrun submit``; returns its ``Run``.

    ``workflow_or_file`` is, as on the command line, a workflow name of the default
    workflows file (``.dstack/workflows.yaml``, then ``workflows.yaml``), a project folder
    or zip, or a Python file; with ``workflow=``, it is the workflows file to read it from.
    ``overrides`` are the dstack run flags by their long names: ``cpu``, ``memory``,
    ``gpu``, ``gpu_name``, ``gpu_memory``, ``shm_size``, ``time``, ``env`` (a mapping or
    ``NAME=VALUE`` strings), ``args`` (the program's arguments), ``artifacts``,
    ``requirements``, ``working_dir``, ``interruptible``, ``version`` (Python),
    ``rebuild_env``, ``partition``, ``account``, ``qos``, ``constraint``, ``sbatch``.
    ``detach=False`` waits for the run to end and fetches its artifacts first."""
    from hpcrun.ops.submit import SubmitRequest
    from hpcrun.ops.submit import submit as submit_request
    from hpcrun.ops.target_choice import choose_target

    request_overrides = _overrides(overrides)
    if workflow is not None:
        path: Path | None = Path(workflow_or_file)
    else:
        choice = choose_target((str(workflow_or_file),))
        path, workflow = choice.path, choice.workflow
    request = SubmitRequest(
        path, workflow, site, dict(variables or {}), request_overrides,
        Path(inputs) if inputs is not None else None,
    )  # fmt: skip
    with _session() as session:
        submitted = submit_request(session, request)
    for message in submitted.prepared.warnings:
        warnings.warn(message, stacklevel=2)
    run = Run(submitted.record.run, _record=submitted.record)
    if not detach:
        run._follow_and_fetch(None, None, strict=True)
    return run


def runs(
    state: str | Iterable[str] | None = None,
    workflow: str | None = None,
    site: str | None = None,
    limit: int | None = None,
    *,
    refresh: bool = True,
) -> list[Run]:
    """Recorded runs, newest first, like ``hpcrun ps -a``: filtered by state (one name or
    several), workflow and site name; at most ``limit``. ``refresh`` first brings the
    unfinished runs' states up to date (one scheduler poll per site)."""
    from hpcrun.ops.track import refresh as refresh_states
    from hpcrun.store.runs import CONTRACT_STATES

    wanted = None if state is None else {state} if isinstance(state, str) else set(state)
    for name in sorted(wanted or ()):
        if name not in CONTRACT_STATES:
            raise UsageError(
                f"unknown run state '{name}'",
                did_you_mean(name, CONTRACT_STATES) or f"one of: {', '.join(CONTRACT_STATES)}",
            )
    with _session() as session:
        if refresh:
            refresh_states(session)
        records = session.store.list_runs()
    found = [
        Run(r.run, _record=r)
        for r in records
        if (wanted is None or r.to_json()["state"] in wanted)
        and (workflow is None or r.workflow == workflow)
        and (site is None or r.site == site)
    ]
    return found if limit is None else found[: max(0, limit)]


class Run:
    """A recorded run. Attributes show the record as last read: ``refresh()`` (or
    ``wait()``) asks the scheduler again."""

    def __init__(self, name: str, *, _record: Any = None) -> None:
        if _record is None:
            from hpcrun.ops.runs import find_run

            with _session() as session:
                _record = find_run(session, name)  # a run name, or a tag
        self._record = _record

    def __repr__(self) -> str:
        return f"Run({self.name!r}, state={self.state!r}, job_id={self.job_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def name(self) -> str:
        return str(self._record.run)

    @property
    def workflow(self) -> str:
        return str(self._record.workflow)

    @property
    def site(self) -> str:
        return str(self._record.site)

    @property
    def state(self) -> str:
        """One of the ``ps --json`` states: pending, running, completed, failed, ..."""
        return str(self.to_dict()["state"])

    @property
    def done(self) -> bool:
        """Whether the run has ended (its state will not change again)."""
        return bool(self._record.final)

    @property
    def job_id(self) -> str | None:
        return self._record.job_id

    @property
    def exit_code(self) -> int | None:
        return self._record.exit_code

    @property
    def artifacts_dir(self) -> Path | None:
        return Path(self._record.artifacts_dir) if self._record.artifacts_dir else None

    def to_dict(self) -> dict[str, Any]:
        """The run's record, as one object of ``hpcrun ps --json``."""
        return dict(self._record.to_json())

    def refresh(self) -> Run:
        """Ask the scheduler for the run's state (one poll); returns self."""
        from hpcrun.ops.track import refresh

        with _session() as session:
            refresh(session, [self._record])
            self._record = session.store.get(self.name)
        return self

    def wait(self, timeout: float | None = None, poll: float | None = None) -> Run:
        """Block until the run ends; returns self. ``poll``: seconds between polls (default:
        back-off from 1 s to 10 s on Slurm, 0.2 s to 2 s locally). A lost connection is
        retried as by ``hpcrun logs -f``. Past ``timeout`` seconds, WaitTimeoutError; the
        run keeps going. Once it has ended, its artifacts are fetched unless they were
        since it ended (as ``hpcrun wait`` does); a failed fetch is a warning."""
        return self._follow_and_fetch(timeout, poll, strict=False)

    def _follow_and_fetch(self, timeout: float | None, poll: float | None, *, strict: bool) -> Run:
        """``wait()``; ``strict``: a failed fetch raises (an attached ``submit``, which
        promises the artifacts) instead of being a warning."""
        from hpcrun.ops.follow import Backoff, follow

        deadline = None if timeout is None else time.monotonic() + timeout

        def sleep(seconds: float) -> None:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WaitTimeoutError(
                        f"{self.name} had not ended after {timeout:g} s", "it keeps running"
                    )
                seconds = min(seconds, left)
            time.sleep(seconds)

        backoff = None if poll is None else Backoff(first=poll, longest=poll, factor=1.0)
        with _session() as session:
            self._record = follow(session, self.name, None, backoff=backoff, sleep=sleep)
            messages = self._fetch_once(session, strict)
        for message in messages:
            warnings.warn(message, stacklevel=3)  # at the caller of wait()
        return self

    def _fetch_once(self, session: Any, strict: bool) -> list[str]:
        """The ended run's artifacts, fetched by the first follower that sees it end
        (``ops.artifacts.fetch_if_never_fetched``, shared with ``hpcrun wait``/``logs -f``);
        the warnings to issue."""
        from hpcrun.errors import HpcrunError
        from hpcrun.ops.artifacts import fetch_if_never_fetched

        try:
            fetched = fetch_if_never_fetched(session, self._record)
        except HpcrunError as exc:
            if strict:
                raise
            return [f"the artifacts of {self.name} were not fetched: {exc.message} "
                    f"(fetch them with Run.artifacts())"]  # fmt: skip
        if fetched is None:
            return []
        self._record = session.store.get(self.name) or self._record
        return _fetch_warnings(self.name, fetched)

    def logs(self) -> str:
        """The job's output so far (stdout and stderr); empty before it has a job.
        RemoteError (RunFolderGoneError) when its folder has gone from the cluster."""
        from hpcrun.ops.output import read_output

        with _session() as session:
            data = read_output(session, session.store.get(self.name) or self._record)
        return data.decode("utf-8", errors="replace")

    def artifacts(self, dest: str | Path | None = None) -> Path:
        """Fetch the artifacts (resumable) into ``dest`` (default: the run's artifacts
        folder under $HPCRUN_HOME); returns the folder. Symlinks pointing outside it are
        not recreated, with a warning; declared paths the job did not create are named in
        a warning."""
        from hpcrun.ops.artifacts import fetch_artifacts

        with _session() as session:
            record = session.store.get(self.name) or self._record
            fetched = fetch_artifacts(session, record, Path(dest) if dest is not None else None)
            self._record = session.store.get(self.name) or record
        for message in _fetch_warnings(self.name, fetched):
            warnings.warn(message, stacklevel=2)
        return fetched.folder

    def cancel(self) -> Run:
        """Cancel the run's job (nothing happens if it has ended); returns self."""
        from hpcrun.ops.runs import cancel_run

        with _session() as session:
            self._record = cancel_run(session, session.store.get(self.name) or self._record)
        return self


def _fetch_warnings(name: str, fetched: Any) -> list[str]:
    """What a fetch has to say (``ops.artifacts.FetchedArtifacts``): symlinks not recreated,
    declared paths the job did not create."""
    messages = [
        f"not fetched: {link} is a symlink pointing outside" for link in fetched.unsafe_links
    ]
    if fetched.missing:
        paths = ", ".join(fetched.missing)
        messages.append(f"{name}: declared artifacts not created by the job: {paths}")
    return messages

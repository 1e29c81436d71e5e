"""Bring a run's artifacts home: its declared artifact paths and its OUTPUT_FOLDER.

Resumable: rsync-style quick checks skip files already fetched, so a second call
transfers nothing new."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from hpcrun.ops.session import Session
from hpcrun.paths import hpcrun_home


def default_artifacts_dir(run: str) -> Path:
    from hpcrun.safepaths import check_name, join_local

    return join_local(hpcrun_home() / "artifacts", check_name(run, "run name"), what="run name")


class FetchedArtifacts(NamedTuple):
    folder: Path
    received: int  # bytes transferred
    unsafe_links: tuple[str, ...]  # symlinks pointing outside, not recreated (to warn about)
    # declared artifact paths the job did not create (nothing there to fetch), to warn about
    missing: tuple[str, ...] = ()


def fetch_artifacts(session: Session, record: Any, dest: Path | None = None) -> FetchedArtifacts:
    """Fetch the run's artifacts safely (see ``Transport.sync_down``). One fetch of a run
    at a time, across processes (``wait`` and ``logs -f`` may see it end together)."""
    from hpcrun.locks import holding

    with holding(f"fetch-{record.run}"):
        return _fetch(session, session.store.get(record.run) or record, dest)


def fetch_if_never_fetched(session: Session, record: Any) -> FetchedArtifacts | None:
    """A detached run's artifacts, fetched by the first follower (``logs -f``, ``wait``)
    that sees it ended; None when there is nothing to do: not ended, never got a job, or
    already fetched since it ended (perhaps by another process, while this one waited for
    the lock)."""
    from hpcrun.locks import holding

    if not _never_fetched(record):
        return None
    with holding(f"fetch-{record.run}"):
        record = session.store.get(record.run) or record
        return _fetch(session, record, None) if _never_fetched(record) else None


def _never_fetched(record: Any) -> bool:
    return bool(record.final and record.job_id and record.artifacts_fetched_at is None)


def _fetch(session: Session, record: Any, dest: Path | None) -> FetchedArtifacts:
    from hpcrun.safepaths import check_relative, join_remote

    store = session.store
    target = (dest or (Path(record.artifacts_dir) if record.artifacts_dir else None)
              or default_artifacts_dir(record.run))  # fmt: skip
    target.mkdir(parents=True, exist_ok=True)
    transport = session.transport(session.site_of(record))
    # recorded values may predate today's checks: each stays inside the run folder
    code_dir = join_remote(record.remote_dir, "code", record.working_dir, what="working_dir")
    artifacts = [check_relative(path, "artifact path") for path in record.artifacts or ()]
    fetched = [transport.sync_down(code_dir, artifacts, target)] if artifacts else []
    fetched.append(transport.sync_down(record.remote_dir, ["output"], target))
    received = sum(part.received for part in fetched)
    if not received:  # nothing new, or no run folder any more: only then ask which
        from hpcrun.ops.gone import check_run_folder

        check_run_folder(transport, record)
    unsafe = tuple(name for part in fetched for name in part.unsafe_links)
    if dest is None or record.artifacts_dir is None:
        # "fetched" means the final artifacts: a fetch while the job runs only records
        # where they go, and the first follower that sees it end fetches them again
        if record.final:
            store.set_artifacts_fetched(record.run, target.resolve())
        else:
            store.set_artifacts_dir(record.run, target.resolve())
    return FetchedArtifacts(target, received, unsafe, _missing(artifacts, target, unsafe))


def _missing(artifacts: list[str], target: Path, unsafe: tuple[str, ...]) -> tuple[str, ...]:
    """Declared paths with nothing fetched for them: a missing path is skipped by
    ``sync_down``, so what is absent here after the fetch was absent on the cluster (no
    extra round trip to ask). A refused symlink is reported as such, not as missing."""
    import os

    return tuple(
        path for path in artifacts
        if path not in unsafe and not os.path.lexists(target / path)
    )  # fmt: skip

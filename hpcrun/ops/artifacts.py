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


def fetch_artifacts(session: Session, record: Any, dest: Path | None = None) -> FetchedArtifacts:
    """Fetch the run's artifacts safely (see ``Transport.sync_down``)."""
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
        store.set_artifacts_dir(record.run, target.resolve())
    return FetchedArtifacts(target, received, unsafe)

"""Bring a run's artifacts home: its declared artifact paths and its OUTPUT_FOLDER.

Resumable: rsync-style quick checks skip files already fetched, so a second call
transfers nothing new."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpcrun.ops.session import Session
from hpcrun.paths import hpcrun_home


def default_artifacts_dir(run: str) -> Path:
    return hpcrun_home() / "artifacts" / run


def fetch_artifacts(session: Session, record: Any, dest: Path | None = None) -> tuple[Path, int]:
    """Returns (local folder, bytes transferred)."""
    store = session.store
    target = (dest or (Path(record.artifacts_dir) if record.artifacts_dir else None)
              or default_artifacts_dir(record.run))  # fmt: skip
    target.mkdir(parents=True, exist_ok=True)
    transport = session.transport(session.site_of(record))
    code_dir = f"{record.remote_dir}/code"
    if record.working_dir:
        code_dir = f"{code_dir}/{record.working_dir}"
    received = 0
    if record.artifacts:
        received += transport.sync_down(code_dir, list(record.artifacts), target)
    received += transport.sync_down(record.remote_dir, ["output"], target)
    if dest is None or record.artifacts_dir is None:
        store.set_artifacts_dir(record.run, target.resolve())
    return target, received

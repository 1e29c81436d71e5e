"""A run's output (its job log) read whole: for ``hpcrun logs RUN`` and ``Run.logs()``."""

from __future__ import annotations

from typing import Any

from hpcrun.ops.session import Session


def read_output(session: Session, record: Any) -> bytes:
    """Everything the job wrote so far (b"" before it has a job); RunFolderGoneError when
    the run folder has gone from the cluster (not an empty success)."""
    if not record.job_id:
        return b""
    config = session.site_of(record)
    transport = session.transport(config)
    output = bytes(
        transport.read_from(session.backend(config).log_path(record.remote_dir, record.job_id), 0)
    )
    if not output:  # nothing yet, or nothing any more: only then ask which
        from hpcrun.ops.gone import check_run_folder

        check_run_folder(transport, record)
    return output

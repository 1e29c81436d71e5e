"""A run whose folder on the cluster has gone: said so, instead of empty output.

Reads of a missing file come back empty (``read_from``, ``sync_down``), which is also
what a job that has not written anything yet looks like. So only when a read came back
empty is the run folder's existence asked for: one more command, and only then.
"""

from __future__ import annotations

from typing import Any

from hpcrun.errors import RemoteError


class RunFolderGoneError(RemoteError):
    """The run's folder on the cluster no longer exists."""


def check_run_folder(transport: Any, record: Any) -> None:
    """Raise ``RunFolderGoneError`` when ``record.remote_dir`` is known and missing."""
    if not record.remote_dir:
        return
    from hpcrun.transport.base import expand_home

    folder = expand_home(record.remote_dir, transport.home())
    result = transport.run(["test", "-d", folder])
    if result.returncode != 1:  # 0: there; anything else: could not tell, say nothing
        return
    raise RunFolderGoneError(
        f"the run folder of {record.run} is gone: {folder} does not exist on site "
        f"'{record.site}' (probably removed by hand, by `hpcrun rm`/`prune` from another "
        "machine, or by the cluster's purge of old files)",
        f"its output and artifacts cannot be read from the cluster any more; "
        f"forget the run with: hpcrun rm {record.run}",
    )

"""Remove what an abandoned submission left on the cluster: its run folder.

Only a folder that is exactly ``<remote_root>/runs/<run>`` for a valid run name is ever
removed, and only for a run that never got a job (the caller knows: the submission failed
before sbatch could run, or the scheduler confirmed that no job carries the run's name).
Best effort: a failure to remove is reported back, never raised.
"""

from __future__ import annotations

from typing import Any

from hpcrun.errors import HpcrunError
from hpcrun.safepaths import join_remote, name_problem
from hpcrun.transport.base import Transport, expand_home


def run_dir_to_remove(remote_root: str, run: str, run_dir: str) -> str | None:
    """``run_dir`` if it is exactly ``<remote_root>/runs/<run>`` (absolute, normalized,
    ``run`` a valid name, ``remote_root`` not ``/``); else None."""
    if name_problem(run, "run name") or not remote_root.startswith("/"):
        return None
    if remote_root.rstrip("/") == "":
        return None
    try:
        expected = join_remote(remote_root, "runs", run)
    except HpcrunError:
        return None
    return run_dir if run_dir == expected else None


def remove_run_dir(transport: Transport, site: Any, run: str, run_dir: str | None) -> str | None:
    """Remove the run folder of ``run`` on ``site``; None when done (or nothing to do),
    else why not."""
    if not run_dir:
        return None
    try:
        from hpcrun.site.resolve import DEFAULT_REMOTE_ROOT

        root = expand_home(site.remote_root or DEFAULT_REMOTE_ROOT, transport.home())
        checked = run_dir_to_remove(root, run, run_dir)
        if checked is None:
            return f"not removing {run_dir}: it is not <remote_root>/runs/{run}"
        result = transport.run(["rm", "-rf", "--", checked])
        if not result.ok:
            return f"could not remove {checked}: {result.stderr.strip()[-200:]}"
    except HpcrunError as exc:
        return f"could not remove {run_dir}: {exc.message}"
    return None

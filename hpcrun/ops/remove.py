"""Remove finished runs: their run folder on the cluster, their local artifacts, their record.

What may be removed is decided here, once, for ``hpcrun rm`` and ``hpcrun prune``:
- the remote folder only if it is exactly ``<remote_root>/runs/<run>`` (``ops.cleanup``);
- the local artifacts only if they are in hpcrun's own folder, exactly
  ``$HPCRUN_HOME/artifacts/<run>``: a folder the user chose with ``artifacts --dest`` is
  theirs, so it is left in place and named in the report;
- the record (with its tags and state history, which cascade).

Per site, sizes and removal are one command over one connection (``du -sb`` then
``rm -rf``), so pruning a hundred runs is one round trip, not a hundred.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcrun.errors import HpcrunError
from hpcrun.ops.cleanup import run_dir_to_remove
from hpcrun.ops.session import Session, group_by_login


@dataclass
class Removal:
    run: str
    site: str
    remote_dir: str | None = None  # checked: <remote_root>/runs/<run>, to remove
    remote_bytes: int = 0
    local_dir: str | None = None  # $HPCRUN_HOME/artifacts/<run>, to remove
    local_bytes: int = 0
    kept: str | None = None  # a user-chosen artifacts folder, left alone
    problem: str | None = None  # why something could not be removed

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "site": self.site,
            "remote_dir": self.remote_dir,
            "remote_bytes": self.remote_bytes,
            "local_dir": self.local_dir,
            "local_bytes": self.local_bytes,
            "kept": self.kept,
            "problem": self.problem,
        }


def local_artifacts(record: Any) -> tuple[Path | None, Path | None]:
    """(hpcrun's own artifacts folder of the run to remove, a user's folder to keep)."""
    from hpcrun.ops.artifacts import default_artifacts_dir

    try:
        own = default_artifacts_dir(record.run)
    except HpcrunError:
        return None, Path(record.artifacts_dir) if record.artifacts_dir else None
    recorded = Path(record.artifacts_dir).resolve() if record.artifacts_dir else None
    kept = recorded if recorded is not None and recorded != own else None
    return (own if own.is_dir() else None), kept


def _tree_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def remote_root(site: Any, transport: Any) -> str:
    from hpcrun.site.resolve import DEFAULT_REMOTE_ROOT
    from hpcrun.transport.base import expand_home

    return expand_home(site.remote_root or DEFAULT_REMOTE_ROOT, transport.home())


def _du_script(paths: Sequence[str], remove: bool) -> str:
    """One shell line: sizes of the existing ``paths`` (``du -sb`` lines), then removal."""
    quoted = " ".join(shlex.quote(p) for p in paths)
    script = f'for p in {quoted}; do [ -e "$p" ] && du -sb -- "$p"; done; true'
    if remove:
        script += f"; rm -rf -- {quoted}"
    return script


def parse_du(text: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for line in text.splitlines():
        size, sep, path = line.partition("\t")
        if sep and size.strip().isdigit():
            sizes[path] = int(size)
    return sizes


def remove_runs(session: Session, records: Sequence[Any], dry_run: bool) -> list[Removal]:
    """Remove (or with ``dry_run`` only measure) finished runs; one command per site."""
    removals = [Removal(record.run, record.site) for record in records]
    by_run = {removal.run: removal for removal in removals}
    # by what each run's recorded site config reaches: runs of one site name submitted
    # before and after its login changed are removed where each of them lives
    groups, unloadable = group_by_login(session, [r for r in records if r.remote_dir])
    for run, why in unloadable.items():
        by_run[run].problem = f"cannot reach the site: {why}"
    for site, group in groups:
        _remove_remote(session, site, [(record, by_run[record.run]) for record in group],
                       dry_run)  # fmt: skip
    for record, removal in zip(records, removals, strict=True):
        own, kept = local_artifacts(record)
        removal.kept = str(kept) if kept else None
        if own is not None:
            removal.local_dir, removal.local_bytes = str(own), _tree_bytes(own)
            if not dry_run:
                shutil.rmtree(own, ignore_errors=True)
        if not dry_run and removal.problem is None:
            session.store.delete_run(record.run)
    return removals


def _remove_remote(
    session: Session, site: Any, with_dirs: list[tuple[Any, Removal]], dry_run: bool
) -> None:
    try:
        transport = session.transport(site)
        root = remote_root(site, transport)
    except HpcrunError as exc:
        for _, removal in with_dirs:
            removal.problem = f"cannot reach the site: {exc.message}"
        return
    checked: list[str] = []
    for record, removal in with_dirs:
        path = run_dir_to_remove(root, record.run, record.remote_dir)
        if path is None:
            expected = f"{root}/runs/{record.run}"
            removal.problem = f"not removing {record.remote_dir}: it is not {expected}"
        else:
            removal.remote_dir = path
            checked.append(path)
    if not checked:
        return
    from hpcrun.transport.base import Shell

    try:
        result = transport.run(Shell(_du_script(checked, remove=not dry_run)))
    except HpcrunError as exc:
        result = None
        failure = exc.message
    sizes = parse_du(result.stdout) if result is not None else {}
    for _, removal in with_dirs:
        if removal.remote_dir is None:
            continue
        if result is None or not result.ok:
            why = failure if result is None else result.stderr.strip()[-200:]
            removal.problem = f"could not remove {removal.remote_dir}: {why}"
        removal.remote_bytes = sizes.get(removal.remote_dir, 0)
        if removal.remote_dir not in sizes:
            removal.remote_dir = None  # already gone: nothing was removed there


def total_bytes(removals: Sequence[Removal]) -> int:
    return sum(r.remote_bytes + r.local_bytes for r in removals)

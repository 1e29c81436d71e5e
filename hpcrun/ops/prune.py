"""``hpcrun prune``: old finished runs (``ops.remove``) and cached environments nobody used.

An environment is ``<remote_root>/envs/py<X.Y>-<key>``. Its last use is the newest mtime of
the folder, its ``.hpcrun-ready`` and its ``.hpcrun-used`` (the job script touches that one
on every use), read on the cluster. It is removed only when all of these hold:
- last used before the cut-off (by the cluster's clock);
- no unfinished run of that site names it: the key is read from each unfinished run's
  ``job.sh`` on the cluster (written at submission, so a queued job that has not started
  yet is known too), or from the run's record when it carries one;
- no run of that site recorded with its key ended after the cut-off;
- last used before the oldest unfinished run of that site was created (a running job
  may be using it);
- the site has no run still being submitted (its job script may not be there yet): then
  no environment of that site is removed at all.
Each candidate's age is checked again in the removal command itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from hpcrun.errors import HpcrunError
from hpcrun.ops.remove import parse_du
from hpcrun.ops.session import Session

ENV_NAME = re.compile(r"py\d+\.\d+-[A-Za-z0-9]{1,64}")
_KEY_LINE = re.compile(r'hpcrun_env_name="py\$hpcrun_pyver"-([A-Za-z0-9]+)\s*$')
# The newest of the folder's own mtime and its two markers, as epoch seconds.
_LAST_USED = (
    'stat -c %Y -- "$d" "$d/.hpcrun-ready" "$d/.hpcrun-used" 2>/dev/null | sort -n | tail -1'
)


@dataclass
class EnvRemoval:
    path: str
    bytes: int
    last_used: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "last_used": self.last_used}


def iso_cutoff(seconds: int) -> str:
    now = datetime.now(timezone.utc).timestamp()
    return datetime.fromtimestamp(now - seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def old_runs(store: Any, cutoff: str, site: str | None) -> list[Any]:
    """Finished runs that ended before ``cutoff`` (ISO UTC, as the store writes it)."""
    return [
        record
        for record in store.list_runs()
        if record.final
        and (site is None or record.site == site)
        and (record.finished_at or record.updated_at) < cutoff
    ]


def _epoch(iso: str) -> int:
    return int(
        datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    )


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _listing_script(envs_dir: str, scripts: Sequence[str]) -> str:
    quoted = " ".join(shlex.quote(s) for s in scripts)
    lines = [
        'printf "now\\t%s\\n" "$(date +%s)"',
        f'for f in {quoted}; do if [ -r "$f" ]; then grep -h \'^hpcrun_env_name=\' "$f"'
        " | sed 's/^/key\\t/'; else printf 'missing\\t%s\\n' \"$f\"; fi; done"
        if scripts
        else "true",
        f"cd {shlex.quote(envs_dir)} 2>/dev/null || exit 0",
        f'for d in py*-*; do [ -d "$d" ] || continue; t=$({_LAST_USED});'
        ' printf "env\\t%s\\t%s\\n" "${t:-0}" "$d"; done',
    ]
    return "\n".join(lines)


def _removal_script(envs_dir: str, names: Sequence[str], cutoff: int, remove: bool) -> str:
    quoted = " ".join(shlex.quote(n) for n in names)
    rm = ' && rm -rf -- "$d"' if remove else ""
    return (
        f"cd {shlex.quote(envs_dir)} || exit 1\n"
        f'for d in {quoted}; do [ -d "$d" ] || continue; t=$({_LAST_USED});'
        f' [ "${{t:-0}}" -lt {cutoff} ] || continue; du -sb -- "$d"{rm}; done; true'
    )


def prune_envs(
    session: Session, site: Any, older_than: int, dry_run: bool
) -> tuple[list[EnvRemoval], str | None]:
    """Remove (or measure) the unused environments of ``site``; (removed, why skipped)."""
    from hpcrun.ops.remove import remote_root
    from hpcrun.safepaths import join_remote
    from hpcrun.transport.base import Shell

    unfinished = session.store.unfinished(site=site.name)
    if any(not r.remote_dir or not r.job_id for r in unfinished):
        return [], f"environments on {site.name} kept: a run is being submitted there"
    transport = session.transport(site)
    envs_dir = join_remote(remote_root(site, transport), "envs")
    scripts = [f"{r.remote_dir}/job.sh" for r in unfinished]
    listing = transport.run(Shell(_listing_script(envs_dir, scripts)))
    if not listing.ok:
        why = listing.stderr.strip()[-200:]
        return [], f"environments on {site.name} kept: could not list them ({why})"
    # keys recorded on runs (newer records carry one): unfinished ones, and any that ran
    # since the cut-off, even if its marker could not be touched
    recent = iso_cutoff(older_than)
    in_use = {getattr(r, "env_key", None) for r in unfinished} | {
        getattr(r, "env_key", None)
        for r in session.store.list_runs()
        if r.site == site.name and (r.finished_at or r.updated_at) >= recent
    }
    now, envs = 0, {}
    for line in listing.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "now" and rest.isdigit():
            now = int(rest)
        elif kind == "missing":
            return [], f"environments on {site.name} kept: cannot read {rest}"
        elif kind == "key":
            match = _KEY_LINE.match(rest)
            if match:
                in_use.add(match.group(1))
        elif kind == "env":
            stamp, _, name = rest.partition("\t")
            if ENV_NAME.fullmatch(name) and stamp.isdigit():
                envs[name] = int(stamp)
    cutoff = (now or int(datetime.now(timezone.utc).timestamp())) - older_than
    if unfinished:  # a running job may be using any environment touched since it began
        cutoff = min(cutoff, min(_epoch(r.created_at) for r in unfinished))
    names = [
        name
        for name, stamp in sorted(envs.items())
        if stamp < cutoff and name.split("-", 1)[1] not in in_use
    ]
    if not names:
        return [], None
    result = transport.run(Shell(_removal_script(envs_dir, names, cutoff, not dry_run)))
    sizes = parse_du(result.stdout)
    removed = [
        EnvRemoval(join_remote(envs_dir, name), sizes[name], _iso(envs[name]))
        for name in names
        if name in sizes
    ]
    problem = None
    if not result.ok:
        problem = f"removing environments on {site.name} failed: {result.stderr.strip()[-200:]}"
    return removed, problem


def prune_sites(session: Session, site_name: str | None) -> list[Any]:
    """The site configs whose environments to prune: the one asked for, else each site
    that has runs recorded (from one of its runs' recorded config)."""
    if site_name is not None:
        return [session.site(site_name)[0]]
    seen: dict[str, Any] = {}
    for record in session.store.list_runs():
        if record.site not in seen:
            try:
                seen[record.site] = session.site_of(record)
            except HpcrunError:
                continue
    return list(seen.values())

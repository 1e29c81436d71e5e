"""How ``hpcrun rm`` and ``hpcrun prune`` report what they removed (or would remove)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click


def report_removals(
    removals: Sequence[Any], dry_run: bool, as_json: bool, extra: dict[str, Any] | None = None
) -> None:
    """One line per run (stdout), a total (stderr); or one JSON object with every field."""
    from hpcrun.cli.common import human_size, note
    from hpcrun.ops.remove import total_bytes

    if as_json:
        data = {"dry_run": dry_run, "runs": [r.to_json() for r in removals]}
        data.update(extra or {})
        data["total_bytes"] = total_bytes(removals) + sum(
            env["bytes"] for env in data.get("envs", ())
        )
        click.echo(json.dumps(data, indent=2))
        return
    verb = "would remove" if dry_run else "removed"
    for r in removals:
        parts = []
        if r.remote_dir:
            parts.append(f"{r.remote_dir} ({human_size(r.remote_bytes)})")
        if r.local_dir:
            parts.append(f"{r.local_dir} ({human_size(r.local_bytes)})")
        parts.append("its record" if r.problem is None else "")
        what = ", ".join(p for p in parts if p)
        click.echo(f"{r.run}: {verb} {what}")
        if r.kept:
            note(f"{r.run}: left {r.kept} in place (a folder you chose with --dest)")
        if r.problem:
            note(f"{r.run}: {r.problem}; its record is kept")
    envs = (extra or {}).get("envs")
    total = total_bytes(removals) + sum(env["bytes"] for env in envs or ())
    counted = f" and {len(envs)} environment(s)" if envs is not None else ""
    note(f"{verb} {len(removals)} run(s){counted}, {human_size(total)}")

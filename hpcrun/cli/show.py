"""``hpcrun show RUN`` (also ``hpcrun ps RUN``): everything recorded about one run."""

from __future__ import annotations

import json
from typing import Any

import click

from hpcrun.cli.common import warn


def show_run(run: str, as_json: bool) -> None:
    """Refresh the run's state (if unfinished), then print its record and state history."""
    from hpcrun.ops.runs import find_run
    from hpcrun.ops.session import Session
    from hpcrun.ops.track import refresh

    with Session() as session:
        record = find_run(session, run)
        if not record.final:
            report = refresh(session, [record])
            for name, why in report.unavailable.items():
                warn(f"site {name}: {why} (the state shown may be stale)")
            record = session.store.get(record.run) or record
        data = record.to_json()
        data["tags"] = session.store.tags_of(record.run)
        data["state_history"] = session.store.state_history(record.run)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for line in describe(data):
        click.echo(line)


_FIELDS = (
    ("run", "run"),
    ("workflow", "workflow"),
    ("site", "site"),
    ("site config", "site_config"),
    ("state", "state"),
    ("reason", "state_reason"),
    ("job", "job_id"),
    ("exit code", "exit_code"),
    ("created", "created_at"),
    ("submitted", "submitted_at"),
    ("finished", "finished_at"),
    ("workflows file", "workflows_file"),
    ("project", "project_root"),
    ("remote folder", "remote_dir"),
    ("env key", "env_key"),
    ("code hash", "code_hash"),
)


def describe(data: dict[str, Any]) -> list[str]:
    """The human form of ``show --json``: one ``name: value`` line per known field."""
    lines = [f"{label + ':':<16}{data[key]}" for label, key in _FIELDS if data.get(key) is not None]
    artifacts = _artifacts_line(data)
    if artifacts:
        lines.append(f"{'artifacts:':<16}{artifacts}")
    if data.get("git_commit"):
        dirty = " (dirty: uncommitted changes)" if data.get("git_dirty") else ""
        lines.append(f"{'git commit:':<16}{data['git_commit']}{dirty}")
    overrides = dict(data.get("overrides") or {})
    args = overrides.pop("args", None)
    if args is not None:
        lines.append(f"{'args:':<16}{_shell_words(args)}")
    for name, value in sorted(overrides.items()):
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"{'override:':<16}{name} = {shown}")
    for name, value in sorted((data.get("variables") or {}).items()):
        lines.append(f"{'var:':<16}{name}={value}")
    lines += _usage_lines(data)
    if data.get("depends_on"):
        lines.append(f"{'depends on:':<16}{', '.join(data['depends_on'])}")
    if data.get("tags"):
        lines.append(f"{'tags:':<16}{', '.join(data['tags'])}")
    if data.get("state_history"):
        lines.append("state history:")
        for entry in data["state_history"]:
            reason = f" ({entry['reason']})" if entry.get("reason") else ""
            lines.append(f"  {entry['at']}  {entry['state']}{reason}")
    return lines


def _artifacts_line(data: dict[str, Any]) -> str | None:
    """Whether the run's artifacts were fetched since it ended, and where to."""
    where = data.get("artifacts_dir")
    if data.get("artifacts_fetched_at"):
        return f"fetched {data['artifacts_fetched_at']} into {where}"
    if not data.get("job_id"):
        return None
    if not data.get("final"):
        so_far = f"; fetched so far into {where}" if where else ""
        return f"not fetched yet (by `hpcrun logs -f` or `hpcrun wait` when it ends){so_far}"
    how = f"hpcrun artifacts {data['run']}"
    if where:  # fetched while the job ran, or by a version that did not record when
        return f"{where} (not fetched since the run ended: {how})"
    return f"not fetched ({how})"


def _usage_lines(data: dict[str, Any]) -> list[str]:
    """What the finished run used (``efficiency``), and the hint to lower its memory."""
    from hpcrun import efficiency

    used = data.get("efficiency")
    line = efficiency.summary(used)
    if not line:
        return []
    lines = [f"{'used:':<16}{line.removeprefix('used ')} ({used.get('source')})"]
    hint = efficiency.memory_hint(used) if data.get("state") == "completed" else None
    if hint:
        lines.append(f"{'hint:':<16}{hint}")
    return lines


def _shell_words(words: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(word) for word in words)


@click.command(short_help="Show everything recorded about a run.")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="A JSON object (fields: docs/running.md).")
def show(run: str, as_json: bool) -> None:
    """Print a run's workflow, site, args, overrides, variables, requirements and code hashes,
    git commit, state, full reason and state history."""
    show_run(run, as_json)

"""``hpcrun prune --older-than 30d``: remove old finished runs and unused environments."""

from __future__ import annotations

import click


@click.command(short_help="Remove old finished runs and unused environments.")
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Finished runs that ended, and environments last used, longer ago "
              "than AGE (30d, 12h, 2w).")  # fmt: skip
@click.option("--site", "site", metavar="SITE", default=None,
              help="Only this site's runs and environments (a name or a YAML path).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def prune(older_than: str, site: str | None, dry_run: bool, as_json: bool) -> None:
    """Remove what `hpcrun rm` removes for every finished run that ended more than AGE
    ago, and the cached environments on the cluster (<remote_root>/envs/py*-KEY) that
    no job used in that time. An environment a queued or running run may use is kept.
    Unfinished runs are never touched."""
    from hpcrun.cli.common import note
    from hpcrun.cli.removals import report_removals
    from hpcrun.durations import DurationError, parse_duration
    from hpcrun.errors import UsageError
    from hpcrun.ops.prune import iso_cutoff, old_runs, prune_envs, prune_sites
    from hpcrun.ops.remove import remove_runs
    from hpcrun.ops.session import Session
    from hpcrun.ops.track import refresh

    try:
        seconds = parse_duration(older_than)
    except DurationError as exc:
        raise UsageError(f"--older-than: {exc}", "e.g. --older-than 30d") from None
    envs, skipped = [], []
    with Session() as session:
        site_name = session.site(site)[0].name if site else None
        sites = prune_sites(session, site)
        refresh(session)  # runs that ended meanwhile are final before anything is decided
        records = old_runs(session.store, iso_cutoff(seconds), site_name)
        removals = remove_runs(session, records, dry_run)
        for config in sites:
            removed, why = prune_envs(session, config, seconds, dry_run)
            envs.extend(env.to_json() for env in removed)
            if why:
                skipped.append(why)
    if not as_json:
        from hpcrun.cli.common import human_size

        verb = "would remove" if dry_run else "removed"
        for env in envs:
            click.echo(f"environment: {verb} {env['path']} ({human_size(env['bytes'])}), "
                       f"last used {env['last_used']}")  # fmt: skip
        for why in skipped:
            note(why)
    report_removals(removals, dry_run, as_json, {"envs": envs, "skipped": skipped})

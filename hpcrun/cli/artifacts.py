"""``hpcrun artifacts RUN [--dest DIR]``: fetch a run's artifacts (resumable)."""

from __future__ import annotations

from pathlib import Path

import click

from hpcrun.cli.common import run_site_option


@click.command(short_help="Fetch a run's artifacts.")
@click.argument("run")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to fetch into (default: $HPCRUN_HOME/artifacts/RUN).")  # fmt: skip
@run_site_option
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON object: run, folder, bytes, unsafe_links.")  # fmt: skip
def artifacts(run: str, dest: Path | None, site: str | None, as_json: bool) -> None:
    """Fetch RUN's declared artifacts and its OUTPUT_FOLDER. Files already fetched and
    unchanged are not transferred again."""
    from hpcrun.cli.common import human_size, note, warn_missing_artifacts, warn_unsafe_links
    from hpcrun.ops.artifacts import fetch_artifacts
    from hpcrun.ops.repoint import point_run
    from hpcrun.ops.runs import find_run
    from hpcrun.ops.session import Session

    with Session() as session:
        record = point_run(session, find_run(session, run), site)
        fetched = fetch_artifacts(session, record, dest)
    target, received, unsafe_links = fetched.folder, fetched.received, fetched.unsafe_links
    warn_unsafe_links(unsafe_links)
    warn_missing_artifacts(record.run, fetched.missing)
    note(f"{human_size(received)} fetched")
    if as_json:
        import json

        fields = {"run": record.run, "folder": str(target.resolve()), "bytes": received,
                  "unsafe_links": list(unsafe_links)}  # fmt: skip
        click.echo(json.dumps(fields, indent=2))
        return
    click.echo(str(target))

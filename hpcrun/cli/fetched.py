"""The artifacts of a detached run, fetched by the first command that follows it to its end
(``logs -f``, ``wait``): what is said about that fetch."""

from __future__ import annotations

from typing import Any

from hpcrun.cli.common import human_size, note, warn, warn_missing_artifacts, warn_unsafe_links


def fetch_ended_run(session: Any, record: Any) -> None:
    """Fetch ``record``'s artifacts if it has ended and nobody fetched them since (see
    ``ops.artifacts.fetch_if_never_fetched``). A failure is a warning, not the command's
    failure: the run's own outcome decides the exit code, and `hpcrun artifacts` retries."""
    from hpcrun.errors import HpcrunError
    from hpcrun.ops.artifacts import fetch_if_never_fetched

    try:
        fetched = fetch_if_never_fetched(session, record)
    except HpcrunError as exc:
        warn(f"the artifacts of {record.run} were not fetched: {exc.message}")
        note(f"fetch them with: hpcrun artifacts {record.run}")
        return
    if fetched is None:
        return
    warn_unsafe_links(fetched.unsafe_links)
    warn_missing_artifacts(record.run, fetched.missing)
    note(f"artifacts of {record.run} are in {fetched.folder} "
         f"({human_size(fetched.received)} fetched)")  # fmt: skip

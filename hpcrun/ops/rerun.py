"""``hpcrun rerun``: a run's recorded submission, with new command-line values over it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError
from hpcrun.ops.history import merge_overrides, overrides_from_json
from hpcrun.ops.session import Session
from hpcrun.ops.submit import SubmitRequest
from hpcrun.spec.overrides import Overrides


@dataclass(frozen=True)
class Rerun:
    request: SubmitRequest
    cwd: Path | None  # a bare FILE.py run: its project is found from the folder it ran in


def rerun_request(
    session: Session,
    record: Any,
    overrides: Overrides,
    variables: Mapping[str, str],
    site: str | None = None,
    inputs: Path | None = None,
) -> Rerun:
    """The request that submits ``record`` again: recorded target, workflow, site snapshot,
    overrides and variables; ``overrides``/``variables``/``site`` given here win."""
    if record.overrides is None:
        raise UsageError(
            f"{record.run} was recorded by an older hpcrun, without its arguments and flags",
            f"submit it again with: hpcrun submit {record.workflow} ...",
        )
    target = json.loads(record.target) if record.target else {}
    path = target.get("path") or record.workflows_file
    workflow = target.get("workflow", record.workflow)
    if path is None:
        raise UsageError(f"{record.run} does not record what was submitted")
    if not Path(path).exists():
        raise UsageError(
            f"{path}, which {record.run} was submitted from, is gone",
            "restore it, or submit the workflow again with hpcrun submit",
        )
    if site is None:
        # the config the run was submitted with (its snapshot), not the YAML as it is now
        site = record.site_config
        session.use_site(site, session.site_of(record), Path(record.site_config))
    recorded_vars = json.loads(record.variables) if record.variables else {}
    bare_file = workflow is None and Path(path).is_file() and not path.endswith(".zip")
    return Rerun(
        SubmitRequest(
            Path(path),
            workflow,
            site,
            {**recorded_vars, **variables},
            merge_overrides(overrides_from_json(record.overrides), overrides),
            inputs,
        ),
        Path(record.project_root) if bare_file and record.project_root else None,
    )

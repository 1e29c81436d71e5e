"""Workflow dependencies (``deps:``): use the artifacts of an earlier run at the same site,
or submit the dependency first and chain the two with ``afterok``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hpcrun.errors import UsageError

UNFINISHED = {"submitting", "pending", "running"}


@dataclass(frozen=True)
class Upstream:
    record: Any  # the RunRecord depended on
    working_dir: str | None  # of its workflow, where its artifacts live
    paths: tuple[str, ...]  # its artifact paths
    chained: bool  # not finished yet: the new job waits for it (afterok)


def _spec_of(target: Any, workflow: str) -> Any:
    loaded = target.loaded
    if loaded is None or workflow not in loaded.workflows:
        return None
    return loaded.workflows[workflow]


def _latest_unfinished(store: Any, workflow: str, site: str) -> Any:
    """A run of ``workflow`` still queued or running: chain to it rather than run it twice."""
    runs = [r for r in store.unfinished(site) if r.workflow == workflow and r.job_id]
    return runs[-1] if runs else None


def find_upstream(
    store: Any,
    target: Any,
    site: Any,
    submit_dependency: Callable[[str], Any],
    chain: Sequence[str],
) -> list[Upstream]:
    """One ``Upstream`` per dependency of ``target.workflow``; may submit dependencies."""
    result = []
    for dep in target.workflow.deps:
        if dep.workflow and dep.workflow in (*chain, target.workflow.name):
            cycle = " -> ".join((*chain, target.workflow.name, dep.workflow))
            raise UsageError(f"dependency cycle: {cycle}", "remove one of the deps")
        if dep.tag and dep.tag != "latest":
            record = store.resolve_tag(dep.tag, dep.workflow)
            if record is None:
                of = f" of workflow '{dep.workflow}'" if dep.workflow else ""
                raise UsageError(
                    f"no run{of} is tagged '{dep.tag}' (dependency '{dep.text}')",
                    "tag a finished run with: hpcrun tag RUN " + dep.tag,
                )
        else:
            record = store.latest_completed(dep.workflow, site.name) or _latest_unfinished(
                store, dep.workflow, site.name
            )
            if record is None:
                if _spec_of(target, dep.workflow) is None:
                    raise UsageError(
                        f"dependency '{dep.text}': no workflow named '{dep.workflow}' in "
                        f"{target.workflows_file} and no completed run of it at site "
                        f"'{site.name}'",
                        "check the name under deps:",
                    )
                record = submit_dependency(dep.workflow)
        if record.state not in UNFINISHED and record.state != "completed":
            raise UsageError(
                f"dependency '{dep.text}': run {record.run} ended '{record.state}'",
                "rerun it, or tag a completed run and depend on the tag",
            )
        if record.site != site.name:
            raise UsageError(
                f"dependency '{dep.text}': run {record.run} ran on site '{record.site}', "
                f"not '{site.name}'",
                "dependencies are linked on the cluster; run the dependency on this site",
            )
        spec = _spec_of(target, record.workflow)
        result.append(
            Upstream(
                record,
                spec.working_dir if spec else record.working_dir,
                tuple(a.path for a in spec.artifacts) if spec else record.artifacts,
                record.state in UNFINISHED,
            )
        )
    return result

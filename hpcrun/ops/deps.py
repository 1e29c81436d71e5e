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


def in_file(loaded: Any, workflow: str | None) -> bool:
    """Defined in the workflows file (even if broken: submitting it then says why)."""
    return loaded is not None and workflow is not None and workflow in loaded.names


def needs_record(loaded: Any, dep: Any) -> bool:
    """Only a recorded run can satisfy ``dep``: it names a tag, or a workflow not in the
    file (an in-file workflow is submitted first when no run of it exists)."""
    return bool(dep.tag and dep.tag != "latest") or not in_file(loaded, dep.workflow)


def recorded_run(store: Any, dep: Any, site_name: str) -> Any:
    """The recorded run that satisfies ``dep`` at ``site_name`` without submitting anything:
    the tagged run for ``name:tag``/``:tag``, else the latest completed (or still queued)
    run of the workflow. None if there is none (or no store yet)."""
    if store is None:
        return None
    if dep.tag and dep.tag != "latest":
        return store.resolve_tag(dep.tag, dep.workflow)
    return store.latest_completed(dep.workflow, site_name) or _latest_unfinished(
        store, dep.workflow, site_name
    )


def unsatisfied(dep: Any, workflows_file: Any, site_name: str) -> UsageError:
    """The error for a dependency that neither a recorded run nor the file can satisfy;
    the same words for ``validate`` and ``submit``."""
    if dep.tag and dep.tag != "latest":
        of = f" of workflow '{dep.workflow}'" if dep.workflow else ""
        return UsageError(
            f"dependency '{dep.text}': no run{of} is tagged '{dep.tag}'",
            "tag a finished run with: hpcrun tag RUN " + dep.tag,
        )
    return UsageError(
        f"dependency '{dep.text}': no workflow named '{dep.workflow}' in {workflows_file} "
        f"and no completed run of it at site '{site_name}'",
        "check the name under deps:, or run that workflow at this site first",
    )


def find_cycle(loaded: Any, start: str) -> list[str] | None:
    """A dependency cycle through ``start`` among the file's workflows (``a -> b -> a``), or
    None. Only untagged (or ``:latest``) deps on workflows of the file can form one."""

    def next_of(name: str) -> list[str]:
        workflow = loaded.workflows.get(name)
        if workflow is None:
            return []
        return [
            d.workflow
            for d in workflow.deps
            if d.workflow and (not d.tag or d.tag == "latest") and d.workflow in loaded.names
        ]

    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for following in next_of(name):
            if following == start:
                return [*path, start]
            if following not in seen:
                seen.add(following)
                stack.append((following, [*path, following]))
    return None


def cycle_error(cycle: Sequence[str]) -> UsageError:
    return UsageError(f"dependency cycle: {' -> '.join(cycle)}", "remove one of the deps")


def dependency_errors(loaded: Any, name: str, store: Any, site_name: str) -> list[UsageError]:
    """What ``submit`` would refuse about workflow ``name``'s deps before submitting
    anything: a cycle, or a dependency no recorded run and no workflow of the file satisfies.
    ``validate`` reports exactly these."""
    cycle = find_cycle(loaded, name)
    errors = [cycle_error(cycle)] if cycle else []
    for dep in loaded.workflows[name].deps:
        if needs_record(loaded, dep) and recorded_run(store, dep, site_name) is None:
            errors.append(unsatisfied(dep, loaded.path, site_name))
    return errors


def find_upstream(
    store: Any,
    target: Any,
    site: Any,
    submit_dependency: Callable[[str], Any],
    chain: Sequence[str],
) -> list[Upstream]:
    """One ``Upstream`` per dependency of ``target.workflow``; may submit dependencies."""
    if not chain and target.loaded is not None:
        cycle = find_cycle(target.loaded, target.workflow.name)
        if cycle:  # refused whatever runs exist, as validate does
            raise cycle_error(cycle)
    result = []
    for dep in target.workflow.deps:
        if dep.workflow and dep.workflow in (*chain, target.workflow.name):
            raise cycle_error((*chain, target.workflow.name, dep.workflow))
        record = recorded_run(store, dep, site.name)
        if record is None:
            if needs_record(target.loaded, dep):
                raise unsatisfied(dep, target.workflows_file, site.name)
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

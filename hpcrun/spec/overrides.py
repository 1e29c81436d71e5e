"""dstack ``run`` flags (``--gpu 2``, ``-e NAME=VALUE``, ``-- ARGS``...) applied over a
workflow, validated like the file itself."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from hpcrun.errors import UsageError

# Overrides field -> the command-line flag, for error messages.
FLAGS = {
    "requirements": "-r/--requirements",
    "env": "-e/--env",
    "artifacts": "-a/--artifact",
    "working_dir": "--working-dir",
    "interruptible": "-i/--interruptible",
    "cpu": "--cpu",
    "memory": "--memory",
    "gpu": "--gpu",
    "gpu_name": "--gpu-name",
    "gpu_memory": "--gpu-memory",
    "shm_size": "--shm-size",
    "args": "ARGS",
    "version": "--python",
    "max_duration": "--time",
    "job_time": "--job-time",
    "partition": "--partition",
    "account": "--account",
    "qos": "--qos",
    "constraint": "--constraint",
    "sbatch": "--sbatch",
}
SLURM_KNOBS = ("partition", "account", "qos", "constraint")


@dataclass(frozen=True)
class Overrides:
    requirements: str | None = None
    env: tuple[str, ...] = ()
    artifacts: tuple[str, ...] = ()
    working_dir: str | None = None
    interruptible: bool | None = None
    cpu: int | None = None
    memory: str | None = None
    gpu: int | None = None
    gpu_name: str | None = None
    gpu_memory: str | None = None
    shm_size: str | None = None
    args: tuple[str, ...] | None = None
    version: str | None = None
    # Not a workflow field: the run rebuilds its cached environment (--rebuild-env).
    rebuild_env: bool | None = None
    # --time: the workflow's max_duration; the rest: its `slurm:` block (hpcrun extension)
    time: str | None = None
    job_time: str | None = None  # the workflow's job_time (hpcrun extension)
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    sbatch: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return all(getattr(self, name) in (None, ()) for name in _override_fields())


@lru_cache(maxsize=1)
def _override_fields() -> tuple[str, ...]:
    """The fields that change a workflow (rebuild_env does not), listed once per process."""
    return tuple(f.name for f in fields(Overrides) if f.name != "rebuild_env")


def apply_overrides(workflow: Any, overrides: Overrides) -> Any:
    """A new, validated workflow with the command-line values in place."""
    if overrides.is_empty():
        return workflow
    from pydantic import ValidationError

    data = workflow.model_dump(mode="json", exclude_defaults=True)
    data["name"], data["provider"] = workflow.name, workflow.provider
    for field in ("requirements", "working_dir", "version"):
        if getattr(overrides, field) is not None:
            data[field] = getattr(overrides, field)
    if overrides.env:
        data["env"] = [*data.get("env", []), *overrides.env]
    if overrides.artifacts:
        data["artifacts"] = [*data.get("artifacts", []), *overrides.artifacts]
    if overrides.args is not None:
        if workflow.provider != "python":
            raise UsageError("ARGS after -- only apply to python workflows")
        data["args"] = list(overrides.args)
    if overrides.time is not None:
        data["max_duration"] = overrides.time
    if overrides.job_time is not None:
        data["job_time"] = overrides.job_time
    knobs = {k: getattr(overrides, k) for k in SLURM_KNOBS if getattr(overrides, k) is not None}
    if knobs or overrides.sbatch:
        block = {**data.get("slurm", {}), **knobs}
        if overrides.sbatch:  # after the workflow's: the same flag from the command line wins
            block["sbatch"] = [*block.get("sbatch", []), *overrides.sbatch]
        data["slurm"] = block
    resources = data.setdefault("resources", {})
    for field in ("cpu", "memory", "shm_size", "interruptible"):
        if getattr(overrides, field) is not None:
            resources[field] = getattr(overrides, field)
    gpu_fields = {
        "count": overrides.gpu,
        "name": overrides.gpu_name,
        "memory": overrides.gpu_memory,
    }
    if any(value is not None for value in gpu_fields.values()):
        gpu = resources.get("gpu") or {}
        gpu.update({k: v for k, v in gpu_fields.items() if v is not None})
        resources["gpu"] = gpu
    try:
        return type(workflow).model_validate(data)
    except ValidationError as exc:
        problems, hints = [], []
        for error in exc.errors(include_url=False):
            hints.append((error.get("ctx") or {}).get("hint"))  # a fix carried by a validator
            path = [str(p) for p in error["loc"] if not str(p).startswith(("function", "list["))]
            if "gpu" in path and path[-1] in ("name", "memory"):
                path = [*path[:-1], f"gpu_{path[-1]}"]  # resources.gpu.memory: --gpu-memory
            flag = next((FLAGS[p] for p in reversed(path) if p in FLAGS), ".".join(path))
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{flag}: {message}")
        known = [hint for hint in hints if hint]
        hint = "; ".join(known) if known else "fix the command-line value"
        raise UsageError("; ".join(problems), hint) from None

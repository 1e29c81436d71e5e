"""pydantic models of a dstack-era workflows.yaml (``python`` and ``bash`` providers).

The loader (``spec.load``) has already renamed the aliases real files use (``script``,
``python_script`` -> ``file``; ``python`` -> ``version``; ``depends-on`` -> ``deps``), so
these models only know the canonical names, and reject anything else.
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from hpcrun.safepaths import name_hint, name_problem, relative_problem
from hpcrun.site.models import SlurmConstraint, SlurmName
from hpcrun.spec.sweep import SweepSpec
from hpcrun.units import Size

# Always used with fullmatch: ``$`` would also match before a trailing newline.
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_NAME_RULE = (
    "is not a valid environment variable name: letters, digits and '_', not starting with a "
    "digit (no spaces or line breaks)"
)
ENV_NAME_HINT = "rename the variable, e.g. MY_VAR"
VERSION_RE = re.compile(r"\d+\.\d+(\.\d+)?")
LEGACY_GPU_KEY_RE = re.compile(r"(?P<name>[^/\s]+)/gpu", re.IGNORECASE)


class _Strict(BaseModel):
    """Unknown keys are errors; values never change after validation.

    Empty defaults are written ``default_factory=lambda: []``, not ``=list``: pydantic
    inspects a factory's signature when the class is built, and for a builtin that means
    parsing its text signature (~5% of a whole `hpcrun render`).

    ``defer_build``: a model's validator is built when it first validates, not when its
    module is imported: a nested model is validated inside its parent's validator (its
    own is never needed), and a command builds only the workflow type it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _scalar_text(value: Any) -> Any:
    """Numbers and booleans as text (YAML from ``yamlsource`` is already text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _refused(message: str, hint: str) -> Exception:
    """A validation error that carries its fix (``validation`` shows it as the hint)."""
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("hpcrun_value", "{message}", {"message": message, "hint": hint})


def _valid_name(value: Any, what: str) -> Any:
    problem = name_problem(value, what)
    if problem:
        raise _refused(problem, name_hint(value))
    return value


def _valid_relative(value: Any, what: str) -> Any:
    if value is None:
        return value
    problem = relative_problem(value, what)
    if problem:
        raise _refused(
            problem,
            "write it relative to the project root (or working_dir), e.g. 'data/out'; "
            "files outside the project are never read or written",
        )
    return value


def _positive_size(value: Size | None, what: str) -> Size | None:
    """0 bytes is never a request (it used to be dropped silently): refuse it."""
    if value is not None and int(value) <= 0:
        raise _refused(
            f"{what} '{value}' is not a size greater than zero",
            f"write e.g. '16GB', or leave {what} out to use the site's default",
        )
    return value


class GpuRequest(_Strict):
    count: int = Field(default=1, ge=0)
    name: str | None = None
    memory: Size | None = None

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: Size | None) -> Size | None:
        return _positive_size(value, "gpu memory")


class Resources(_Strict):
    cpu: int | None = Field(default=None, ge=1)
    memory: Size | None = None
    gpu: GpuRequest | None = None
    shm_size: Size | None = None
    interruptible: bool = False
    local: bool = False  # dstack's "run on my machine"; hpcrun's answer is --site local

    @field_validator("memory", "shm_size")
    @classmethod
    def _sizes(cls, value: Size | None, info: Any) -> Size | None:
        return _positive_size(value, info.field_name)

    @model_validator(mode="before")
    @classmethod
    def _legacy_gpu_key(cls, data: Any) -> Any:
        """``K80/gpu: 4`` (dstack's oldest form) means ``gpu: {name: K80, count: 4}``."""
        if not isinstance(data, dict):
            return data
        legacy = [key for key in data if LEGACY_GPU_KEY_RE.fullmatch(str(key))]
        if not legacy:
            return data
        if len(legacy) > 1 or "gpu" in data:
            raise ValueError("give the GPU once: either 'gpu:' or one 'NAME/gpu:' key")
        key = legacy[0]
        result = {k: v for k, v in data.items() if k != key}
        name = LEGACY_GPU_KEY_RE.fullmatch(key).group("name")  # type: ignore[union-attr]
        result["gpu"] = {"name": name, "count": data[key]}
        return result

    @field_validator("gpu", mode="before")
    @classmethod
    def _gpu_shorthand(cls, value: Any) -> Any:
        """``gpu: 2`` is a count; ``gpu: {name: V100}`` alone means one; 0 means none."""
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            text = str(value).strip()
            if text.isdigit():
                return None if int(text) == 0 else {"count": int(text)}
            raise ValueError(
                f"expected a GPU count or a mapping {{count, name, memory}}, got {value!r}"
            )
        if isinstance(value, dict) and str(value.get("count", "1")).strip() == "0":
            return None
        return value


class Artifact(_Strict):
    path: str
    mount: bool = False

    @field_validator("path")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an artifact path cannot be empty")
        if not PurePosixPath(value).parts:  # ".", "./": the folder itself
            raise _refused(
                f"artifact path '{value}' names the whole folder, not a file or folder in it",
                "name the folder the job writes, e.g. 'model' or 'outputs'",
            )
        return _valid_relative(value, "artifact path")


class DepRef(_Strict):
    """A dependency: another workflow's latest run, or a tagged run (``:tag``)."""

    workflow: str | None = None
    tag: str | None = None

    @field_validator("workflow")
    @classmethod
    def _workflow(cls, value: str | None) -> str | None:
        return None if value is None else _valid_name(value, "dependency workflow name")

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        return None if value is None else _valid_name(value, "tag")

    @model_validator(mode="after")
    def _something(self) -> DepRef:
        if not self.workflow and not self.tag:
            raise ValueError("a dependency names a workflow, a tag, or both")
        return self

    @property
    def text(self) -> str:
        return f"{self.workflow or ''}{':' + self.tag if self.tag else ''}"


def _parse_dep(value: Any) -> Any:
    if isinstance(value, str):
        workflow, _, tag = value.strip().partition(":")
        return {"workflow": workflow or None, "tag": tag or None}
    return value


def _sbatch_directive(value: str) -> str:
    from hpcrun.schedulers.slurm_directives import directive_problem

    problem = directive_problem(value)
    if problem:
        raise _refused(*problem)
    return value


class SlurmOptions(_Strict):
    """hpcrun's extension block ``slurm:`` (dstack has no such key): scheduler knobs for one
    workflow, over the site's defaults and under the command line's flags."""

    partition: SlurmName | None = None
    account: SlurmName | None = None
    qos: SlurmName | None = None
    constraint: SlurmConstraint | None = None
    # pass-through --flag[=value] directives, checked one by one (located by index)
    sbatch: list[Annotated[str, AfterValidator(_sbatch_directive)]] = Field(
        default_factory=lambda: []
    )

    @field_validator("sbatch", mode="before")
    @classmethod
    def _one_directive(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class WorkflowBase(_Strict):
    name: str
    provider: str
    help: str | None = None
    version: str = "3.10"
    requirements: str | None = None
    environment: dict[str, str] = Field(default_factory=lambda: {})
    env: list[str] = Field(default_factory=lambda: [])
    artifacts: list[Artifact] = Field(default_factory=lambda: [])
    working_dir: str | None = None
    deps: list[DepRef] = Field(default_factory=lambda: [])
    before_run: list[str] = Field(default_factory=lambda: [])
    resources: Resources = Field(default_factory=Resources)
    # dstack's time limit, as written ("2h", "90", "1-00:00:00"); the plan's per-job --time
    max_duration: str | None = None
    # hpcrun extension: after a time limit, the job requeues itself up to this many times and
    # the program continues from its checkpoint (docs/interruptible.md)
    resume_on_timeout: int = Field(default=0, ge=0, le=100)
    # hpcrun extension: each job's --time in a run that resumes on timeout; max_duration is
    # then the whole run's budget (docs/interruptible.md). Declared after the two it is
    # checked against, so its validator sees them.
    job_time: str | None = None
    slurm: SlurmOptions | None = None  # hpcrun extension
    sweep: SweepSpec | None = None  # hpcrun extension: a parameter sweep (spec.sweep)

    @field_validator("max_duration", mode="before")
    @classmethod
    def _max_duration(cls, value: Any) -> Any:
        from hpcrun.durations import DurationError, parse_duration

        if value is None:
            return value
        try:
            parse_duration(value)
        except DurationError as exc:
            raise _refused(str(exc), "write e.g. '2h', '90m', '1d12h' or '1-00:00:00'") from None
        return str(value)

    @field_validator("job_time", mode="before")
    @classmethod
    def _job_time(cls, value: Any, info: Any) -> Any:
        from hpcrun.durations import DurationError, parse_duration

        if value is None:
            return value
        try:
            seconds = parse_duration(value)
        except DurationError as exc:
            raise _refused(str(exc), "write e.g. '1h', '90m' or '12:00:00'") from None
        if not info.data.get("resume_on_timeout"):
            raise _refused(
                "job_time is the limit of each job of a run that resumes on timeout, but "
                "resume_on_timeout is not set",
                "add resume_on_timeout: N, or write the time limit as max_duration",
            )
        budget = info.data.get("max_duration")
        if budget is not None and seconds > parse_duration(budget):
            raise _refused(
                f"job_time {value} is longer than max_duration {budget} (the run's budget)",
                "make job_time at most max_duration",
            )
        return str(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        text = str(_scalar_text(value)).strip()
        if not VERSION_RE.fullmatch(text):
            raise ValueError(f'expected a Python version like "3.10", got {value!r}')
        return text

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, list):  # later dstack: a list of NAME=VALUE
            return dict(_split_env_item(item) for item in value)
        if isinstance(value, dict):
            for key in value:
                if not ENV_NAME_RE.fullmatch(str(key)):
                    raise _refused(f"{str(key)!r} {ENV_NAME_RULE}", ENV_NAME_HINT)
            return {str(k): "" if v is None else _scalar_text(v) for k, v in value.items()}
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, dict):
            value = [f"{k}={'' if v is None else _scalar_text(v)}" for k, v in value.items()]
        if isinstance(value, list):
            for item in value:
                _split_env_item(item)
            return [_scalar_text(item) for item in value]
        return value

    @field_validator("artifacts", mode="before")
    @classmethod
    def _artifacts(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            return [{"path": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("deps", mode="before")
    @classmethod
    def _deps(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, list):
            return [_parse_dep(item) for item in value]
        return value

    @field_validator("before_run", mode="before")
    @classmethod
    def _before_run(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a workflow needs a name")
        return _valid_name(value.strip(), "workflow name")

    @field_validator("working_dir", "requirements")
    @classmethod
    def _relative_paths(cls, value: str | None, info: Any) -> str | None:
        return _valid_relative(value, info.field_name)


def _split_env_item(item: Any) -> tuple[str, str]:
    """``NAME=VALUE`` -> (NAME, VALUE); a bare ``NAME`` -> (NAME, "") for the caller to fill."""
    if not isinstance(item, str):
        raise ValueError(f"expected NAME=VALUE or NAME, got {item!r}")
    name, _, value = item.partition("=")
    if not ENV_NAME_RE.fullmatch(name):
        raise _refused(f"{name!r} (in {item!r}) {ENV_NAME_RULE}", ENV_NAME_HINT)
    return name, value


class PythonWorkflow(WorkflowBase):
    provider: Literal["python"]
    file: str
    args: list[str] = Field(default_factory=lambda: [])

    @field_validator("file")
    @classmethod
    def _file(cls, value: str) -> str:
        return _valid_relative(value, "file")

    @field_validator("args", mode="before")
    @classmethod
    def _args(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"cannot split args into words: {exc}") from None
        if isinstance(value, list):
            return [_scalar_text(item) for item in value]
        return value


class BashWorkflow(WorkflowBase):
    provider: Literal["bash"]
    commands: list[str]

    @field_validator("commands", mode="before")
    @classmethod
    def _commands(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def env_pairs(workflow: WorkflowBase) -> list[tuple[str, str | None]]:
    """The workflow's environment in order; a bare ``NAME`` in ``env`` gives (NAME, None)."""
    pairs: list[tuple[str, str | None]] = list(workflow.environment.items())
    for item in workflow.env:
        name, sep, value = item.partition("=")
        pairs.append((name, value if sep else None))
    return pairs

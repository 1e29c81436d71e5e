"""The ``sweep:`` block of a workflow: a matrix of parameters, extra and dropped points.

```yaml
sweep:
  matrix: {lr: [0.1, 0.01], bs: [32, 64]}   # the points are the product
  include: [{lr: 0.5, bs: 16}]              # extra points: each gives every parameter
  exclude: [{lr: 0.1, bs: 64}, {bs: 128}]   # drop product points matching all given keys
  max_parallel: 4                           # at most this many points running at once
  retries: 1                                # per point, for points that end failed
```

Values are text, as written in the YAML (``0.10`` stays ``0.10``), and compare as text.
Includes follow GitHub Actions' ``exclude``-then-``include`` order, but an include is
always a complete, extra point (it never adds keys to existing points): simple to read,
and every point has exactly the same parameters. Excludes apply to the matrix product
only: a point written out under ``include`` is never dropped by a pattern.

The model checks shapes; ``sweep_issues`` checks what spans several keys, returning
paths (inside ``sweep``) so the loader can say file:line for each.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# A parameter becomes HPCRUN_PARAM_<NAME upper-cased>: an identifier, short.
PARAM_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
PARAM_NAME_RULE = "letters, digits and '_', not starting with a digit, at most 64 characters"
PARAM_ENV_PREFIX = "HPCRUN_PARAM_"
# ${{name}} as kept by the loader for a sweep parameter (spaces already removed)
PARAM_REF_RE = re.compile(r"\$\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
# The fields where ${{ parameter }} may appear; it stays a per-point placeholder there.
PARAM_FIELDS = ("args", "environment", "env", "working_dir")
MAX_POINTS = 100_000
# Point values travel in a tab-separated table, one point per line.
_FORBIDDEN_IN_VALUES = ("\t", "\n", "\r", "\x00")


def param_env_name(name: str) -> str:
    return PARAM_ENV_PREFIX + name.upper()


def _refused(message: str, hint: str) -> Exception:
    from pydantic_core import PydanticCustomError

    return PydanticCustomError("hpcrun_value", "{message}", {"message": message, "hint": hint})


def _param_name(value: Any) -> str:
    if not isinstance(value, str) or not PARAM_NAME_RE.fullmatch(value):
        raise _refused(
            f"sweep parameter name {value!r} is not allowed: {PARAM_NAME_RULE}",
            "parameter names become environment variables HPCRUN_PARAM_<NAME>; e.g. 'lr'",
        )
    return value


def _param_value(value: Any) -> Any:
    """A scalar, kept as its text; lists, mappings and null are refused."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        shown = "null" if value is None else type(value).__name__
        raise _refused(
            f"a sweep parameter value must be a scalar (text, number or boolean), got {shown}",
            "write a plain value such as 0.1, adam or 32; quote '' for empty text",
        )
    if any(char in value for char in _FORBIDDEN_IN_VALUES):
        raise _refused(
            f"sweep parameter value {value!r} contains a tab, a line break or a NUL",
            "a parameter value is one line of text without tabs",
        )
    return value


ParamName = Annotated[str, BeforeValidator(_param_name)]
ParamValue = Annotated[str, BeforeValidator(_param_value)]
Point = dict[ParamName, ParamValue]


def _non_empty(values: list[str]) -> list[str]:
    if not values:
        raise _refused(
            "a matrix parameter needs at least one value (an empty list gives no points)",
            "give one value or more, e.g. lr: [0.1, 0.01], or remove the parameter",
        )
    return values


def _single_values(value: Any) -> Any:
    """``lr: 0.1`` is a one-value list."""
    if isinstance(value, Mapping):
        return {k: (v if isinstance(v, list) else [v]) for k, v in value.items()}
    return value


class SweepSpec(BaseModel):
    # built inside the workflow model's validator (see spec.models._Strict)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    matrix: Annotated[
        dict[ParamName, Annotated[list[ParamValue], AfterValidator(_non_empty)]],
        BeforeValidator(_single_values),
    ] = Field(default_factory=lambda: {})
    include: list[Point] = Field(default_factory=lambda: [])
    exclude: list[Point] = Field(default_factory=lambda: [])
    max_parallel: int | None = Field(default=None, ge=1)
    retries: int = Field(default=0, ge=0)

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameter names in the order written: the matrix's, else the first include's."""
        if self.matrix:
            return tuple(self.matrix)
        return tuple(self.include[0]) if self.include else ()


@dataclass(frozen=True)
class SweepIssue:
    """A problem (or, with ``warning``, a remark) at ``path`` inside the ``sweep:`` block."""

    path: tuple[str | int, ...]
    message: str
    hint: str | None = None
    warning: bool = False


def sweep_issues(sweep: SweepSpec) -> list[SweepIssue]:
    """What spans several keys: colliding names, incomplete includes, unknown or useless
    excludes, and a sweep with no points or too many."""
    issues: list[SweepIssue] = []
    params = sweep.parameters
    if not params:
        return [
            SweepIssue(
                (),
                "a sweep needs parameters: a 'matrix:' or at least one 'include:' point",
                "e.g. sweep: {matrix: {lr: [0.1, 0.01]}}",
            )
        ]
    seen: dict[str, str] = {}
    for name in params:
        env = param_env_name(name)
        if env in seen:
            issues.append(
                SweepIssue(
                    ("matrix", name) if sweep.matrix else ("include", 0, name),
                    f"sweep parameters '{seen[env]}' and '{name}' both become {env}",
                    "parameter names must differ by more than upper/lower case",
                )
            )
        seen[env] = name
    wanted = set(params)
    for index, point in enumerate(sweep.include):
        missing = [p for p in params if p not in point]
        extra = [k for k in point if k not in wanted]
        if missing or extra:
            parts = [f"misses {', '.join(missing)}"] if missing else []
            parts += [f"has unknown {', '.join(extra)}"] if extra else []
            issues.append(
                SweepIssue(
                    ("include", index),
                    f"include[{index}] {' and '.join(parts)}: an include is one complete extra "
                    "point",
                    f"give exactly the parameters {', '.join(params)}",
                )
            )
    for index, pattern in enumerate(sweep.exclude):
        unknown = [k for k in pattern if k not in wanted]
        if not pattern or unknown:
            issues.append(
                SweepIssue(
                    ("exclude", index),
                    f"exclude[{index}] names unknown parameters {', '.join(unknown)}"
                    if unknown
                    else f"exclude[{index}] is empty (it would drop every point)",
                    f"an exclude gives some of the parameters {', '.join(params)}",
                )
            )
        elif not sweep.matrix or any(v not in sweep.matrix[k] for k, v in pattern.items()):
            issues.append(
                SweepIssue(
                    ("exclude", index),
                    f"exclude[{index}] matches no point of the matrix",
                    "values compare as written text: 0.10 is not 0.1",
                    warning=True,
                )
            )
    if any(not issue.warning for issue in issues):
        return issues
    product = math.prod(len(values) for values in sweep.matrix.values()) if sweep.matrix else 0
    if product + len(sweep.include) > MAX_POINTS:
        issues.append(
            SweepIssue(
                ("matrix",) if sweep.matrix else ("include",),
                f"the sweep has {product + len(sweep.include):,} points, more than the "
                f"limit of {MAX_POINTS:,}",
                "split it into several sweeps, or use fewer values per parameter",
            )
        )
        return issues
    from hpcrun.sweep.points import has_points

    if not has_points(sweep):
        issues.append(
            SweepIssue((), "the excludes drop every point: the sweep has no points", None)
        )
    return issues


def references(value: Any) -> Iterable[str]:
    """Every name used as ``${{ name }}`` in a string, or in the strings of a list/dict."""
    if isinstance(value, str):
        yield from (m.group(1) for m in PARAM_REF_RE.finditer(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from references(item)


def unused_parameters(workflow: Any) -> list[str]:
    """Parameters of ``workflow.sweep`` that no ``${{ }}`` in args/env/working_dir uses."""
    sweep: SweepSpec | None = getattr(workflow, "sweep", None)
    if sweep is None:
        return []
    used: set[str] = set()
    for field in PARAM_FIELDS:
        used.update(references(getattr(workflow, field, None)))
    return [name for name in sweep.parameters if name not in used]


def fill(text: str, values: Mapping[str, str], parameters: Sequence[str]) -> str:
    """``text`` with each ``${{ parameter }}`` replaced by the point's value."""
    names = set(parameters)

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in names else match.group(0)

    return PARAM_REF_RE.sub(value_of, text)

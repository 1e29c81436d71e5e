"""Load a workflows.yaml into validated workflows, collecting every problem with its place.

Problems are kept per workflow: a broken or unsupported workflow does not stop the
others in the same file from being rendered or submitted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcrun.errors import Problem, SpecError, UsageError, did_you_mean
from hpcrun.spec.variables import Placeholders, Variables, load_variables, substitute
from hpcrun.yamlsource import SourceMap, read_yaml

ALIASES = {"script": "file", "python_script": "file", "python": "version", "depends-on": "deps"}
SUPPORTED_PROVIDERS = ("python", "bash")
# Providers dstack had that hpcrun does not run (yet): a clear "not supported", not "unknown".
OTHER_DSTACK_PROVIDERS = (
    "docker", "streamlit", "gradio", "fastapi", "lab", "notebook", "code", "ssh", "curl",
    "torchrun", "tensorboard", "vscode", "jupyter", "conda",
)  # fmt: skip
RESOURCE_KEYS = {"cpu", "memory", "gpu", "shm_size", "interruptible"}
DEFAULT_FILES = (Path(".dstack") / "workflows.yaml", Path("workflows.yaml"))


@dataclass
class WorkflowFile:
    path: Path
    project_root: Path
    source: SourceMap
    names: list[str] = field(default_factory=list)
    workflows: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, list[Problem]] = field(default_factory=dict)
    file_problems: list[Problem] = field(default_factory=list)
    indices: dict[str, int] = field(default_factory=dict)
    # name -> the "already defined" problems of its later copies: such a name is ambiguous,
    # so get() refuses it (validate and submit must agree).
    duplicates: dict[str, list[Problem]] = field(default_factory=dict)
    # name -> remarks that do not stop it (e.g. an unused sweep parameter), located
    warnings: dict[str, list[Problem]] = field(default_factory=dict)

    def problem(self, name: str, field_name: str, message: str, hint: str | None) -> SpecError:
        """A SpecError about one field of workflow ``name``, located in the file."""
        where = self.source.locate(("workflows", self.indices.get(name, -1), field_name))
        label = _label_for(name)((field_name,))
        return SpecError([Problem(where, label, message, hint)], f"workflow '{name}' has a problem")

    def get(self, name: str) -> Any:
        """The validated workflow ``name``; its problems (only its own) as a SpecError."""
        if self.file_problems:
            raise SpecError(self.file_problems, f"{self.path} cannot be read as workflows")
        if name in self.duplicates:
            copies = len(self.duplicates[name]) + 1
            raise SpecError(
                self.duplicates[name],
                f"workflow '{name}' is defined {copies} times in {self.path}; which one to "
                "run is ambiguous",
            )
        if name in self.problems:
            count = len(self.problems[name])
            raise SpecError(
                self.problems[name], f"workflow '{name}' has {count} problem{'s' * (count != 1)}"
            )
        if name not in self.workflows:
            hint = did_you_mean(name, self.names) or (
                "workflows in this file: " + ", ".join(self.names) if self.names else None
            )
            raise UsageError(f"no workflow named '{name}' in {self.path}", hint)
        return self.workflows[name]

    def all_problems(self) -> list[Problem]:
        result = list(self.file_problems)
        for name in self.names:
            result.extend(self.problems.get(name, []))
        return result


def find_workflows_file(cwd: Path) -> Path:
    for candidate in DEFAULT_FILES:
        if (cwd / candidate).is_file():
            return cwd / candidate
    raise UsageError(
        f"no workflows file in {cwd}",
        # Shared by render, submit, validate and sweep: name no command in the hint.
        "run hpcrun from the folder holding workflows.yaml (or .dstack/workflows.yaml), "
        "or name the file before the workflow: path/to/workflows.yaml WORKFLOW",
    )


def project_root_of(path: Path) -> Path:
    """The repository a workflows file belongs to: the parent of ``.dstack/`` if any."""
    resolved = path.resolve()
    for parent in resolved.parents:
        if parent.name == ".dstack":
            return parent.parent
    return resolved.parent


def variables_file_of(path: Path) -> Path:
    root = project_root_of(path)
    for candidate in (
        path.resolve().parent / "variables.yaml",
        root / ".dstack" / "variables.yaml",
    ):
        if candidate.is_file():
            return candidate
    return root / ".dstack" / "variables.yaml"


def load_workflows(
    path: Path, cli_vars: Mapping[str, str] | None = None, variables_path: Path | None = None
) -> WorkflowFile:
    document = read_yaml(path)
    variables = load_variables(variables_path or variables_file_of(path), cli_vars or {})
    result = WorkflowFile(path, project_root_of(path), document.source)
    result.file_problems.extend(document.problems)
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("workflows"), list):
        result.file_problems.append(
            Problem(
                document.source.locate(("workflows",)),
                "workflows",
                "expected a top-level 'workflows:' list",
                "start the file with 'workflows:' followed by '  - name: ...' items",
            )
        )
        return result
    for key in data:
        if key != "workflows":
            result.file_problems.append(
                Problem(
                    document.source.locate((key,), prefer_key=True),
                    str(key),
                    f"unknown top-level key '{key}'",
                    did_you_mean(str(key), ["workflows"]) or "only 'workflows:' is expected here",
                )
            )
    for index, item in enumerate(data["workflows"]):
        _load_one(index, item, variables, result)
    return result


def _position(problem: Problem) -> tuple[int, int]:
    where = problem.location
    return (where.line, where.column) if where else (0, 0)


def _label_for(name: str) -> Any:
    def label(path: Sequence[str | int]) -> str:
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        return f"workflows[{name}]{rest}"

    return label


def _load_one(index: int, item: Any, variables: Variables, result: WorkflowFile) -> None:
    base: tuple[str | int, ...] = ("workflows", index)
    source = result.source
    raw_name = item.get("name") if isinstance(item, dict) else None
    name = raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else f"#{index + 1}"
    label = _label_for(name)
    problems: list[Problem] = []
    if name in result.names:
        duplicate = Problem(
            source.locate((*base, "name")),
            label(("name",)),
            f"a workflow named '{name}' is already defined above",
            "give each workflow a unique name",
        )
        problems.append(duplicate)
        result.duplicates.setdefault(name, []).append(duplicate)
        name = f"{name}#{index + 1}"
        label = _label_for(name)
    result.names.append(name)
    result.indices[name] = index
    if not isinstance(item, dict):
        problems.append(
            Problem(source.locate(base), label(()), "expected a mapping (name, provider, ...)")
        )
        result.problems[name] = problems
        return
    if raw_name is None:
        problems.append(Problem(source.locate(base), label(("name",)), "this field is required"))

    def absolute_label(path: Sequence[str | int]) -> str:
        return label(tuple(path)[len(base) :])

    placeholders = _sweep_placeholders(item, len(base))
    item = substitute(item, base, name, variables, source, problems, absolute_label, placeholders)
    item = _rename_aliases(item, base, source, label, problems)
    model = _model_for_provider(item, base, source, label, problems)
    if model is not None and not problems:
        _validate(model, item, base, source, label, name, result)
        if name in result.workflows and result.workflows[name].sweep is not None:
            _check_sweep(result.workflows[name], base, source, label, name, result)
    if problems or name in result.problems:
        collected = result.problems.setdefault(name, [])
        collected.extend(problems)
        collected.sort(key=_position)


def _sweep_placeholders(item: dict[str, Any], depth: int) -> Placeholders | None:
    """The names a ``sweep:`` block defines (matrix and include keys), read before
    variables are filled in, so that ``${{ lr }}`` stays a per-point placeholder."""
    from hpcrun.spec.sweep import PARAM_FIELDS

    sweep = item.get("sweep")
    if not isinstance(sweep, dict):
        return None
    names: set[str] = set()
    if isinstance(sweep.get("matrix"), dict):
        names.update(str(key) for key in sweep["matrix"])
    if isinstance(sweep.get("include"), list):
        for point in sweep["include"]:
            if isinstance(point, dict):
                names.update(str(key) for key in point)
    if not names:
        return None
    return Placeholders(
        frozenset(names), PARAM_FIELDS, lambda path: path[depth] if len(path) > depth else None
    )


def _check_sweep(
    workflow: Any,
    base: tuple[str | int, ...],
    source: SourceMap,
    label: Any,
    name: str,
    result: WorkflowFile,
) -> None:
    """Located problems and warnings of a validated ``sweep:`` block."""
    from hpcrun.spec.sweep import param_env_name, sweep_issues, unused_parameters

    for issue in sweep_issues(workflow.sweep):
        path = ("sweep", *issue.path)
        found = Problem(source.locate((*base, *path)), label(path), issue.message, issue.hint)
        target = result.warnings if issue.warning else result.problems
        target.setdefault(name, []).append(found)
    if name in result.problems:
        result.workflows.pop(name, None)
        return
    for parameter in unused_parameters(workflow):
        path = ("sweep", "matrix", parameter) if workflow.sweep.matrix else ("sweep", "include")
        result.warnings.setdefault(name, []).append(
            Problem(
                source.locate((*base, *path), prefer_key=True),
                label(path),
                f"sweep parameter '{parameter}' is not used by any ${{{{ {parameter} }}}}",
                f"the program still gets it as ${param_env_name(parameter)}",
            )
        )


def _rename_aliases(
    item: dict[str, Any],
    base: tuple[str | int, ...],
    source: SourceMap,
    label: Any,
    problems: list[Problem],
) -> dict[str, Any]:
    renamed: dict[str, Any] = {}
    spelled: dict[str, str] = {}  # canonical name -> how this file spelled it first
    for key, value in item.items():
        canonical = ALIASES.get(key, key)
        if canonical in renamed:
            problems.append(
                Problem(
                    source.locate((*base, key), prefer_key=True),
                    label((key,)),
                    f"'{spelled[canonical]}' and '{key}' mean the same thing",
                    f"keep only '{canonical}'",
                )
            )
            continue
        spelled[canonical] = key
        if canonical != key:
            source.move((*base, key), (*base, canonical))
        renamed[canonical] = value
    return renamed


_PROVIDER_VERSION_RE = re.compile(r"^(python|bash)\s*(?:==|=|@|-)?\s*(\d+(?:\.\d+)*)$")


def _model_for_provider(
    item: dict[str, Any],
    base: tuple[str | int, ...],
    source: SourceMap,
    label: Any,
    problems: list[Problem],
) -> Any:
    from hpcrun.spec.models import BashWorkflow, PythonWorkflow

    where = source.locate((*base, "provider"))
    provider = item.get("provider")
    if provider is None:
        problems.append(
            Problem(where, label(("provider",)), "this field is required", "add 'provider: python'")
        )
        return None
    text = str(provider).strip()
    if text == "python":
        return PythonWorkflow
    if text == "bash":
        return BashWorkflow
    versioned = _PROVIDER_VERSION_RE.fullmatch(text)
    if versioned:
        message = f"'{text}' is not a provider: the Python version goes in its own field"
        hint = f"write 'provider: {versioned.group(1)}' and 'version: \"{versioned.group(2)}\"'"
    elif len(text.split()) > 1:
        message = f"'{text}' is not a provider: 'provider' takes one word"
        hint = f"write 'provider: {text.split()[0]}' and put program arguments under 'args:'"
    elif text in OTHER_DSTACK_PROVIDERS:
        message = f"provider '{text}' is not supported by hpcrun"
        hint = (
            "hpcrun runs 'python' and 'bash' workflows; the other workflows in this file still work"
        )
    else:
        message = f"unknown provider '{text}'"
        hint = (
            did_you_mean(text, SUPPORTED_PROVIDERS) or "use 'provider: python' or 'provider: bash'"
        )
    problems.append(Problem(where, label(("provider",)), message, hint))
    return None


def _key_hint(key: str, loc: Sequence[str | int]) -> str | None:
    if len(loc) == 1 and key in RESOURCE_KEYS:
        return f"'{key}' belongs under 'resources:' (resources: {{{key}: ...}})"
    if len(loc) == 1 and key in ("variables", "vars"):
        return "variables live in .dstack/variables.yaml or come from --var NAME=VALUE"
    return None


def _validate(
    model: Any,
    item: dict[str, Any],
    base: tuple[str | int, ...],
    source: SourceMap,
    label: Any,
    name: str,
    result: WorkflowFile,
) -> None:
    from pydantic import ValidationError

    from hpcrun.validation import problems_from_validation

    suggestions = {**ALIASES, **{k: k for k in model.model_fields}}

    def key_hint(key: str, loc: Sequence[str | int]) -> str | None:
        hint = _key_hint(key, loc)
        if hint is None and len(loc) == 1:
            hint = did_you_mean(key, suggestions)
        return hint

    try:
        result.workflows[name] = model.model_validate(item)
    except ValidationError as exc:
        result.problems[name] = problems_from_validation(exc, model, source, base, label, key_hint)

"""``${{ name }}`` variables: from .dstack/variables.yaml and ``--var name=value``.

A value that is exactly one reference takes the variable's value as is (so
``gpu: ${{ gpu }}`` can become a count); a reference inside longer text is replaced by
the value's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcrun.errors import Problem, SpecError
from hpcrun.yamlsource import SourceMap, read_yaml

VAR_RE = re.compile(r"\$\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}")
GLOBAL = "global"


@dataclass
class Variables:
    """Variable values by section (a workflow name, or ``global``) plus command-line ones."""

    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    cli: dict[str, str] = field(default_factory=dict)
    file: Path | None = None

    def lookup(self, workflow: str, name: str) -> tuple[bool, Any]:
        for table in (self.cli, self.sections.get(workflow, {}), self.sections.get(GLOBAL, {})):
            if name in table:
                return True, table[name]
        return False, None

    def sections_defining(self, name: str) -> list[str]:
        return [section for section, table in self.sections.items() if name in table]


def load_variables(path: Path | None, cli: Mapping[str, str]) -> Variables:
    """Read ``variables: {<workflow>|global: {name: value}}`` if the file exists."""
    variables = Variables(cli=dict(cli), file=path)
    if path is None or not path.is_file():
        return variables
    document = read_yaml(path)
    problems = list(document.problems)
    data = document.data
    top = data.get("variables") if isinstance(data, dict) else None
    if data is not None and not isinstance(top, dict):
        problems.append(
            Problem(
                document.source.locate(()),
                "variables",
                "expected a mapping 'variables:' of sections (a workflow name or 'global')",
                "write it as:  variables:\\n  global:\\n    name: value",
            )
        )
    elif isinstance(top, dict):
        for section, table in top.items():
            if not isinstance(table, dict):
                problems.append(
                    Problem(
                        document.source.locate(("variables", section)),
                        f"variables.{section}",
                        "expected a mapping of variable names to values",
                    )
                )
                continue
            variables.sections[str(section)] = dict(table)
    if problems:
        raise SpecError(problems, f"{path} has problems")
    return variables


def _undefined_hint(variables: Variables, workflow: str, name: str) -> str:
    elsewhere = [s for s in variables.sections_defining(name) if s != workflow]
    if elsewhere:
        return (
            f"'{name}' is defined for workflow '{elsewhere[0]}' only; add it under "
            f"'global:' or '{workflow}:' in variables.yaml, or pass --var {name}=VALUE"
        )
    where = str(variables.file) if variables.file else ".dstack/variables.yaml"
    return f"define it in {where} (under '{workflow}:' or 'global:') or pass --var {name}=VALUE"


@dataclass(frozen=True)
class Placeholders:
    """Sweep parameters: ``${{ name }}`` of one stays in the text (as ``${{name}}``, one
    shell word) where ``field_of(path)`` is in ``fields``; anywhere else it is an error."""

    names: frozenset[str]
    fields: tuple[str, ...]
    field_of: Any  # path -> the workflow field it is under

    def keep(self, name: str, path: tuple[str | int, ...]) -> bool | None:
        """None: not a parameter; True: keep it here; False: not allowed here."""
        if name not in self.names:
            return None
        return self.field_of(path) in self.fields


def substitute(
    value: Any,
    path: tuple[str | int, ...],
    workflow: str,
    variables: Variables,
    source: SourceMap,
    problems: list[Problem],
    label: Any,
    placeholders: Placeholders | None = None,
) -> Any:
    """``value`` with every ``${{ name }}`` filled in; undefined names become Problems.
    A sweep parameter (``placeholders``) wins over a variable of the same name."""
    if isinstance(value, dict):
        return {
            k: substitute(v, (*path, k), workflow, variables, source, problems, label, placeholders)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            substitute(v, (*path, i), workflow, variables, source, problems, label, placeholders)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "${{" not in value:
        return value

    def fill(match: re.Match[str]) -> str:
        keep = placeholders.keep(match.group(1), path) if placeholders else None
        if keep:
            return "${{" + match.group(1) + "}}"
        if keep is False:
            problems.append(
                Problem(
                    source.locate(path),
                    label(path),
                    f"sweep parameter '{match.group(1)}' cannot be used here",
                    "a parameter can appear as ${{ name }} in args, environment/env and "
                    "working_dir; programs and commands also read it as $HPCRUN_PARAM_"
                    + match.group(1).upper(),
                )
            )
            return match.group(0)
        found, replacement = variables.lookup(workflow, match.group(1))
        if not found:
            problems.append(
                Problem(
                    source.locate(path),
                    label(path),
                    f"undefined variable '{match.group(1)}'",
                    _undefined_hint(variables, workflow, match.group(1)),
                )
            )
            return match.group(0)
        return "" if replacement is None else str(replacement)

    whole = VAR_RE.fullmatch(value.strip())
    if whole and not (placeholders and whole.group(1) in placeholders.names):
        found, replacement = variables.lookup(workflow, whole.group(1))
        if found:
            return replacement
    return VAR_RE.sub(fill, value)

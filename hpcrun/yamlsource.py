"""Read YAML keeping where every value came from, so errors can say FILE:LINE:COL.

Plain scalars are kept as the exact text the user wrote ("3.10" stays "3.10", not the
float 3.1; "2e-5" stays "2e-5"). pydantic then converts text to numbers or booleans only
where a field asks for one. Only ``null``/``~``/empty become None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcrun.errors import Location, Problem, SpecError

Path_ = tuple[str | int, ...]
_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass
class SourceMap:
    """Locations of values (``values``) and of mapping keys (``keys``), by path."""

    file: str
    values: dict[Path_, Location] = field(default_factory=dict)
    keys: dict[Path_, Location] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int], *, prefer_key: bool = False) -> Location | None:
        """The location of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if prefer_key and probe in self.keys:
                return self.keys[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get(())

    def move(self, old: Path_, new: Path_) -> None:
        """Re-key every location under ``old`` to ``new`` (used when an alias is renamed)."""
        for table in (self.values, self.keys):
            for path in [p for p in table if p[: len(old)] == old]:
                table[new + path[len(old) :]] = table.pop(path)


@dataclass
class YamlDocument:
    data: Any
    source: SourceMap
    problems: list[Problem]


def _location(file: str, mark: Any) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def _build(node: Any, path: Path_, source: SourceMap, problems: list[Problem]) -> Any:
    import yaml

    source.values[path] = _location(source.file, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _NULL_TAG and node.style is None:
            return None
        return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), source, problems) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(
                        _location(source.file, key_node.start_mark), "", "keys must be plain names"
                    )
                )
                continue
            key = key_node.value
            if key in result:
                problems.append(
                    Problem(
                        _location(source.file, key_node.start_mark),
                        ".".join(str(p) for p in (*path, key)),
                        f"'{key}' is given twice in this mapping",
                        "keep only one of them",
                    )
                )
            source.keys[(*path, key)] = _location(source.file, key_node.start_mark)
            result[key] = _build(value_node, (*path, key), source, problems)
        return result
    return None  # pragma: no cover - yaml has no other node kinds


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document. Syntax errors raise ``SpecError`` with their position."""
    import yaml

    source = SourceMap(file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = _location(file, mark) if mark else Location(file, 1, 1)
        message = f"invalid YAML: {exc.problem or exc}"
        hint = "check the indentation and that every ':' is followed by a space"
        raise SpecError(
            [Problem(location, "", message, hint)], "the file is not valid YAML"
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(Location(file, 1, 1), "", f"invalid YAML: {exc}")]) from None
    if node is None:
        return YamlDocument(None, source, [])
    problems: list[Problem] = []
    data = _build(node, (), source, problems)
    return YamlDocument(data, source, problems)


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse a YAML file; an unreadable file is a ``SpecError`` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            [Problem(None, "", f"cannot read {path}: {reason}")], f"cannot read {path}"
        ) from None
    return parse_yaml(text, str(path))

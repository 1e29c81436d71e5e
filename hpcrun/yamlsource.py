"""Read YAML keeping where every value came from, so errors can say FILE:LINE:COL.

Plain scalars are kept as the exact text the user wrote ("3.10" stays "3.10", not the
float 3.1; "2e-5" stays "2e-5"). pydantic then converts text to numbers or booleans only
where a field asks for one. Only ``null``/``~``/empty become None.

A workflows file often comes from someone else's repository, so reading one is bounded:
files over ``MAX_YAML_BYTES`` are refused before parsing, anchors and aliases are refused
(an alias "bomb" of 1 KB expands to gigabytes), and nesting deeper than ``MAX_YAML_DEPTH``
is refused while composing, before Python's recursion limit is reached.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcrun.errors import Location, Problem, SpecError

Path_ = tuple[str | int, ...]
_NULL_TAG = "tag:yaml.org,2002:null"

MAX_YAML_BYTES = 1024 * 1024  # the largest real workflows file we know of is a few KB
MAX_YAML_DEPTH = 64  # mappings/lists inside each other; real files nest fewer than 10


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
        if node.tag == _NULL_TAG and not node.style:  # plain: None (PyYAML) or "" (libyaml)
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


def _limit_error(location: Location, message: str, hint: str, summary: str) -> SpecError:
    return SpecError([Problem(location, "", message, hint)], summary)


def _loader_base() -> type:
    """Events from libyaml when present (several times faster, same marks), composed by
    PyYAML's Python composer so that the limits below can be checked node by node."""
    import yaml

    try:
        from yaml._yaml import CParser
    except ImportError:
        return yaml.SafeLoader

    class CEventLoader(yaml.composer.Composer, CParser, yaml.resolver.Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    return CEventLoader


def _bounded_compose(text: str, file: str, base: type) -> Any:
    """``yaml.compose`` that refuses anchors, aliases and deep nesting as it meets them."""
    import yaml

    class BoundedLoader(base):  # type: ignore[misc,valid-type]
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                is_alias = isinstance(event, yaml.AliasEvent)
                kind, sign = ("aliases", "*") if is_alias else ("anchors", "&")
                raise _limit_error(
                    _location(file, event.start_mark),
                    f"YAML {kind} ({sign}{event.anchor}) are not supported",
                    "write the repeated values out in full instead of using '&name'/'*name'",
                    "the file uses YAML anchors or aliases",
                )
            if not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                return super().compose_node(parent, index)
            if self.depth >= MAX_YAML_DEPTH:
                raise _limit_error(
                    _location(file, event.start_mark),
                    f"nesting is deeper than the limit of {MAX_YAML_DEPTH} levels",
                    "flatten the file: a workflows file or site config needs only a few levels",
                    "the file is nested too deeply",
                )
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = BoundedLoader(text)
    try:
        return loader.get_single_node()
    finally:
        getattr(loader, "dispose", lambda: None)()


def _too_large(file: str, size: int, head: bytes | str) -> SpecError:
    # The line where the limit falls, so the message points into the file.
    newline = b"\n" if isinstance(head, bytes) else "\n"
    line = head[:MAX_YAML_BYTES].count(newline) + 1  # type: ignore[arg-type]
    return _limit_error(
        Location(file, line, 1),
        f"the file is larger than the limit of {MAX_YAML_BYTES // 1024 // 1024} MiB "
        f"({size if size else 'more than ' + str(MAX_YAML_BYTES)} bytes); "
        "it reaches the limit on this line",
        "a workflows file, variables file or site config should be a few KB: move data "
        "into separate files that the job reads",
        "the file is too large",
    )


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document. Syntax errors and exceeded limits (size, aliases, depth)
    raise ``SpecError`` with their position."""
    import yaml

    if len(text) > MAX_YAML_BYTES:
        raise _too_large(file, len(text.encode("utf-8", "replace")), text)
    source = SourceMap(file)
    try:
        try:
            node = _bounded_compose(text, file, _loader_base())
        except yaml.MarkedYAMLError:
            # PyYAML's own messages are more specific (they name the bad character);
            # errors are rare, so parse once more to report them its way.
            node = _bounded_compose(text, file, yaml.SafeLoader)
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
    """Read and parse a YAML file; an unreadable file is a ``SpecError`` naming it. At most
    ``MAX_YAML_BYTES`` are read, so a huge file (or /dev/zero) is refused at once."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
            if len(raw) > MAX_YAML_BYTES:
                size = os.fstat(stream.fileno()).st_size
                raise _too_large(str(path), size, raw)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            [Problem(None, "", f"cannot read {path}: {reason}")], f"cannot read {path}"
        ) from None
    return parse_yaml(text, str(path))

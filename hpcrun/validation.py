"""Turn pydantic's ValidationError into located, readable ``Problem``s."""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

from hpcrun.errors import Problem, did_you_mean
from hpcrun.yamlsource import SourceMap

# Extra "did you mean" candidates and hints for keys that real files put in the wrong place.
KeyHint = Callable[[str, Sequence[str | int]], str | None]


def _model_at(model: Any, loc: Sequence[str | int]) -> Any:
    """The pydantic model class that owns the last key of ``loc``, or None."""
    from pydantic import BaseModel

    current = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return None
        annotation = fields[part].annotation
        current = None
        for candidate in (annotation, *typing.get_args(annotation)):
            for inner in (candidate, *typing.get_args(candidate)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
    return current


def _clean_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error.get("type") == "missing":
        return "this field is required"
    if error.get("type") in {"int_parsing", "bool_parsing", "int_from_float", "literal_error"}:
        message += f" (got {error.get('input')!r})"
    return message


def problems_from_validation(
    exc: Any,
    model: Any,
    source: SourceMap,
    base: tuple[str | int, ...],
    label: Callable[[Sequence[str | int]], str],
    key_hint: KeyHint | None = None,
) -> list[Problem]:
    """One Problem per pydantic error, located in the YAML through ``source``.

    ``base`` is the path of the validated mapping inside the document; ``label`` turns a
    path relative to it into the field name shown to the user.
    """
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        hint = None
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            owner = _model_at(model, loc)
            known = sorted(getattr(owner, "model_fields", {}) or {})
            hint = key_hint(key, loc) if key_hint else None
            hint = hint or did_you_mean(key, known)
            if hint is None and known:
                hint = "allowed keys here: " + ", ".join(known)
            message = f"unknown key '{key}'"
            location = source.locate((*base, *loc), prefer_key=True)
            problems.append(Problem(location, label(loc), message, hint))
            continue
        location = source.locate((*base, *loc))
        hint = (error.get("ctx") or {}).get("hint")  # a fix carried by the validator
        problems.append(Problem(location, label(loc), _clean_message(error), hint))
    return problems


def _is_union_tag(part: str | int) -> bool:
    # pydantic puts the union member's type name into loc ("list[str]", "function-plain[...]")
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "bool", "dict"})

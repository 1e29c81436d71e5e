"""Slurm node constraints (``--constraint``) from several sources, combined as Slurm reads
them: a GPU type's own constraint AND the run's (the workflow's, else the site's ``sbatch``
one). Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence

# A plain AND chain (`gpu&hbm80g`): split into features and deduplicated when combined.
# Anything else (`a|b`, `[a|b]`, `a*2`) is kept whole, in parentheses, so `&` binds it as
# one term (Slurm groups features with parentheses: `gpu&(amd|intel)`).
_AND_CHAIN = re.compile(r"[A-Za-z0-9_.+\-:=]+(?:&[A-Za-z0-9_.+\-:=]+)*")
_CONSTRAINT_FLAG = re.compile(r"(?:--constraint|-C)(?:=|\s+)(.*)", re.DOTALL)


def is_constraint_directive(directive: str) -> bool:
    """``--constraint=X``, ``--constraint X``, ``-C X``: a site's ``sbatch`` line that sets
    the constraint."""
    flag = re.split(r"[=\s]", directive.strip(), maxsplit=1)[0]
    return flag in ("--constraint", "-C")


def directive_value(directive: str) -> str | None:
    """The expression of a constraint directive, without the quotes a user may have put
    around it; None if the line has no value."""
    match = _CONSTRAINT_FLAG.fullmatch(directive.strip())
    if match is None:
        return None
    value = match.group(1).strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value or None


def _terms(expression: str) -> list[str]:
    if _AND_CHAIN.fullmatch(expression):
        return expression.split("&")
    return [f"({expression})"]


def combine(parts: Sequence[str | None]) -> str | None:
    """``parts`` joined by ``&`` in order, each feature once: ``["gpu&hbm80g", "gpu"]`` ->
    ``gpu&hbm80g``; ``["gpu", "amd|intel"]`` -> ``gpu&(amd|intel)``. None if all empty."""
    given = [part for part in parts if part]
    if len(given) == 1:
        return given[0]  # alone: exactly as written
    terms: list[str] = []
    for part in given:
        for term in _terms(part):
            if term not in terms:
                terms.append(term)
    return "&".join(terms) or None

"""docs/troubleshooting.md lists every site-related error hpcrun can print: each error built
in hpcrun/site, hpcrun/transport, hpcrun/schedulers and hpcrun/ops (``SomethingError("...")``,
raised or returned) must appear there by its longest literal fragment, unless the
allow-list below says why it is not a site error or cannot reach a user."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from tests.conftest import REPO

PAGE = REPO / "docs" / "troubleshooting.md"
SCANNED = ("hpcrun/site", "hpcrun/transport", "hpcrun/schedulers", "hpcrun/ops")
# Shorter fragments ("{run}: {detail}") say nothing a reader could search the page for.
SHORTEST = 12
LONGEST = 40

# fragment -> why it need not be on the troubleshooting page. Keep it short: a new
# site-related error belongs on the page, not here.
ALLOWED = {
    # Internal: guards on hpcrun's own calls, or parsers of Slurm's output whose error is
    # caught; a user meets them only as a bug (`internal error`, traceback behind --debug).
    "no job ids given": "guard (schedulers/slurm.py)",
    "not a Slurm job id": "guard (schedulers/slurm.py)",
    "no job names given": "guard (schedulers/slurm.py)",
    "not an hpcrun job name": "guard (schedulers/slurm.py)",
    "sbatch printed no job id": "caught: the submission is then in doubt",
    "unexpected sacct line (want": "caught: efficiency is then not shown",
    "no command line from the helper": "the ssh helper's own protocol (rsh_proxy)",
    "is not inside": "path guard (ops/prepare.py)",
    "refusing to replace": "path guard (ops/stage.py)",
    # Not about a site: the command line, the workflows file, runs and sweeps; documented
    # with their commands (running.md, workflows.md, sweeps.md), and the hints say what to do.
    "name the workflow to run": "the command line (running.md#submit)",
    "not a Python file": "the command line (running.md#run-a-file)",
    "is not a Python file, a project folder": "the command line (running.md#run-a-file)",
    "here and a workflow in": "the command line (running.md#submit)",
    "does not exist": "the command line (running.md#run-a-file)",
    "is not a folder": "--input (running.md)",
    "is a parameter sweep: it runs as a job": "a sweep given to submit (sweeps.md)",
    "must be a path inside the project": "a workflow's paths (workflows.md)",
    "and no completed run of it at site": "a workflow's deps (workflows.md)",
    "dependency cycle": "a workflow's deps (workflows.md)",
    "no run named": "a run name (running.md)",
    "so there is nothing to cancel yet": "a run being submitted (running.md#cancel)",
    "was recorded by an older hpcrun, without": "rerun (running.md#rerun)",
    "does not record what was submitted": "rerun (running.md#rerun)",
    "was submitted from, is gone": "rerun (running.md#rerun)",
    "no sweep of workflow": "a sweep name (sweeps.md)",
    "has no points": "a sweep spec (sweeps.md)",
}


@dataclass(frozen=True)
class Raised:
    where: str  # path:line
    error: str  # the class name
    fragment: str  # the longest literal part of the message


def _literal_parts(node: ast.expr) -> list[str] | None:
    """The literal pieces of a message: a string, an f-string, or ``+`` of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.Constant)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_parts(node.left), _literal_parts(node.right)
        if left is None and right is None:
            return None
        return (left or []) + (right or [])
    return None


def _clean(text: str) -> str:
    """Words only: backticks (code spans on the page), the escaped `|` of a table and
    line breaks differ between the code and the page."""
    text = text.replace("\\|", "|").replace("`", "")
    return re.sub(r"\s+", " ", text)


def _fragment(parts: list[str]) -> str:
    """The longest literal part, cut to its first words (at most LONGEST characters): a
    row may shorten the rest of a long message with "..."."""
    # f"'{value}' is not ..." leaves "' is not ...": strip what a placeholder leaves around
    longest = max((_clean(p).strip(" '\"():,;.") for p in parts), key=len)
    kept = ""
    for word in longest.split(" "):
        if kept and len(kept) + 1 + len(word) > LONGEST:
            break
        kept = f"{kept} {word}" if kept else word
    return kept.rstrip(" '\"():,;.")


def errors_built() -> list[Raised]:
    """Every ``XxxError(<message>, ...)`` call in the scanned packages whose message has
    a literal part (a message built elsewhere, or only from variables, is skipped)."""
    found = []
    for root in SCANNED:
        for path in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if not name.endswith("Error"):
                    continue
                parts = _literal_parts(node.args[0])
                if not parts:
                    continue
                fragment = _fragment(parts)
                if len(fragment) >= SHORTEST:
                    where = f"{path.relative_to(REPO)}:{node.lineno}"
                    found.append(Raised(where, name, fragment))
    return found


def test_the_scan_sees_the_errors_it_is_meant_to() -> None:
    fragments = {raised.fragment for raised in errors_built()}
    assert "is not a valid Slurm constraint (feature" in fragments  # a validator's ValueError
    assert "cannot learn the home folder on" in fragments  # transport, f-string
    assert "Slurm leaves such a job pending with" in fragments  # f-string + string
    assert "Someone may be intercepting the" in fragments  # built by a helper, returned
    assert len(fragments) > 50


def test_every_site_error_is_on_the_troubleshooting_page() -> None:
    page = _clean(PAGE.read_text(encoding="utf-8"))
    missing = [
        f"{r.where} {r.error}: {r.fragment!r}"
        for r in errors_built()
        if r.fragment not in page and r.fragment not in ALLOWED
    ]
    assert missing == [], "add these to docs/troubleshooting.md:\n" + "\n".join(missing)


def test_the_allow_list_names_only_errors_that_exist() -> None:
    # a message reworded or removed leaves a stale entry that would hide its successor
    built = {raised.fragment for raised in errors_built()}
    assert sorted(set(ALLOWED) - built) == []

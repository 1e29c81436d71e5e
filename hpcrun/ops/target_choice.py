"""What the positional arguments of ``submit`` name: a workflow, or a target on disk (a
Python file, a project folder or a zip). Never a guess: a word that is both is refused
with the two ways to say which one is meant."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from hpcrun.errors import HpcrunError, UsageError

# What a word names on disk: a runnable target, another file, or nothing.
Kind = Literal["file", "folder", "zip", "other", "missing"]
_LABEL = {"file": "Python file", "folder": "folder", "zip": "zip file"}


@dataclass(frozen=True)
class Choice:
    path: Path | None  # a workflows file, or the target on disk
    workflow: str | None  # None: ``path`` is the target


def kind_of(path: Path) -> Kind:
    if path.is_dir():
        return "folder"
    if path.is_file():
        suffix = path.suffix.lower()
        return "file" if suffix == ".py" else "zip" if suffix == ".zip" else "other"
    return "missing"


def is_explicit_path(word: str) -> bool:
    """A word no workflow can be named (names have no '/'): ``./proj``, ``.``, ``a/b.py``."""
    return "/" in word or word in (".", "..")


def decide(
    word: str,
    kind: Kind,
    workflows_file: str | None,
    workflow_names: Collection[str] | None,
    *,
    file_only: bool = False,
) -> Choice:
    """The meaning of one positional word. Pure: the caller looks at the disk.

    ``workflow_names`` is None when there is no workflows file (or it cannot be read)."""
    if file_only:  # `hpcrun run python FILE`: only ever a file
        if kind in ("file", "other"):
            return Choice(Path(word), None)
        if kind == "missing":
            raise UsageError(f"{word} does not exist", "pass the path of a Python file to run")
        raise UsageError(
            f"{word} is a {_LABEL[kind]}, not a Python file",
            f"run a project folder or zip with: hpcrun submit {word}",
        )
    named = workflow_names is not None and word in workflow_names and not is_explicit_path(word)
    if kind in _LABEL:
        if named:
            label = _LABEL[kind]
            raise UsageError(
                f"'{word}' is both a {label} here and a workflow in {workflows_file}",
                f"for the {label}: hpcrun submit ./{word}; for the workflow: "
                f"hpcrun submit {workflows_file} {word}",
            )
        return Choice(Path(word), None)
    if named:
        return Choice(None, word)
    if kind == "other":
        raise UsageError(
            f"{word} is not a Python file, a project folder or a zip"
            + (f", nor a workflow in {workflows_file}" if workflows_file else ""),
            f"to run a workflow of it: hpcrun submit {word} WORKFLOW",
        )
    if is_explicit_path(word) or word.lower().endswith((".py", ".zip")):
        raise UsageError(
            f"{word} does not exist"
            + (f", and is not a workflow in {workflows_file}" if workflows_file else ""),
            "pass a Python file, a project folder or zip, or a workflow name",
        )
    return Choice(None, word)  # loading the workflows file says what is missing


def default_workflows_file() -> Path | None:
    """``.dstack/workflows.yaml``, else ``workflows.yaml`` (relative: it is shown in errors)."""
    from hpcrun.spec.load import DEFAULT_FILES

    return next((p for p in DEFAULT_FILES if p.is_file()), None)


def _names_in(file: Path | None) -> list[str] | None:
    if file is None:
        return None
    from hpcrun.spec.load import load_workflows

    try:
        return load_workflows(file).names
    except HpcrunError:
        return None  # unreadable: it names nothing; running a workflow of it says why


def choose_target(arguments: Sequence[str], *, file_only: bool = False) -> Choice:
    """``[FILE] WORKFLOW``, or one word: a workflow of the default workflows file, or a
    Python file, project folder or zip (looked at from the current folder)."""
    if len(arguments) == 2 and not file_only:
        return Choice(Path(arguments[0]), arguments[1])
    if len(arguments) != 1:
        raise UsageError(
            "expected a Python file" if file_only else
            "expected [FILE] WORKFLOW, or a Python file, project folder or zip",
            "e.g. hpcrun run python train.py --epochs 3" if file_only else
            "e.g. hpcrun submit workflows.yaml train, hpcrun submit train.py, or "
            "hpcrun submit ./my-project/",
        )  # fmt: skip
    word = arguments[0]
    path = Path(word)
    kind = kind_of(path)
    workflows_file = None if file_only else default_workflows_file()
    names = None if file_only or is_explicit_path(word) else _names_in(workflows_file)
    choice = decide(word, kind, str(workflows_file) if workflows_file else None, names,
                    file_only=file_only)  # fmt: skip
    if choice.workflow is None and kind == "folder":
        from hpcrun.spec.load import DEFAULT_FILES

        inner = [path / p for p in DEFAULT_FILES if (path / p).is_file()]
        if inner:
            raise UsageError(
                f"{path} holds {inner[0].relative_to(path)}: name the workflow to run",
                f"hpcrun submit {inner[0]} WORKFLOW",
            )
    return choice

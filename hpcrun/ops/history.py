"""What a run records so it can be shown and run again: its overrides and variables as
JSON, the code's content hash, and the project's git commit and dirty flag.

The content hash reads every uploaded file: sha256 over each path, size and contents. On a
200-file tree (~2 MB) that costs a few milliseconds once the files are in the page cache
(they are: the upload reads them too), so identity is exact rather than size+mtime guessed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from hpcrun.spec.overrides import Overrides

GIT_TIMEOUT_S = 3.0
_CHUNK = 1 << 20


def overrides_json(overrides: Overrides) -> str:
    """Only the overrides that were given (defaults left out), as a JSON object."""
    given = {k: v for k, v in asdict(overrides).items() if v not in (None, ())}
    return json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in given.items()})


def overrides_from_json(text: str | None) -> Overrides:
    data: dict[str, Any] = json.loads(text) if text else {}
    known = {f.name for f in fields(Overrides)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
    return Overrides(**values)


def merge_overrides(recorded: Overrides, given: Overrides) -> Overrides:
    """``given`` wins field by field where it says something (rerun's command-line flags)."""
    values = asdict(recorded)
    for name, value in asdict(given).items():
        if value not in (None, ()):
            values[name] = tuple(value) if isinstance(value, list) else value
    return Overrides(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def variables_json(variables: Mapping[str, str]) -> str:
    return json.dumps(dict(variables))


def code_hash(root: Path, files: list[str]) -> str:
    """sha256 over the sorted uploaded files: path, size and contents of each."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        path = root / relative
        try:
            size = path.stat().st_size
            digest.update(f"{relative}\0{size}\0".encode())
            with open(path, "rb") as stream:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
        except OSError:
            digest.update(f"{relative}\0unreadable\0".encode())
    return "sha256:" + digest.hexdigest()


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git work tree at ``root``; ``(None, None)`` when it is
    not one, git is missing, or git is too slow to answer."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
        if head.returncode != 0:
            return None, None
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return head.stdout.strip() or None, dirty

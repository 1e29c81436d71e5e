"""Shell snippets of the documentation, as the tests run them: the fenced ```bash blocks
between two HTML-comment markers of a page, and an `hpcrun` command on PATH that runs this
checkout's hpcrun with the test's interpreter."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

FENCED_BASH = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def marked_bash_blocks(page: Path, marker: str) -> list[str]:
    """The ```bash blocks between ``<!-- MARKER:start -->`` and ``<!-- MARKER:end -->``."""
    text = page.read_text(encoding="utf-8")
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    assert text.count(start) == 1 and text.count(end) == 1, f"{page}: markers {marker} missing"
    part = text.split(start, 1)[1].split(end, 1)[0]
    return FENCED_BASH.findall(part)


def hpcrun_on_path(folder: Path) -> dict[str, str]:
    """An environment whose PATH starts with ``folder``, holding an ``hpcrun`` script that
    runs ``python -m hpcrun`` with this interpreter (the docs say ``hpcrun ...``)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "hpcrun"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hpcrun "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    env = os.environ.copy()
    env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"
    return env

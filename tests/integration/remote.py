"""Helpers for tests that drive the hpcrun CLI against the real test cluster."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from tests.cli import ps_json
from tests.conftest import write


def run_of(name: str) -> dict[str, Any]:
    return next(r for r in ps_json() if r["run"] == name)


def site_variant(base: Path, folder: Path, **changes: Any) -> str:
    """A copy of the test site config with some keys replaced (nested dicts merged)."""
    data = yaml.safe_load(base.read_text())
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return str(
        write(folder / f"site-{len(list(folder.glob('site-*')))}.yaml", yaml.safe_dump(data))
    )


def workflows(folder: Path, text: str, **files: str) -> Path:
    """A project: workflows.yaml plus the given files (name -> content)."""
    for name, content in files.items():
        write(folder / name, content)
    return write(folder / "workflows.yaml", text)


def wait_state(run: str, states: set[str], timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        record = run_of(run)
        if record["state"] in states:
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"{run} still {record['state']} after {timeout}s")
        time.sleep(1)

"""The public Python API's pure parts: lazy import, argument checks (no run is submitted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hpcrun
from hpcrun.errors import HpcrunError, UsageError


def test_import_hpcrun_stays_light() -> None:
    code = (
        "import sys, hpcrun\n"
        "assert callable(hpcrun.__getattr__)\n"
        "heavy = [m for m in ('paramiko', 'jinja2', 'pydantic', 'yaml', 'rich', 'click',\n"
        "         'sqlite3', 'hpcrun.api') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout


def test_public_names() -> None:
    assert hpcrun.HpcrunError is HpcrunError
    assert {"submit", "runs", "Run", "HpcrunError"} <= set(hpcrun.__all__)
    with pytest.raises(AttributeError):
        hpcrun.no_such_name  # noqa: B018


def test_unknown_keyword_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError) as caught:
        hpcrun.submit("train", gpus=2)
    assert "'gpus'" in caught.value.message
    assert caught.value.hint == "did you mean 'gpu'?"
    assert caught.value.exit_code == 2


def test_unknown_state_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown run state 'finished'"):
        hpcrun.runs(state="finished")


def test_unknown_run_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no run named 'nope-0000'"):
        hpcrun.Run("nope-0000")

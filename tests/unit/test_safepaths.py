"""Names and paths from a workflows file stay in their place (issue 8, defect 1): the name
rule, relative paths, and joins that refuse to leave their folder. Property-based on the
pure validators; the CLI end of it is in tests/local/test_hostile_names.py."""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hpcrun.errors import UsageError
from hpcrun.safepaths import (
    NAME_RULE,
    UnsafePathError,
    check_name,
    join_local,
    join_remote,
    name_problem,
    relative_problem,
)
from hpcrun.spec.models import BashWorkflow, DepRef

HOSTILE = [
    "", " ", ".", "..", "../x", "../../../../victim", "/abs", "/", "a/b", "a\x00b", "a\n",
    "x\n", "\nx", "-rf", ".hidden", "a b", "a;b", "$(id)", "`id`", "a" * 65,
    "a\uff0fb",  # fullwidth solidus
    "\u2024\u2024",  # one-dot leader twice (looks like "..")
    "\u2215etc",  # division slash
    "tr\u0430in",  # Cyrillic a
    "~", "~root", "a:b", "*", "a\tb", "a\rb",
]  # fmt: skip
# Every name the real dstack files use (tests/data/dstack-workflows and the shared corpus).
REAL_NAMES = [
    "train", "download-minst", "train-mnist", "download-model", "gpu-v100", "mem-64gb",
    "shm-size", "gpu-i", "local-hello", "unzip", "prepare", "app", "hello", "download-data",
    "preprocess-data", "train-catboost", "raw_data", "setup-train", "setup-conda",
    "test-conda", "tune", "download-gluemrpc", "finetune-gluemrpc", "latest", "v1",
    "v0.0.2", "downsampling", "a" * 64,
]  # fmt: skip
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_are_allowed(name: str) -> None:
    assert name_problem(name) is None
    assert check_name(name) == name


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_with_the_rule(name: str) -> None:
    problem = name_problem(name, "workflow name")
    assert problem is not None and NAME_RULE in problem
    with pytest.raises(UsageError) as caught:
        check_name(name, "tag")
    assert caught.value.hint and caught.value.exit_code == 2


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_a_valid_name_is_always_one_plain_path_component(name: str) -> None:
    if name_problem(name) is None:
        assert NAME_RE.fullmatch(name)
        assert PurePosixPath(name).parts == (name,)
        assert name not in (".", "..") and "\n" not in name and name.isascii()
    else:
        assert not NAME_RE.fullmatch(name)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "..", ".", "", "/", "b c", "\n", "\x00", "~"]), max_size=6))
def test_remote_joins_never_leave_their_base(parts: list[str]) -> None:
    value = "/".join(parts)
    base = "/home/u/hpcrun/runs/r-1"
    try:
        joined = join_remote(base, "code", value)
    except UnsafePathError:
        assert relative_problem(value) is not None
        return
    assert joined == base + "/code" or joined.startswith(base + "/code/")
    assert ".." not in PurePosixPath(joined).parts


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([*HOSTILE, "ok", "a/b", "./a"]))
def test_local_joins_never_leave_their_base(
    tmp_path_factory: pytest.TempPathFactory, value: str
) -> None:
    base = tmp_path_factory.mktemp("base")
    try:
        joined = join_local(base, value)
    except UnsafePathError:
        return
    assert joined == base.resolve() or base.resolve() in joined.parents


def test_local_join_refuses_a_symlink_out(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "base").mkdir()
    os.symlink(tmp_path / "outside", tmp_path / "base" / "link")
    with pytest.raises(UnsafePathError, match="leads outside"):
        join_local(tmp_path / "base", "link/x")
    assert join_local(tmp_path / "base", "inner/x") == (tmp_path / "base" / "inner" / "x")


def workflow(**fields: object) -> BashWorkflow:
    return BashWorkflow.model_validate(
        {"name": "w", "provider": "bash", "commands": ["true"], **fields}
    )


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.sampled_from(HOSTILE + REAL_NAMES), st.text(max_size=70)))
def test_spec_names_deps_and_tags_follow_the_rule(name: str) -> None:
    expected_ok = name.strip() != "" and name_problem(name.strip()) is None
    try:
        assert workflow(name=name).name == name.strip()
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == expected_ok
    if ":" in name:
        return  # a dep's own syntax (workflow:tag)
    for dep in (name, f"{name}:v1", f":{name}"):
        text = dep.strip()
        try:
            parsed = workflow(deps=[dep]).deps[0]
        except ValidationError:
            continue
        for part in (parsed.workflow, parsed.tag):
            assert part is None or name_problem(part) is None, text


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40)))
def test_artifacts_and_working_dir_stay_relative(path: str) -> None:
    for fields in ({"artifacts": [path]}, {"working_dir": path}):
        try:
            loaded = workflow(**fields)
        except ValidationError:
            continue
        value = loaded.artifacts[0].path if "artifacts" in fields else loaded.working_dir
        pure = PurePosixPath(value)
        assert not pure.is_absolute() and ".." not in pure.parts
        assert "\x00" not in value and "\n" not in value and "\r" not in value


def test_the_error_states_the_rule_and_a_fix() -> None:
    with pytest.raises(ValidationError) as caught:
        DepRef.model_validate({"workflow": "../../../../victim"})
    [error] = caught.value.errors()
    assert NAME_RULE in error["msg"] and error["ctx"]["hint"] == "rename it, e.g. 'victim'"

"""join_local's real path below an already-real root (one lstat per component, the whole
realpath walk as soon as a symlink shows up): the same answer as os.path.realpath, and a
symlink out of the folder is refused wherever it sits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hpcrun.ops.prepare import Target, check_exists, real_root
from hpcrun.safepaths import UnsafePathError, join_local


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "train.py").write_text("print(1)\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.py").write_text("x\n")
    os.symlink("src/pkg", root / "inner")  # stays inside
    os.symlink("../../outside", root / "src" / "out")  # leads out
    os.symlink("../../../outside/secret.py", root / "src" / "pkg" / "leak.py")
    return root


@pytest.mark.parametrize(
    "relative",
    ["src/pkg/train.py", "inner/train.py", "./src//pkg/./train.py", "src/missing/x.py",
     "src/pkg/train.py/below", "src"],
)  # fmt: skip
def test_the_same_real_path_as_realpath(tree: Path, relative: str) -> None:
    root = Path(os.path.realpath(tree))
    joined = join_local(root, relative, base_resolved=True)
    assert str(joined) == os.path.realpath(os.path.join(root, relative))


@pytest.mark.parametrize("relative", ["src/out/secret.py", "src/out", "src/pkg/leak.py"])
def test_a_symlink_out_of_the_folder_is_refused(tree: Path, relative: str) -> None:
    with pytest.raises(UnsafePathError, match="leads outside"):
        join_local(Path(os.path.realpath(tree)), relative, base_resolved=True)
    with pytest.raises(UnsafePathError, match="leads outside"):
        join_local(tree, relative)  # the root resolved here


def test_a_root_reached_through_a_symlink_is_resolved(tree: Path, tmp_path: Path) -> None:
    os.symlink(tree, tmp_path / "link")
    joined = join_local(tmp_path / "link", "inner/train.py")
    assert joined == Path(os.path.realpath(tree)) / "src" / "pkg" / "train.py"


def test_check_exists_refuses_a_program_that_leads_out(tree: Path) -> None:
    class Workflow:
        name, file, requirements, working_dir = "w", "src/pkg/leak.py", None, None

    target = Target(Workflow(), tree)
    root = real_root(tree)
    with pytest.raises(UnsafePathError, match="leads outside"):
        check_exists(target, "file", root, root)
    Workflow.file = "inner/train.py"
    assert check_exists(target, "file", root, root) is None  # exists, inside: accepted

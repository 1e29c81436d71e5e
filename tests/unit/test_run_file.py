"""Running a bare Python file: which words are the program's, what a positional word means,
where the project root is, and the site's default Python."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hpcrun.bare_file import load_bare_file, project_root_for, workflow_name_for
from hpcrun.cli.program_args import option_table, split_program_args
from hpcrun.errors import UsageError
from hpcrun.ops.target_choice import Choice, decide
from hpcrun.safepaths import UnsafePathError, name_problem
from hpcrun.site.models import Site
from tests.conftest import write

# A slice of submit's options: value-taking and flags, long and short.
OPTIONS = {"-r": True, "--requirements": True, "--gpu": True, "--site": True,
           "-d": False, "--detach": False, "-e": True, "--env": True, "--help": False}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "ours", "program"),
    [
        # everything after the file that hpcrun does not know is the program's
        (["train.py", "--epochs", "3"], ["train.py"], ["--epochs", "3"]),
        (["train.py", "data.csv", "-v"], ["train.py"], ["data.csv", "-v"]),
        # hpcrun's own options stay hpcrun's, before or after the file
        (
            ["-d", "train.py", "--epochs", "3", "--gpu", "2"],
            ["-d", "train.py", "--gpu", "2"],
            ["--epochs", "3"],
        ),
        (
            ["train.py", "-r", "reqs.txt", "--", "--x", "1"],
            ["train.py", "-r", "reqs.txt"],
            ["--x", "1"],
        ),
        (["train.py", "--site=cluster", "--lr=0.1"], ["train.py", "--site=cluster"], ["--lr=0.1"]),
        # after --, even hpcrun's option names are the program's
        (["train.py", "--", "-e", "x", "--gpu", "1"], ["train.py"], ["-e", "x", "--gpu", "1"]),
        (
            ["train.py", "--epochs", "3", "--", "--gpu", "1"],
            ["train.py"],
            ["--epochs", "3", "--gpu", "1"],
        ),
        # bundled short flags are not taken apart: the program gets them
        (["train.py", "-di"], ["train.py"], ["-di"]),
        # an option value that ends in .py is not the file
        (["-r", "x.py", "train.py", "--n", "1"], ["-r", "x.py", "train.py"], ["--n", "1"]),
        # no file: nothing is the program's but what follows --
        (
            ["workflows.yaml", "train", "--gpu", "1"],
            ["workflows.yaml", "train", "--gpu", "1"],
            None,
        ),
        (["train", "--", "a"], ["train"], ["a"]),
        (["workflows.yaml", "x.py", "--n"], ["workflows.yaml", "x.py", "--n"], None),
        (["train.py"], ["train.py"], None),
    ],
)
def test_split_program_args(args: list[str], ours: list[str], program: list[str] | None) -> None:
    assert split_program_args(args, OPTIONS) == (ours, program)


def test_split_run_python_takes_any_file_name() -> None:
    assert split_program_args(["script", "--n", "1"], OPTIONS, file_only=True) == (
        ["script"],
        ["--n", "1"],
    )
    assert split_program_args(["script", "--n"], OPTIONS) == (["script", "--n"], None)


def test_option_table_reads_the_submit_command() -> None:
    from hpcrun.cli.run import python
    from hpcrun.cli.submit import submit

    table = option_table(submit.params)
    assert table["-r"] is True and table["--requirements"] is True
    assert table["-d"] is False and table["--gpu-name"] is True
    # run python shares submit's option list, not a copy of it
    assert option_table(python.params) == table


NAMES = ["train", "proj", "train.py"]


@pytest.mark.parametrize(
    ("word", "kind", "expected"),
    [
        ("train.py", "missing", Choice(None, "train.py")),  # only a workflow
        ("proj", "folder", None),  # both: refused
        ("data", "folder", Choice(Path("data"), None)),  # a folder, not a workflow name
        ("./proj", "folder", Choice(Path("./proj"), None)),  # explicit path
        ("run.py", "file", Choice(Path("run.py"), None)),
        ("b.zip", "zip", Choice(Path("b.zip"), None)),
        ("train", "missing", Choice(None, "train")),
        ("trian", "missing", Choice(None, "trian")),  # the workflows file says "did you mean"
    ],
)
def test_decide_with_a_workflows_file(word: str, kind: str, expected: Choice | None) -> None:
    if expected is None:
        with pytest.raises(UsageError) as caught:
            decide(word, kind, "workflows.yaml", NAMES)  # type: ignore[arg-type]
        assert "both a folder here and a workflow in workflows.yaml" in caught.value.message
        assert "hpcrun submit ./proj" in str(caught.value.hint)
        assert "hpcrun submit workflows.yaml proj" in str(caught.value.hint)
    else:
        assert decide(word, kind, "workflows.yaml", NAMES) == expected  # type: ignore[arg-type]


def test_decide_both_file_and_workflow_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        decide("train.py", "file", ".dstack/workflows.yaml", NAMES)
    assert "both a Python file here and a workflow" in caught.value.message


@pytest.mark.parametrize(
    ("word", "kind", "message"),
    [
        ("gone.py", "missing", "gone.py does not exist"),
        ("./gone", "missing", "./gone does not exist"),
        ("notes.txt", "other", "not a Python file, a project folder or a zip"),
    ],
)
def test_decide_refuses_what_names_nothing(word: str, kind: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        decide(word, kind, None, None)  # type: ignore[arg-type]
    assert message in caught.value.message


def test_decide_without_workflows_file() -> None:
    assert decide("proj", "folder", None, None) == Choice(Path("proj"), None)
    assert decide("train", "missing", None, None) == Choice(None, "train")


def test_decide_run_python_only_takes_files() -> None:
    assert decide("train", "other", "w.yaml", ["train"], file_only=True) == Choice(
        Path("train"), None
    )
    with pytest.raises(UsageError, match="is a folder, not a Python file"):
        decide("proj", "folder", None, None, file_only=True)
    with pytest.raises(UsageError, match="does not exist"):
        decide("train", "missing", "w.yaml", ["train"], file_only=True)


@pytest.mark.parametrize(
    ("stem", "name"),
    [("train", "train"), ("my train!", "my-train"), ("__main__", "main"), ("_", "main"),
     ("x" * 100, "x" * 64), ("é", "main")],
)  # fmt: skip
def test_workflow_name_follows_the_name_rule(stem: str, name: str) -> None:
    assert workflow_name_for(Path(f"{stem}.py")) == name
    assert name_problem(name) is None


def test_project_root_is_cwd_or_the_nearest_marked_folder(tmp_path: Path) -> None:
    sub = tmp_path / "repo" / "src"
    write(sub / "train.py", "")
    write(tmp_path / "elsewhere" / "x.py", "")
    assert project_root_for(Path("train.py"), sub) == sub  # no marker: the current folder
    (tmp_path / "repo" / ".git").mkdir()
    assert project_root_for(Path("train.py"), sub) == tmp_path / "repo"
    # the marked folder does not hold the file: the current folder
    assert project_root_for(Path("../../elsewhere/x.py"), sub) == sub
    (sub / ".dstack").mkdir()  # the nearest marker wins
    assert project_root_for(Path("train.py"), sub) == sub


def test_bare_file_paths_are_relative_to_the_working_folder(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dstack").mkdir(parents=True)
    write(root / "src" / "train.py", "")
    write(root / "src" / "requirements.txt", "six\n")
    write(root / "other.txt", "six\n")
    bare = load_bare_file(Path("train.py"), root / "src")
    assert bare.root == root
    assert bare.data == {"name": "train", "provider": "python", "file": "src/train.py",
                         "requirements": "src/requirements.txt"}  # fmt: skip
    bare = load_bare_file(Path("train.py"), root / "src", working_dir="src")
    assert bare.data["file"] == "train.py" and bare.data["working_dir"] == "src"
    assert bare.data["requirements"] == "requirements.txt"  # beside the file
    with pytest.raises(UnsafePathError, match="outside"):  # -r must be in the working folder
        load_bare_file(Path("train.py"), root / "src", requirements="../other.txt",
                       working_dir="src")  # fmt: skip
    bare = load_bare_file(Path("src/train.py"), root, requirements="other.txt")
    assert bare.data["requirements"] == "other.txt"
    assert set(bare.consumed) == {"requirements", "working_dir"}


def test_bare_file_outside_the_project_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "outside.py", "")
    (tmp_path / "here").mkdir()
    with pytest.raises(UnsafePathError, match="outside"):
        load_bare_file(Path("../outside.py"), tmp_path / "here")
    (tmp_path / "here" / "link.py").symlink_to(tmp_path / "outside.py")
    with pytest.raises(UnsafePathError):
        load_bare_file(Path("link.py"), tmp_path / "here")
    with pytest.raises(UsageError, match="does not exist"):
        load_bare_file(Path("missing.py"), tmp_path / "here")


def site(**defaults: object) -> Site:
    return Site.model_validate({"name": "s", "scheduler": "slurm", "defaults": defaults})


def test_site_default_python() -> None:
    assert site().default_python() == "3.10"  # dstack's default
    assert site(python="3.11").default_python() == "3.11"
    assert site(python=3.12).default_python() == "3.12"
    local = Site.model_validate({"name": "local", "scheduler": "local"})
    assert local.default_python() == f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.parametrize("value", [3.10, "three", "3", True, "3.11; rm"])
def test_site_default_python_is_checked(value: object) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="python"):
        site(python=value)


@pytest.mark.parametrize(
    ("folder", "name"),
    [("_proj", "proj"), ("my proj", "my-proj"), ("a.b", "a.b"), ("__", "project")],
)
def test_project_folder_names_follow_the_name_rule(tmp_path: Path, folder: str, name: str) -> None:
    from hpcrun.project import load_project

    write(tmp_path / folder / "main.py", "")
    assert load_project(tmp_path / folder).name == name

"""What an upload sends and says: virtualenvs and conda environments left out (or named when
un-ignored), large files named, rsync's progress lines read; and how `show` words whether a
run's artifacts were fetched."""

from __future__ import annotations

from pathlib import Path

from hpcrun.cli.show import describe
from hpcrun.ignore import LARGE_FILE_BYTES, project_files, scan_project
from hpcrun.ops.upload_feedback import upload_warning
from hpcrun.transport.rsync import parse_progress, rsync_argv
from tests.conftest import write


def sparse(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)


def test_virtualenvs_git_and_caches_are_left_out(tmp_path: Path) -> None:
    write(tmp_path / "main.py", "")
    write(tmp_path / ".venv" / "pyvenv.cfg", "")
    write(tmp_path / ".venv" / "bin" / "python", "")
    write(tmp_path / "sub" / "myenv" / "pyvenv.cfg", "")
    write(tmp_path / "sub" / "keep.py", "")
    write(tmp_path / ".git" / "HEAD", "")
    write(tmp_path / "pkg" / "__pycache__" / "m.pyc", "")
    write(tmp_path / "pyvenv.cfg", "")  # a file of that name elsewhere: an ordinary file
    scan = scan_project(tmp_path)
    assert scan.files == ["main.py", "pyvenv.cfg", "sub/keep.py"]
    assert scan.virtualenvs == [".venv", "sub/myenv"]
    assert project_files(tmp_path) == scan.files


def test_a_negation_uploads_a_virtualenv_and_ignores_still_apply(tmp_path: Path) -> None:
    write(tmp_path / "vendored" / "pyvenv.cfg", "")
    write(tmp_path / "vendored" / "lib.py", "")
    write(tmp_path / ".venv" / "pyvenv.cfg", "")
    write(tmp_path / ".hpcrunignore", "!vendored/\n")
    assert scan_project(tmp_path).files == [".hpcrunignore", "vendored/lib.py",
                                            "vendored/pyvenv.cfg"]  # fmt: skip
    write(tmp_path / ".hpcrunignore", "vendored/\n")
    assert scan_project(tmp_path).virtualenvs == [".venv"]  # ignored anyway: not a venv skip


def test_conda_environments_are_left_out_like_virtualenvs(tmp_path: Path) -> None:
    write(tmp_path / "main.py", "")
    write(tmp_path / "condaenv" / "conda-meta" / "history", "")
    write(tmp_path / "condaenv" / "lib" / "site.py", "")
    write(tmp_path / "notes" / "conda-meta", "")  # a file of that name: not an environment
    scan = scan_project(tmp_path)
    assert scan.files == ["main.py", "notes/conda-meta"]
    assert scan.virtualenvs == ["condaenv"] and scan.environments == []
    assert upload_warning(scan, tmp_path) is None  # left out: nothing to warn about


def test_an_uploaded_environment_is_named_with_its_rule(tmp_path: Path) -> None:
    write(tmp_path / ".venv" / "pyvenv.cfg", "home = /usr/bin\n")
    sparse(tmp_path / ".venv" / "lib" / "big.so", 3 * 1024 * 1024)
    write(tmp_path / "tools" / "conda" / "conda-meta" / "history", "x")
    write(tmp_path / "tools" / ".gitignore", "!conda/\n")
    write(tmp_path / ".hpcrunignore", "!.venv/\n")
    scan = scan_project(tmp_path)
    assert [(e.path, e.rule_file) for e in scan.environments] == [
        (".venv", ".hpcrunignore"), ("tools/conda", "tools/.gitignore")
    ]  # fmt: skip
    assert scan.environments[0].bytes == 3 * 1024 * 1024 + len("home = /usr/bin\n")
    assert upload_warning(scan, tmp_path) == (
        f"uploading Python environments un-ignored by a `!` rule: .venv/ (3.0 MiB, "
        f"un-ignored in {tmp_path / '.hpcrunignore'}), tools/conda/ (1 B, un-ignored in "
        f"{tmp_path / 'tools' / '.gitignore'}); the job builds its own environment from "
        "`requirements`: if it does not need them, drop the rule"
    )
    sparse(tmp_path / "data.bin", LARGE_FILE_BYTES)
    warning = upload_warning(scan_project(tmp_path), tmp_path)
    assert warning is not None and "\n" not in warning  # one line for both
    assert ", and large files that are not ignored: data.bin (50.0 MiB);" in warning
    assert warning.endswith(f"drop the rule; if the job does not need them, list them in "
                            f"{tmp_path / '.hpcrunignore'} (gitignore syntax)")  # fmt: skip


def test_large_files_are_counted_and_named(tmp_path: Path) -> None:
    sparse(tmp_path / "data" / "big.bin", LARGE_FILE_BYTES)
    sparse(tmp_path / "small.bin", LARGE_FILE_BYTES - 1)
    sparse(tmp_path / "ignored.bin", 2 * LARGE_FILE_BYTES)
    write(tmp_path / ".gitignore", "ignored.bin\n")
    scan = scan_project(tmp_path)
    assert scan.large == [("data/big.bin", LARGE_FILE_BYTES)]
    assert scan.total_bytes == 2 * LARGE_FILE_BYTES - 1 + len("ignored.bin\n")
    assert upload_warning(scan, tmp_path) == (
        "uploading large files that are not ignored: data/big.bin (50.0 MiB); if the job "
        f"does not need them, list them in {tmp_path / '.hpcrunignore'} (gitignore syntax)"
    )


def test_many_large_files_fit_on_one_line(tmp_path: Path) -> None:
    for index in range(8):
        sparse(tmp_path / f"f{index}.bin", LARGE_FILE_BYTES + index)
    warning = upload_warning(scan_project(tmp_path), tmp_path)
    assert warning is not None and "\n" not in warning
    assert "f0.bin (50.0 MiB), f1.bin" in warning and "f4.bin" in warning
    assert "f5.bin" not in warning and "and 3 more" in warning
    write(tmp_path / ".hpcrunignore", "*.bin\n")
    assert upload_warning(scan_project(tmp_path), tmp_path) is None


def test_rsync_progress_lines() -> None:
    # as rsync 3.2 prints them with LC_ALL=C (lines end in \r)
    assert parse_progress("         32,768   0%    0.00kB/s    0:00:00  ") == 32768
    line = "     30,000,000  85%  893.09MB/s    0:00:00 (xfr#1, to-chk=1/2)"
    assert parse_progress(line) == 30_000_000
    assert parse_progress("Number of files: 2 (reg: 2)") is None
    assert parse_progress("Total bytes sent: 35,008,671") is None
    assert parse_progress("") is None
    argv = rsync_argv(rsh=["ssh"], source="a/", destination="h:b/", progress=True)
    assert "--info=progress2" in argv
    assert "--info=progress2" not in rsync_argv(rsh=["ssh"], source="a/", destination="h:b/")


def test_show_says_whether_artifacts_were_fetched() -> None:
    base = {"run": "train-a1b2", "job_id": "42", "final": True, "artifacts_dir": None,
            "artifacts_fetched_at": None}  # fmt: skip

    def line(**fields: object) -> str:
        found = [text for text in describe({**base, **fields}) if text.startswith("artifacts:")]
        assert len(found) == 1
        return found[0]

    assert line(artifacts_dir="/a", artifacts_fetched_at="2026-01-02T03:04:05Z") == (
        "artifacts:      fetched 2026-01-02T03:04:05Z into /a"
    )
    assert line() == "artifacts:      not fetched (hpcrun artifacts train-a1b2)"
    assert "not fetched yet" in line(final=False)
    assert line(final=False, artifacts_dir="/a").endswith("; fetched so far into /a")
    assert "not fetched since the run ended" in line(artifacts_dir="/a")
    assert not [t for t in describe({**base, "job_id": None}) if t.startswith("artifacts:")]

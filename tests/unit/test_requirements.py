"""Requirements files read like pip reads them, split into index requirements (the cached
environment) and the run's own code (per run)."""

from __future__ import annotations

import posixpath

import pytest

from hpcrun.requirements import (
    Kind,
    Requirements,
    RequirementsError,
    environment_key,
    parse,
)


class Files:
    """A project in memory: path (from the project root) -> text; folders are implied."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read(self, path: str) -> str:
        return self.files[path]

    def kind(self, path: str) -> Kind | None:
        path = posixpath.normpath(path)
        if path in self.files:
            return "file"
        if path == "." or any(name.startswith(path + "/") for name in self.files):
            return "dir"
        return None


def read(text: str, working_dir: str = ".", **files: str) -> Requirements:
    entry = posixpath.normpath(posixpath.join(working_dir, "requirements.txt"))
    return parse(entry, working_dir, Files({entry: text, **files}))


def key(requirements: Requirements) -> str:
    return environment_key(requirements, "3.11", None, ())


def test_comments_blank_lines_order_and_spacing_do_not_matter() -> None:
    plain = read("numpy==2.1.0\npandas>=2\n")
    noisy = read("# data\n\n  pandas>=2   # the frames\n\n#numpy==1\nnumpy==2.1.0\nnumpy==2.1.0\n")
    assert noisy.requirements == plain.requirements == ("numpy==2.1.0", "pandas>=2")
    assert read("pandas>=2\nnumpy==2.1.0\n").requirements == plain.requirements
    assert key(read("b\na\n# x\n")) == key(read("a\n\nb\n"))
    assert key(read("a\n")) != key(read("a==1\n"))


def test_a_hash_sign_inside_a_word_is_not_a_comment() -> None:
    result = read("git+https://example.org/x.git#egg=x\n")
    assert result.requirements == ("git+https://example.org/x.git#egg=x",)


def test_continuations_are_joined_and_a_comment_line_ends_them() -> None:
    result = read("numpy==2.1.0 \\\n  --hash=sha256:abc\nscipy \\\n# note\npandas\n")
    assert result.requirements == ("numpy==2.1.0 --hash=sha256:abc", "pandas", "scipy")


def test_includes_are_followed_relative_to_the_including_file() -> None:
    result = read(
        "-r reqs/base.txt\n--requirement=reqs/more.txt\n",
        **{"reqs/base.txt": "numpy\n-rdeep/x.txt\n", "reqs/deep/x.txt": "torch\n",
           "reqs/more.txt": "pandas\n"},
    )  # fmt: skip
    assert result.requirements == ("numpy", "pandas", "torch")
    changed = read("-r reqs/base.txt\n", **{"reqs/base.txt": "numpy==2\n"})
    same_text = read("-r reqs/base.txt\n", **{"reqs/base.txt": "numpy==1\n"})
    assert key(changed) != key(same_text)  # an include's content is part of the key


def test_constraints_are_kept_apart_and_written_as_an_include() -> None:
    result = read("-c constraints.txt\nnumpy\n", **{"constraints.txt": "numpy<2\n"})
    assert result.requirements == ("numpy",) and result.constraints == ("numpy<2",)
    assert result.env_file_lines() == ("-c constraints.txt", "numpy")
    assert key(result) != key(read("numpy\n"))
    with pytest.raises(RequirementsError, match="constraints file cannot name a local path"):
        read("-c c.txt\n", **{"c.txt": "./pkg\n", "pkg/setup.py": ""})


def test_include_cycles_are_refused() -> None:
    with pytest.raises(RequirementsError, match="cycle: requirements.txt -> a.txt -> requirements"):
        read("-r a.txt\n", **{"a.txt": "-r requirements.txt\n"})


def test_diamond_includes_are_not_cycles() -> None:
    result = read("-r a.txt\n-r b.txt\n", **{"a.txt": "-r c.txt\n", "b.txt": "-r c.txt\n",
                                             "c.txt": "numpy\n"})  # fmt: skip
    assert result.requirements == ("numpy",)


@pytest.mark.parametrize(
    "line",
    ["-r ../outside.txt", "-r /etc/passwd", "-c ../../x.txt", "-r sub/../../x.txt",
     "-r https://example.org/r.txt"],
)  # fmt: skip
def test_includes_leaving_the_project_are_refused(line: str) -> None:
    with pytest.raises(RequirementsError, match=r"requirements.txt:1: .*(outside|URL)"):
        read(line + "\n")


def test_a_missing_include_is_named() -> None:
    with pytest.raises(RequirementsError, match="'nope.txt' does not exist .*requirements.txt"):
        read("-r nope.txt\n")


def test_options_are_kept_in_order_and_are_part_of_the_key() -> None:
    text = (
        "--index-url https://pypi.example.org/simple\n--extra-index-url=https://x.org/s\n"
        "--pre\n--trusted-host pypi.example.org\n--no-binary :all:\nnumpy\n"
    )
    result = read(text)
    assert result.options == (
        "--index-url https://pypi.example.org/simple",
        "--extra-index-url=https://x.org/s",
        "--pre",
        "--trusted-host pypi.example.org",
        "--no-binary :all:",
    )
    assert result.env_file_lines()[-1] == "numpy"
    assert key(result) != key(read("numpy\n"))


def test_relative_find_links_are_rewritten_from_the_working_directory() -> None:
    result = read(
        "-r reqs/r.txt\n--find-links /opt/wheels\n",
        working_dir="src",
        **{"src/reqs/r.txt": "-f wheels\nmypkg\n", "src/reqs/wheels/a.whl": ""},
    )
    assert result.options == ("-f reqs/wheels", "--find-links /opt/wheels")
    with pytest.raises(RequirementsError, match="outside the project"):
        read("--find-links ../../w\n", working_dir="src")


@pytest.mark.parametrize(
    ("line", "python_path", "installs"),
    [
        ("-e .", ("."), ()),
        (".", ("."), ()),
        ("./pkg", ("pkg",), ()),
        ("-e ./pkg", ("pkg",), ()),
        ("--editable=./pkg", ("pkg",), ()),
        ("file:./pkg", ("pkg",), ()),
        ("mypkg @ file:./pkg", ("pkg",), ()),
        ("pkg", ("pkg",), ()),  # a bare folder pip can install
        ("./lib", ("lib/src",), ()),  # src/ layout
        ("./dist/mypkg-1.0-py3-none-any.whl", (), ("dist/mypkg-1.0-py3-none-any.whl",)),
        ("dist/mypkg-1.0-py3-none-any.whl", (), ("dist/mypkg-1.0-py3-none-any.whl",)),
    ],
)
def test_the_runs_own_code_is_split_out(
    line: str, python_path: tuple[str, ...] | str, installs: tuple[str, ...]
) -> None:
    files = {"pkg/setup.py": "", "pkg/pkg/__init__.py": "", "lib/pyproject.toml": "",
             "lib/src/lib/__init__.py": "", "dist/mypkg-1.0-py3-none-any.whl": ""}  # fmt: skip
    result = read(f"numpy\n{line}\n", **files)
    expected = (python_path,) if isinstance(python_path, str) else python_path
    assert (result.python_path, result.installs) == (expected, installs)
    assert result.requirements == ("numpy",)
    assert key(result) == key(read("numpy\n"))  # own code never changes the environment


def test_own_code_may_be_above_the_working_directory_but_inside_the_project() -> None:
    result = read("-e ../shared\n-e .\n", working_dir="app", **{"shared/setup.py": "",
                                                               "app/main.py": ""})  # fmt: skip
    assert result.python_path == ("../shared", ".")


def test_a_bare_name_is_an_index_requirement_unless_an_installable_folder_exists() -> None:
    assert read("data\n", **{"data/x.csv": ""}).requirements == ("data",)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("../outside", "outside the project"),
        ("-e ../../x", "outside the project"),
        ("/abs/pkg", "is absolute"),
        ("~/pkg", "is absolute"),
        ("file:///home/me/pkg", "absolute file: URL"),
        ("./missing", "does not exist in the project"),
        ("./a:b", "contains ':'"),
    ],
)
def test_local_paths_outside_or_missing_are_refused(line: str, message: str) -> None:
    with pytest.raises(RequirementsError, match=rf"requirements.txt:2: .*{message}"):
        read(f"numpy\n{line}\n", **{"a:b/setup.py": ""})


def test_urls_and_vcs_stay_index_requirements() -> None:
    lines = ["-e git+https://example.org/x.git#egg=x", "https://example.org/x-1.0-py3-none-any.whl",
             "y @ https://example.org/y.tar.gz"]  # fmt: skip
    result = read("\n".join(lines) + "\n")
    assert set(result.requirements) == set(lines) and not result.python_path


def test_extras_of_own_code_are_noted() -> None:
    result = read("-e .[dev]\n", **{"setup.py": ""})
    assert result.python_path == (".",)
    assert "extras [dev]" in result.notes[0]


def test_no_environment_without_index_requirements_or_own_wheels() -> None:
    assert not read("-e .\n# only my code\n", **{"setup.py": ""}).needs_env
    assert read("./w-1.0-py3-none-any.whl\n", **{"w-1.0-py3-none-any.whl": ""}).needs_env
    assert read("numpy\n").needs_env


def test_key_covers_python_and_modules() -> None:
    numpy = read("numpy\n")
    base = environment_key(numpy, "3.11", None, ())
    assert environment_key(numpy, "3.12", None, ()) != base
    assert environment_key(numpy, "3.11", "/etc/profile.d/lmod.sh", ()) != base
    assert environment_key(numpy, "3.11", None, ("cuda/12",)) != base

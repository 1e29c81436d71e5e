"""`hpcrun site new`, run as a user would: the real CLI, with HOME (and XDG_CONFIG_HOME or
HPCRUN_CONFIG_DIR) in a temporary folder, and `--site NAME` of other commands finding what
it wrote."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hpcrun.ops.site_new import shipped_sites
from tests.cli import hpcrun
from tests.conftest import REPO
from tests.docsnippets import hpcrun_on_path, marked_bash_blocks

QUICKSTART_EXAMPLE = "examples/quickstart/workflows.yaml"
SHIPPED = {site.name: site.path for site in shipped_sites()}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with nothing configured: HOME in tmp_path, no HPCRUN_CONFIG_DIR or XDG."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("HPCRUN_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return home


def _render_hello(site: str) -> subprocess.CompletedProcess[str]:
    return hpcrun("render", QUICKSTART_EXAMPLE, "hello", "--site", site, cwd=REPO)


def test_writes_the_generic_config_where_site_name_finds_it(home: Path) -> None:
    result = hpcrun("site", "new", "mycluster")
    assert result.returncode == 0, result.stderr
    path = home / ".config" / "hpcrun" / "sites" / "mycluster.yaml"
    assert result.stdout == f"{path}\n"  # only the path: `$(hpcrun site new x)` is the file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # the shipped text, comments and all, but for the name line
    shipped = SHIPPED["slurm-generic"].read_text(encoding="utf-8").splitlines()
    written = path.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(shipped, written, strict=True) if a != b]
    assert changed == [("name: slurm-generic", "name: mycluster")]
    # one line on stderr: what to edit, and the check to run next
    assert result.stderr.count("\n") == 1
    assert str(path) in result.stderr and "hpcrun site check mycluster" in result.stderr

    rendered = _render_hello("mycluster")
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout.startswith("#!/bin/bash\n#SBATCH --job-name=hello-dryrun\n")
    validated = hpcrun("validate", QUICKSTART_EXAMPLE, "--site", "mycluster", cwd=REPO)
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_xdg_config_home_and_hpcrun_config_dir_are_honoured(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    result = hpcrun("site", "new", "a")
    assert result.stdout == f"{tmp_path / 'xdg' / 'hpcrun' / 'sites' / 'a.yaml'}\n", result.stderr
    # HPCRUN_CONFIG_DIR/sites comes first in the lookup, so that is where it writes
    monkeypatch.setenv("HPCRUN_CONFIG_DIR", str(tmp_path / "cfg"))
    result = hpcrun("site", "new", "b", "--from", "local")
    assert result.stdout == f"{tmp_path / 'cfg' / 'sites' / 'b.yaml'}\n", result.stderr
    assert "login" not in result.stderr  # a local site has none to fill in
    assert not (home / ".config").exists()
    assert _render_hello("a").returncode == 0 and _render_hello("b").returncode == 0


@pytest.mark.parametrize("source", sorted(SHIPPED))
def test_every_shipped_config_copies_to_a_site_that_renders(home: Path, source: str) -> None:
    result = hpcrun("site", "new", "copy", "--from", source)
    assert result.returncode == 0, result.stderr
    text = Path(result.stdout.strip()).read_text(encoding="utf-8")
    assert "\nname: copy\n" in text and f"name: {source}\n" not in text
    rendered = _render_hello("copy")
    assert rendered.returncode == 0, rendered.stderr


def test_refuses_to_overwrite_without_force(home: Path) -> None:
    path = Path(hpcrun("site", "new", "mycluster").stdout.strip())
    path.write_text(path.read_text() + "# my edits\n")
    again = hpcrun("site", "new", "mycluster")
    assert again.returncode == 2 and again.stdout == ""
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert path.read_text().endswith("# my edits\n")  # untouched

    forced = hpcrun("site", "new", "mycluster", "--from", "csc-puhti", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout == f"{path}\n"
    text = path.read_text(encoding="utf-8")
    assert "# my edits" not in text and "Puhti" in text and "\nname: mycluster\n" in text
    assert sorted(p.name for p in path.parent.iterdir()) == ["mycluster.yaml"]  # no leftovers


def test_an_existing_yml_is_the_file_that_counts(home: Path) -> None:
    folder = home / ".config" / "hpcrun" / "sites"
    folder.mkdir(parents=True)
    (folder / "old.yml").write_text("name: old\nscheduler: local\n")
    assert hpcrun("site", "new", "old").returncode == 2
    forced = hpcrun("site", "new", "old", "--force", "--from", "local")
    assert forced.stdout == f"{folder / 'old.yml'}\n", forced.stderr
    assert not (folder / "old.yaml").exists()


@pytest.mark.parametrize("name", ["a/b", "../evil", ".hidden", "-x", "my cluster", "x.yaml"])
def test_a_bad_name_is_refused_with_the_rule(home: Path, name: str) -> None:
    result = hpcrun("site", "new", "--", name)  # `--`: "-x" is a name, not an option
    assert result.returncode == 2, result.stderr
    assert "site name" in result.stderr and "hint: choose another name" in result.stderr
    assert "1 to 64 characters" in result.stderr or "ends in .yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (home / ".config").exists() and not (home.parent / "evil.yaml").exists()


def test_an_unknown_from_is_refused_listing_the_choices(home: Path) -> None:
    result = hpcrun("site", "new", "x", "--from", "puhti")
    assert result.returncode == 2
    for name in SHIPPED:
        assert name in result.stderr
    assert "did you mean 'csc-puhti'?" in result.stderr
    assert not (home / ".config").exists()


def test_a_missing_name_is_a_usage_error(home: Path) -> None:
    result = hpcrun("site", "new")
    assert result.returncode == 2 and "NAME is missing" in result.stderr


def test_list_names_each_shipped_config_and_what_it_models(home: Path) -> None:
    result = hpcrun("site", "new", "--list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(SHIPPED)
    by_name = {line.split()[0]: line for line in lines}
    assert "Puhti" in by_name["csc-puhti"] and "Perlmutter" in by_name["nersc-perlmutter-gpu"]
    assert "generic Slurm" in by_name["slurm-generic"] and "local" in by_name["local"]
    assert not (home / ".config").exists()  # listing writes nothing


def test_shadowing_a_shipped_name_says_so(home: Path) -> None:
    result = hpcrun("site", "new", "local", "--from", "local")
    assert result.returncode == 0, result.stderr
    assert "now finds this file" in result.stderr and str(SHIPPED["local"]) in result.stderr


def test_from_completes_to_the_shipped_names(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_HPCRUN_COMPLETE", "bash_complete")
    monkeypatch.setenv("COMP_WORDS", "hpcrun site new x --from csc")
    monkeypatch.setenv("COMP_CWORD", "5")
    assert hpcrun().stdout.split() == ["plain,csc-puhti"]


def test_site_new_starts_without_heavy_imports(home: Path) -> None:
    code = (
        "import sys\nfrom hpcrun.cli.main import main\n"
        "try:\n    main(['site', 'new', 'light'])\nexcept SystemExit as e:\n    assert not e.code\n"
        "print('HEAVY=' + ','.join(m for m in ('pydantic', 'yaml', 'jinja2', 'paramiko')"
        " if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("HEAVY=\n"), result.stdout


def test_the_quickstart_commands_run_as_written(home: Path, tmp_path: Path) -> None:
    script = "\n".join(marked_bash_blocks(REPO / "docs" / "quickstart.md", "quickstart-site"))
    assert "hpcrun site new mycluster" in script
    result = subprocess.run(
        ["bash", "-e", "-x", "-o", "pipefail", "-c", script],
        cwd=tmp_path, env=hpcrun_on_path(tmp_path / "bin"), capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (home / ".config" / "hpcrun" / "sites" / "mycluster.yaml").is_file()
    assert _render_hello("mycluster").returncode == 0

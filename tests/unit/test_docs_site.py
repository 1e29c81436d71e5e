"""The documentation site: `mkdocs build --strict` passes (broken links and anchors, pages
missing from the nav, are warnings, hence failures), the CLI page is generated from the
click commands, and no page, README or --help text sends a user to DESIGN.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import yaml

from tests.cli import hpcrun
from tests.conftest import REPO

DOCS = REPO / "docs"


def test_mkdocs_build_strict_has_no_warnings(tmp_path: Path) -> None:
    # The test extra installs mkdocs: a missing one is a broken setup, so this fails
    # (ImportError) rather than skips.
    import mkdocs  # noqa: F401

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    cli_page = (tmp_path / "site" / "cli" / "index.html").read_text(encoding="utf-8")
    # generated from the commands themselves: every subcommand's usage line is there
    from hpcrun.cli.main import COMMANDS

    for name in COMMANDS:
        assert f"hpcrun {name} [OPTIONS]" in cli_page, name


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    return []


def _mkdocs_config() -> dict:
    # mkdocs.yml holds a !!python/object tag (the slug function): read it as plain data.
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *_: None)
    return yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=Loader)


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    pages = set(_nav_pages(_mkdocs_config()["nav"]))
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages == on_disk
    required = {
        "quickstart.md", "workflows.md", "sites.md", "cli.md", "sweeps.md", "interruptible.md",
        "ssh.md", "environments.md", "managing-runs.md", "api.md", "migrating.md",
        "troubleshooting.md", "benchmarks.md",
    }  # fmt: skip
    assert required <= pages


def test_the_cli_page_is_generated_from_the_click_group() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert re.search(r"^::: mkdocs-click$", text, re.MULTILINE)
    assert ":module: hpcrun.cli.main" in text and ":command: cli" in text
    from hpcrun.cli import main

    assert isinstance(main.cli, click.Group)


def _help_texts() -> dict[str, str]:
    from hpcrun.cli.main import cli

    texts: dict[str, str] = {}

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        ctx = click.Context(command, info_name=" ".join(path), parent=parent)
        texts[" ".join(path)] = command.get_help(ctx)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, [*path, name], ctx)

    walk(cli, ["hpcrun"], None)
    return texts


def test_no_user_facing_text_points_at_design_md() -> None:
    texts = _help_texts()
    assert len(texts) > 15
    offenders = [name for name, text in texts.items() if "DESIGN" in text]
    for path in [REPO / "README.md", *DOCS.rglob("*.md")]:
        if "DESIGN" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_no_workflows_file_hint_fits_every_command(tmp_path: Path) -> None:
    # The hint used to name `hpcrun render` even for a `submit` (issue 15).
    result = hpcrun("submit", "hello", cwd=tmp_path)
    assert result.returncode == 2
    assert "no workflows file in" in result.stderr
    assert "render" not in result.stderr
    assert "path/to/workflows.yaml WORKFLOW" in result.stderr


def test_the_readme_workflow_and_site_config_render(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    workflow, site = re.findall(r"^```yaml\n(.*?)^```$", readme, re.MULTILINE | re.DOTALL)
    assert len(workflow.splitlines()) <= 12 and len(site.splitlines()) <= 12
    (tmp_path / "workflows.yaml").write_text(workflow)
    (tmp_path / "train.py").write_text("print('train')\n")
    (tmp_path / "requirements.txt").write_text("numpy\n")
    (tmp_path / "mycluster.yaml").write_text(site)
    result = hpcrun("render", "train", "--site", str(tmp_path / "mycluster.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for line in ("--gres=gpu:a100:1", "--partition=batch", "--account=proj42", "--time=02:00:00"):
        assert f"#SBATCH {line}" in result.stdout


def _site_keys() -> list[str]:
    import typing

    from pydantic import BaseModel

    from hpcrun.site.models import Site

    def walk(model: type[BaseModel], prefix: str) -> list[str]:
        keys = []
        for name, field in model.model_fields.items():
            keys.append(prefix + name)
            for arg in (field.annotation, *typing.get_args(field.annotation)):
                for inner in (arg, *typing.get_args(arg)):
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        keys.extend(walk(inner, f"{prefix}{name}."))
        return keys

    return walk(Site, "")


def test_every_site_config_key_is_in_the_site_reference() -> None:
    text = (DOCS / "sites.md").read_text(encoding="utf-8")
    keys = _site_keys()
    assert "login.host" in keys and "gpus.gres" in keys
    missing = [key for key in keys if f"`{key.split('.')[-1]}`" not in text]
    assert missing == []

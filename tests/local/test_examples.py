"""Every example of examples/ renders against every shipped site config, and the runnable
ones run on the local site (copied to a fresh folder first, so they are self-contained)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.cli import hpcrun
from tests.conftest import REPO

EXAMPLES = REPO / "examples"
SITES = sorted((REPO / "site-configs").glob("*.yaml"))


def example_targets() -> list[tuple[str, list[str]]]:
    """(id, the render arguments) of every workflow of every example; a project folder
    (main.py, no workflows.yaml) is rendered by `submit --dry-run`. An interruptible
    workflow's id ends in '!'."""
    targets = []
    for folder in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        files = [
            f for f in (folder / ".dstack/workflows.yaml", folder / "workflows.yaml") if f.is_file()
        ]
        for file in files:
            for workflow in yaml.safe_load(file.read_text())["workflows"]:
                name = workflow["name"]
                mark = "!" if (workflow.get("resources") or {}).get("interruptible") else ""
                targets.append((f"{folder.name}:{name}{mark}", ["render", str(file), name]))
        projects = (
            [p for p in [folder, *folder.iterdir()] if (p / "main.py").is_file()]
            if not files
            else []
        )
        for project in projects:
            inputs = project.parent / "inputs"
            extra = ["--input", str(inputs)] if inputs.is_dir() else []
            targets.append(
                (f"{folder.name}:{project.name}", ["submit", "--dry-run", str(project), *extra])
            )
    return targets


TARGETS = example_targets()


def test_every_example_folder_has_something_to_render() -> None:
    folders = {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
    rendered = {target_id.split(":")[0] for target_id, _ in TARGETS}
    assert folders == rendered
    assert {"quickstart", "gpu-training", "pipeline", "sweep", "osparc", "interruptible"} <= folders
    assert folders == set(RUNS), "each example runs on the local site (RUNS)"


@pytest.mark.parametrize("site", SITES, ids=lambda p: p.stem)
@pytest.mark.parametrize("args", [a for _, a in TARGETS], ids=[i for i, _ in TARGETS])
def test_example_renders_on_every_site(args: list[str], site: Path) -> None:
    result = hpcrun(*args, "--site", str(site), cwd=REPO)
    interruptible = any(i.endswith("!") for i, a in TARGETS if a == args)
    config = yaml.safe_load(site.read_text())
    preempts = (config.get("partitions") or {}).get("preemptible") or config.get("interruptible")
    if interruptible and config["scheduler"] == "slurm" and not preempts:
        # documented refusal: a site that cannot preempt says so, nothing is rendered
        assert result.returncode == 2, result.stdout[:200]
        assert "has no preemptible partition or QOS" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("#!/bin/bash"), result.stdout[:200]
    if site.stem != "local":
        assert "#SBATCH --job-name=" in result.stdout


def test_the_gpu_example_asks_each_cluster_for_a_gpu() -> None:
    for site in SITES:
        result = hpcrun(
            "render", str(EXAMPLES / "gpu-training/workflows.yaml"), "train", "--site", str(site)
        )
        assert result.returncode == 0, result.stderr
        if site.stem == "local":
            assert "does not reserve GPUs" in result.stderr
        else:
            assert "#SBATCH --gres=gpu:" in result.stdout, site.name


# The runnable examples: the command (from the copied examples/ folder) and what must be
# in its output. Each runs in seconds, needs no network (no index requirements).
RUNS = {
    "quickstart": (["submit", "quickstart/workflows.yaml", "hello"], "sum_of_squares"),
    "gpu-training": (["submit", "gpu-training/workflows.yaml", "train"], "epoch 3/3"),
    "pipeline": (["submit", "pipeline/workflows.yaml", "train"], "y = 2.00x + 1.00"),
    "osparc": (
        ["submit", "osparc/sum-inputs", "--input", "osparc/inputs"],
        "b.csv: 2 values, sum 30.0",
    ),
    "sweep": (["sweep", "sweep/workflows.yaml", "grid", "--watch"], "6 completed"),
    # engineer D's example; short arguments after -- so it ends in a second
    "interruptible": (
        [
            "submit",
            "interruptible/workflows.yaml",
            "train",
            "--",
            "--steps",
            "3",
            "--step-seconds",
            "0.1",
        ],
        "all 3 steps done",
    ),
}


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy)
    return copy


@pytest.mark.parametrize("name", sorted(RUNS))
def test_example_runs_on_the_local_site(name: str, examples: Path) -> None:
    args, expected = RUNS[name]
    result = hpcrun(*args, cwd=examples, timeout=180)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert expected in result.stdout + result.stderr


def test_the_training_example_brings_back_checkpoints_and_metrics(
    examples: Path, isolated_home: Path
) -> None:
    result = hpcrun("submit", "gpu-training/workflows.yaml", "train", "-d", "--json", cwd=examples)
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)["run"]
    assert hpcrun("wait", run).returncode == 0
    fetched = isolated_home / "artifacts" / run
    assert sorted(p.name for p in (fetched / "checkpoints").iterdir()) == [
        "epoch-001.json", "epoch-002.json", "epoch-003.json",
    ]  # fmt: skip
    metrics = json.loads((fetched / "output" / "metrics.json").read_text())
    assert metrics["loss"] < 1.0

"""A GPU type selected by a node constraint, against the real test cluster (its node has
the feature `testfeature` and untyped-countable GPUs): the rendered `--gres=gpu:N` and
the combined `--constraint` are what Slurm accepts (`render --check` runs
`sbatch --test-only`), and a feature no node has is refused by Slurm, not by hpcrun.
(Slurm refuses a feature no node has even inside an OR, hence `testfeature|testfeature`.)"""

from __future__ import annotations

from pathlib import Path

from tests.cli import hpcrun
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant, workflows

WORKFLOWS = """workflows:
  - name: by-constraint
    provider: bash
    version: "3.11"
    commands: [echo ran]
    resources: {gpu: {name: A100-F, count: 1}}
  - name: with-an-or
    provider: bash
    version: "3.11"
    commands: [echo ran]
    resources: {gpu: {name: A100-F, count: 1}}
    slurm: {constraint: "testfeature|testfeature"}
  - name: missing-feature
    provider: bash
    version: "3.11"
    commands: [echo ran]
    resources: {gpu: {name: NOPE, count: 1}}
"""


def test_slurm_accepts_a_gpu_type_chosen_by_constraint(cluster: Cluster, tmp_path: Path) -> None:
    site = site_variant(
        cluster.site_config,
        tmp_path,
        gpus={"A100-F": {"constraint": "testfeature"}, "NOPE": {"constraint": "nofeature"}},
        sbatch=["--constraint=testfeature"],
    )
    workflows(tmp_path, WORKFLOWS)
    plain = hpcrun("render", "by-constraint", "--site", site, "--check", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "#SBATCH --gres=gpu:1\n" in plain.stdout
    assert "#SBATCH --constraint=testfeature\n" in plain.stdout  # the site's, once
    grouped = hpcrun("render", "with-an-or", "--site", site, "--check", cwd=tmp_path)
    assert grouped.returncode == 0, grouped.stderr
    assert "#SBATCH --constraint=testfeature&(testfeature|testfeature)\n" in grouped.stdout
    missing = hpcrun("render", "missing-feature", "--site", site, "--check", cwd=tmp_path)
    assert missing.returncode != 0
    assert "feature" in missing.stderr.lower() and "Traceback" not in missing.stderr

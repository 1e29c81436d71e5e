"""The cached virtualenv on the cluster: built once, never half-built, optionally on the
login node; and the run folder is private."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant, workflows
from tests.wheels import build_wheel

PY = "3.11"


def env_project(folder: Path, requirements: str) -> Path:
    workflows(
        folder,
        f"""workflows:
  - name: use
    provider: python
    file: use.py
    version: "{PY}"
    requirements: requirements.txt
""",
        **{"use.py": "import hpcrun_testpkg\nprint('imported', hpcrun_testpkg.VERSION)\n",
           "requirements.txt": requirements},
    )  # fmt: skip
    return folder


def env_dirs(cluster: Cluster) -> set[str]:
    listing = cluster.ssh_ok("ls -1 ~/hpcrun/envs 2>/dev/null || true")
    return {line for line in listing.split() if not line.endswith(".lock")}


def test_failed_build_leaves_no_env_and_the_next_job_builds_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    site = str(cluster.site_config)
    project = tmp_path / "p"
    marker = uuid.uuid4().hex
    # the wheel is missing at first: pip fails inside the job
    env_project(project, f"# {marker}\n./wheels/hpcrun_testpkg-0.1-py3-none-any.whl\n")
    before = env_dirs(cluster)
    failed = hpcrun("submit", "use", "--site", site, cwd=project)
    assert failed.returncode != 0
    assert "building the Python environment failed" in failed.stdout
    assert env_dirs(cluster) == before  # nothing half-built is left for later jobs

    build_wheel(project / "wheels")  # same requirements text, now installable
    fixed = hpcrun("submit", "use", "--site", site, cwd=project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "building Python environment" in fixed.stdout and "imported 0.1" in fixed.stdout
    assert len(env_dirs(cluster) - before) == 1


def test_env_built_on_the_login_node_at_submit_time(cluster: Cluster, tmp_path: Path) -> None:
    site = site_variant(cluster.site_config, tmp_path, env_build="login")
    project = tmp_path / "p"
    wheel = build_wheel(project / "wheels")
    env_project(project, f"# {uuid.uuid4().hex}\n./wheels/{wheel.name}\n")
    result = hpcrun("submit", "use", "--site", site, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    # the job itself found the environment ready: it was built before sbatch
    assert "reusing Python environment" in result.stdout
    assert "building" not in result.stdout
    assert "imported 0.1" in result.stdout


def test_run_folder_is_private(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(project, f'workflows:\n  - name: w\n    provider: python\n    file: w.py\n    version: "{PY}"\n',
              **{"w.py": "print('ok')\n"})  # fmt: skip
    result = hpcrun("submit", "w", "--site", str(cluster.site_config), cwd=project)
    assert result.returncode == 0, result.stderr
    [run] = ps_json()
    mode = cluster.ssh_ok(f"stat -c %a ~/hpcrun/runs/{run['run']}").strip()
    assert mode == "700"

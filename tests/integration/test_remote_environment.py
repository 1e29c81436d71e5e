"""The cached virtualenv on the cluster: built once, never half-built, optionally on the
login node; and the run folder is private."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write
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


ENV_LINE = re.compile(r"\[hpcrun\] environment (py3\.\d+-[0-9a-f]{16}): (built in \d+ s|reused)")
ENV_BUILT = re.compile(r"\[hpcrun\] environment py3\.\d+-[0-9a-f]{16}: built in \d+ s")


def fresh_wheels_folder() -> str:
    """The cluster's environment cache outlives a test session, and comments are not part of
    an environment's key: a folder name of its own gives each test a fresh key."""
    return f"wheels-{uuid.uuid4().hex[:12]}"


def index_requirements(wheels: str) -> str:
    """hpcrun_testpkg as an index requirement, served offline from a folder of the project."""
    return f"--no-index\n--find-links {wheels}\nhpcrun_testpkg\n"


def env_dirs(cluster: Cluster) -> set[str]:
    listing = cluster.ssh_ok("ls -1 ~/hpcrun/envs 2>/dev/null || true")
    return {line for line in listing.split() if not line.endswith(".lock")}


def test_failed_build_leaves_no_env_and_the_next_job_builds_it(
    cluster: Cluster, tmp_path: Path
) -> None:
    site = str(cluster.site_config)
    project = tmp_path / "p"
    wheels = fresh_wheels_folder()
    # the wheel is missing at first: pip fails inside the job
    env_project(project, index_requirements(wheels))
    before = env_dirs(cluster)
    failed = hpcrun("submit", "use", "--site", site, cwd=project)
    assert failed.returncode != 0
    assert "building the Python environment failed" in failed.stdout
    assert env_dirs(cluster) == before  # nothing half-built is left for later jobs

    build_wheel(project / wheels)  # same requirements text, now installable
    fixed = hpcrun("submit", "use", "--site", site, cwd=project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert ENV_BUILT.search(fixed.stdout) and "imported 0.1" in fixed.stdout
    assert len(env_dirs(cluster) - before) == 1


def test_env_built_on_the_login_node_at_submit_time(cluster: Cluster, tmp_path: Path) -> None:
    site = site_variant(cluster.site_config, tmp_path, env_build="login")
    project = tmp_path / "p"
    wheels = fresh_wheels_folder()
    build_wheel(project / wheels)
    env_project(project, index_requirements(wheels))
    result = hpcrun("submit", "use", "--site", site, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    # the job itself found the environment ready: it was built before sbatch
    assert re.search(r"environment py3\.\d+-[0-9a-f]{16}: built in \d+ s on the login node",
                     result.stdout)  # fmt: skip
    assert "building" not in result.stdout
    assert "imported 0.1" in result.stdout
    again = hpcrun("submit", "use", "--site", site, "--rebuild-env", cwd=project)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "on the login node" in again.stdout  # rebuilt at submit time, not in the job


def test_second_run_imports_its_own_edited_code(cluster: Cluster, tmp_path: Path) -> None:
    """`-e ./mylib` is the run's own code: never baked into the shared environment, so the
    second run of edited code imports the edit while reusing the environment."""
    site = str(cluster.site_config)
    project = tmp_path / "p"
    wheels = fresh_wheels_folder()
    build_wheel(project / wheels)
    env_project(project, index_requirements(wheels) + "-e ./mylib\n")
    write(project / "mylib" / "setup.py", "from setuptools import setup\nsetup(name='mylib')\n")
    write(project / "mylib" / "mylib" / "__init__.py", "VALUE = 'first'\n")
    write(project / "use.py", "import hpcrun_testpkg, mylib\nprint('own code', mylib.VALUE)\n")
    first = hpcrun("submit", "use", "--site", site, cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    [(name, how)] = ENV_LINE.findall(first.stdout)
    assert how.startswith("built") and "own code first" in first.stdout

    write(project / "mylib" / "mylib" / "__init__.py", "VALUE = 'edited'\n")
    second = hpcrun("submit", "use", "--site", site, cwd=project)
    assert second.returncode == 0, second.stdout + second.stderr
    assert ENV_LINE.findall(second.stdout) == [(name, "reused")]
    assert "own code edited" in second.stdout


def test_run_folder_is_private(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(project, f'workflows:\n  - name: w\n    provider: python\n    file: w.py\n    version: "{PY}"\n',
              **{"w.py": "print('ok')\n"})  # fmt: skip
    result = hpcrun("submit", "w", "--site", str(cluster.site_config), cwd=project)
    assert result.returncode == 0, result.stderr
    [run] = ps_json()
    mode = cluster.ssh_ok(f"stat -c %a ~/hpcrun/runs/{run['run']}").strip()
    assert mode == "700"

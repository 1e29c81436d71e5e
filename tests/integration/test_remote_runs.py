"""hpcrun's main job against the real test cluster, over real SSH: submit, track, logs,
cancel, artifacts, deps. Every run here is a real Slurm job."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest

from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, site_variant, wait_state, workflows
from tests.wheels import build_wheel

PY = "3.11"  # the test cluster's python module

FULL = f"""workflows:
  - name: train
    provider: python
    file: train.py
    version: "{PY}"
    requirements: requirements.txt
    args: ["--epochs", "2", "it's a $(test)"]
    environment:
      GREETING: "hello; world"
    env: ["MODE=full"]
    artifacts: [model]
    resources:
      cpu: 1
      memory: 500MB
      gpu: {{name: a100, count: 1}}
"""
TRAIN = """import json, os, pathlib, sys
import hpcrun_testpkg
print("argv", json.dumps(sys.argv[1:]))
print("env", os.environ["GREETING"], os.environ["MODE"])
print("gpus", os.environ.get("CUDA_VISIBLE_DEVICES"), "job", os.environ["SLURM_JOB_ID"])
pathlib.Path("model").mkdir(exist_ok=True)
pathlib.Path("model/weights.txt").write_text("w=" + hpcrun_testpkg.VERSION)
pathlib.Path(os.environ["OUTPUT_FOLDER"], "metrics.json").write_text('{"loss": 0.1}')
"""


@pytest.fixture
def site(cluster: Cluster) -> str:
    return str(cluster.site_config)


@pytest.fixture
def full_project(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    # a fresh environment key (the cluster's env cache outlives test sessions): comments do
    # not count, a folder name of its own does
    wheels = f"wheels-{uuid.uuid4().hex[:12]}"
    build_wheel(project / wheels)
    requirements = f"--no-index\n--find-links {wheels}\nhpcrun_testpkg\n"
    workflows(project, FULL, **{"train.py": TRAIN, "requirements.txt": requirements})
    return project


def test_full_workflow_runs_to_completed(cluster: Cluster, site: str, full_project: Path) -> None:
    result = hpcrun("submit", "train", "--site", site, cwd=full_project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'argv ["--epochs", "2", "it\'s a $(test)"]' in result.stdout
    assert "env hello; world full" in result.stdout
    [run] = ps_json()
    assert (run["state"], run["exit_code"], run["site"]) == ("completed", 0, "testcluster")
    artifacts = Path(run["artifacts_dir"])
    assert (artifacts / "model" / "weights.txt").read_text() == "w=0.1"
    assert json.loads((artifacts / "output" / "metrics.json").read_text()) == {"loss": 0.1}
    tres = cluster.ssh_ok(f"sacct -j {run['job_id']} -X -n -P -o AllocTRES")
    assert "gres/gpu:a100=1" in tres
    assert re.search(r"\[hpcrun\] environment py3\.\d+-[0-9a-f]{16}: built in", result.stdout)


def test_resubmit_reuses_env_and_uploads_almost_nothing(
    cluster: Cluster, site: str, full_project: Path
) -> None:
    first = hpcrun("submit", "train", "--site", site, cwd=full_project)
    assert first.returncode == 0, first.stderr
    second = hpcrun("submit", "train", "--site", site, cwd=full_project)
    assert second.returncode == 0, second.stderr
    assert re.search(r"\[hpcrun\] environment py3\.\d+-[0-9a-f]{16}: reused", second.stdout)
    assert "building" not in second.stdout and "Installing" not in second.stdout
    uploaded = re.search(r"\(job \d+, ([\d.]+) (B|KiB|MiB) uploaded\)", second.stderr)
    assert uploaded and uploaded.group(2) == "B" and float(uploaded.group(1)) == 0, second.stderr
    runs = sorted(ps_json(), key=lambda r: r["submitted_at"] or "")
    code = [f"~/hpcrun/runs/{r['run']}/code/train.py" for r in runs]
    inodes = cluster.ssh_ok(f"stat -c %i {code[0]} {code[1]}").split()
    assert inodes[0] == inodes[1]  # hard-linked from the first upload, not sent again


def test_failing_program_ends_failed_with_its_exit_code(site: str, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(
        project,
        f'workflows:\n  - name: fail\n    provider: python\n    file: fail.py\n    version: "{PY}"\n',
        **{"fail.py": "import sys\nprint('failing now')\nsys.exit(3)\n"},
    )
    result = hpcrun("submit", "fail", "--site", site, cwd=project)
    assert result.returncode == 3, result.stderr
    assert "failing now" in result.stdout
    [run] = ps_json()
    assert (run["state"], run["exit_code"]) == ("failed", 3)


def test_job_over_its_time_limit_ends_timeout(cluster: Cluster, tmp_path: Path) -> None:
    site = site_variant(cluster.site_config, tmp_path, defaults={"time": "00:01:00"})
    project = tmp_path / "p"
    workflows(
        project,
        f'workflows:\n  - name: slow\n    provider: python\n    file: slow.py\n    version: "{PY}"\n',
        **{"slow.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(600)\n"},
    )
    result = hpcrun("submit", "slow", "--site", site, cwd=project, timeout=400)
    assert result.returncode != 0
    [run] = ps_json()
    assert run["state"] == "timeout", run


def test_job_over_its_memory(cluster: Cluster, tmp_path: Path, site: str) -> None:
    """This cluster has no cgroups (proctrack/linuxproc), so Slurm enforces --mem with
    JobAcctGatherParams=OverMemoryKill: the job is killed (SIGKILL) and sacct records
    FAILED 0:9, not OUT_OF_MEMORY (which needs task/cgroup). slurmstepd writes "exceeded
    memory limit" into the job log, and hpcrun reads that to report out_of_memory (on a
    cgroup cluster sacct says OUT_OF_MEMORY itself)."""
    project = tmp_path / "p"
    workflows(
        project,
        f"""workflows:
  - name: hog
    provider: python
    file: hog.py
    version: "{PY}"
    resources: {{memory: 200MB}}
""",
        **{"hog.py": "import time\nblocks = []\nfor i in range(60):\n"
                     "    blocks.append(bytearray(50 * 2**20))\n    time.sleep(0.1)\n"
                     "time.sleep(30)\n"},
    )  # fmt: skip
    result = hpcrun("submit", "hog", "--site", site, cwd=project)
    [run] = ps_json()
    assert (run["state"], run["exit_code"]) == ("out_of_memory", 137), run
    assert "exceeded memory limit" in result.stdout
    assert result.returncode != 0


def test_cancel_logs_follow_and_ps_json(cluster: Cluster, site: str, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(
        project,
        f"""workflows:
  - name: ticker
    provider: python
    file: tick.py
    version: "{PY}"
  - name: long
    provider: python
    file: long.py
    version: "{PY}"
""",
        **{"tick.py": "import time\nfor i in range(4):\n    print('tick', i, flush=True)\n    time.sleep(1)\n",
           "long.py": "import time\nprint('long started', flush=True)\ntime.sleep(600)\n"},
    )  # fmt: skip
    ticker = hpcrun("submit", "ticker", "--site", site, "-d", cwd=project)
    long = hpcrun("submit", "long", "--site", site, "-d", cwd=project)
    assert ticker.returncode == 0 and long.returncode == 0, ticker.stderr + long.stderr
    ticker_run, long_run = ticker.stdout.strip(), long.stdout.strip()

    followed = hpcrun("logs", ticker_run, "-f")
    assert followed.returncode == 0, followed.stderr
    assert [f"tick {i}" for i in range(4)] == re.findall(r"tick \d", followed.stdout)

    wait_state(long_run, {"running"})
    cancelled = hpcrun("cancel", long_run)
    assert cancelled.returncode == 0, cancelled.stderr
    record = run_of(long_run)
    assert record["state"] == "cancelled"
    assert long_run not in cluster.ssh_ok(f"squeue -h -o %j -j {record['job_id']} || true")

    runs = {r["run"]: r for r in ps_json()}
    for key in ("run", "workflow", "site", "job_id", "state", "exit_code", "submitted_at",
                "finished_at", "artifacts_dir"):  # fmt: skip
        assert key in runs[ticker_run]
    assert runs[ticker_run]["state"] == "completed" and runs[ticker_run]["finished_at"]


def test_deps_chain_tags_and_artifact_refetch(cluster: Cluster, site: str, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(
        project,
        f"""workflows:
  - name: prep
    provider: python
    file: prep.py
    version: "{PY}"
    artifacts: [data]
  - name: train
    provider: python
    file: train.py
    version: "{PY}"
    deps: [prep]
  - name: eval
    provider: python
    file: train.py
    version: "{PY}"
    deps: [":golden"]
""",
        **{"prep.py": "import pathlib, time\ntime.sleep(2)\npathlib.Path('data').mkdir()\n"
                      "pathlib.Path('data/x.txt').write_text('prepared on the cluster')\n",
           "train.py": "import pathlib\nprint('read:', pathlib.Path('data/x.txt').read_text())\n"},
    )  # fmt: skip
    # no completed prep yet: hpcrun submits prep first and chains train after it
    result = hpcrun("submit", "train", "--site", site, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "read: prepared on the cluster" in result.stdout
    runs = {r["workflow"]: r for r in ps_json()}
    assert runs["prep"]["state"] == "completed"
    dependency = cluster.ssh_ok(f"sacct -j {runs['train']['job_id']} -X -n -P -o Submit,Start")
    assert dependency  # recorded by accounting
    assert "waits for" in result.stderr

    # a tag names a run for deps: [":golden"]
    assert hpcrun("tag", runs["prep"]["run"], "golden").returncode == 0
    evaluated = hpcrun("submit", "eval", "--site", site, cwd=project)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "read: prepared on the cluster" in evaluated.stdout
    assert len([r for r in ps_json() if r["workflow"] == "prep"]) == 1

    # artifacts: a second fetch transfers nothing new
    prep = runs["prep"]["run"]
    dest = tmp_path / "dest"
    first = hpcrun("artifacts", prep, "--dest", str(dest))
    assert first.returncode == 0, first.stderr
    assert (dest / "data" / "x.txt").read_text() == "prepared on the cluster"
    again = hpcrun("artifacts", prep, "--dest", str(dest))
    assert "0 B fetched" in again.stderr, again.stderr

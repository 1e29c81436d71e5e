"""On the real cluster: `submit -d` then `logs -f` fetches the run's artifacts when it ends
(once), names a declared artifact the job did not create, and records when."""

from __future__ import annotations

from pathlib import Path

from tests.cli import hpcrun
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, workflows

WORKFLOWS = """workflows:
  - name: makes
    provider: bash
    version: "3.11"
    commands:
      - sleep 2
      - mkdir -p out && echo made > out/result.txt
      - echo metric > "$OUTPUT_FOLDER/m.txt"
    artifacts: [out, never-made.txt]
"""


def test_logs_follow_fetches_a_detached_runs_artifacts(cluster: Cluster, tmp_path: Path) -> None:
    project = workflows(tmp_path / "proj", WORKFLOWS).parent
    site = str(cluster.site_config)
    submitted = hpcrun("submit", "-d", "makes", "--site", site, "--time", "2m", cwd=project,
                       timeout=120)  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    assert run_of(run)["artifacts_fetched_at"] is None

    followed = hpcrun("logs", "-f", run, timeout=180)
    assert followed.returncode == 0, followed.stderr
    assert f"artifacts of {run} are in" in followed.stderr
    assert "declared artifact never-made.txt was not created by the job" in followed.stderr
    record = run_of(run)
    folder = Path(record["artifacts_dir"])
    assert (folder / "out" / "result.txt").read_text() == "made\n"
    assert (folder / "output" / "m.txt").read_text() == "metric\n"
    assert record["artifacts_fetched_at"] and record["state"] == "completed"

    again = hpcrun("logs", "-f", run, timeout=60)  # fetched already: not again
    assert again.returncode == 0 and "artifacts of" not in again.stderr, again.stderr

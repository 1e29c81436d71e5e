"""A finished Slurm run has its accounting recorded (one sacct, folded into the poll's),
and the attached submit ends with the ``used ...`` line and the hint to lower memory."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh
from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import workflows

# ~60 MiB held for 3 s (the cluster samples every second) with a busy CPU.
WORKFLOW = """workflows:
  - name: hog
    provider: bash
    version: "3.11"
    commands:
      - python3 hog.py
    resources:
      cpu: 1
      memory: 1GiB
"""
HOG = """import time
block = bytearray(60 * 2**20)
for i in range(0, len(block), 4096):
    block[i] = 1
end = time.time() + 3
while time.time() < end:
    pass
print("done")
"""


def test_a_finished_job_records_its_sacct_figures(cluster: Cluster, tmp_path: Path) -> None:
    workflows(tmp_path, WORKFLOW, **{"hog.py": HOG})
    result = hpcrun("submit", "hog", "--site", str(cluster.site_config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (record,) = ps_json()
    used = record["efficiency"]
    assert used is not None, record
    assert used["source"] == "sacct"
    assert used["max_rss_bytes"] >= 50 * 2**20, used
    assert used["req_mem_bytes"] == 2**30, used
    assert used["cpus"] == 1 and used["elapsed_s"] >= 3, used
    # a busy loop, on a machine that other tests share: at least a third of a CPU
    assert used["cpu_s"] >= 1 and 0.3 < used["cpu_efficiency"] <= 1.05, used
    assert used["nodes"] == "node1" and "mem=1G" in used["alloc_tres"], used
    line = re.search(r"hpcrun: used \d+(\.\d)? MiB of 1 GiB memory \(\d+%\), CPU \d+% of "
                     r"1 core, \d+s on node1", result.stderr)  # fmt: skip
    assert line, result.stderr
    assert "resources.memory: 256MiB" in result.stderr, result.stderr


def test_runs_that_end_together_are_measured_by_the_one_sacct_of_the_poll(
    cluster: Cluster, tmp_path: Path
) -> None:
    workflows(tmp_path, WORKFLOW, **{"hog.py": HOG})
    site = str(cluster.site_config)
    submitted = [hpcrun("submit", "hog", "-d", "--json", "--site", site, cwd=tmp_path)
                 for _ in range(2)]  # fmt: skip
    assert all(r.returncode == 0 for r in submitted), [r.stderr for r in submitted]
    jobs = {json.loads(r.stdout)["job_id"]: json.loads(r.stdout)["run"] for r in submitted}
    deadline = time.monotonic() + 120
    while True:  # both ended, as Slurm's accounting says, before hpcrun looks again
        states = cluster.ssh_ok(f"sacct -n -X -P -o State -j {','.join(jobs)}").split()
        if len(states) == 2 and all(state == "COMPLETED" for state in states):
            break
        assert time.monotonic() < deadline, states
        time.sleep(1)
    with Session() as session:
        server, _ = session.site(site)
        transport = session.transport(server)
        calls: list[str] = []
        real_run = transport.run

        def counting_run(command, **kwargs):  # instrumentation around the real transport
            calls.append(str(command))
            return real_run(command, **kwargs)

        transport.run = counting_run
        refresh(session)
        records = [session.store.get(run) for run in jobs.values()]
    assert len([call for call in calls if "sacct" in call]) == 1, calls
    for record in records:
        assert record.final and record.state == "completed"
        used = json.loads(record.efficiency)
        assert used["source"] == "sacct" and used["max_rss_bytes"] >= 50 * 2**20, used

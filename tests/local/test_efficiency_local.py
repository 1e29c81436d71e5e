"""The local site records what a run used: peak RSS of its process tree, wall and CPU
time; an attached submit ends with the ``used ...`` line; show and ps --json carry it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write

# ~60 MiB touched page by page in a child process (so the figure must come from the whole
# process tree, not the job's shell), then a second of busy CPU.
HOG = """import subprocess, sys
child = '''
import time
block = bytearray(60 * 2**20)
for i in range(0, len(block), 4096):
    block[i] = 1
end = time.time() + 1
while time.time() < end:
    pass
'''
subprocess.run([sys.executable, '-c', child], check=True)
print('done')
"""
WORKFLOWS = """workflows:
  - name: hog
    provider: python
    file: hog.py
    resources:
      memory: 2GiB
"""


def test_a_local_run_records_its_peak_memory_and_times(tmp_path: Path) -> None:
    write(tmp_path / "hog.py", HOG)
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    result = hpcrun("submit", "hog", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout
    (record,) = ps_json()
    used = record["efficiency"]
    assert used["source"] == "local"
    assert used["max_rss_bytes"] >= 50 * 2**20, used
    assert used["max_rss_bytes"] < 2 * 2**30, used
    assert used["elapsed_s"] >= 1.0 and used["cpu_s"] >= 0.8, used
    assert used["cpus"] == 1 and 0 < used["cpu_efficiency"] <= 1.05, used
    assert used["req_mem_bytes"] == 2 * 2**30
    assert 0.02 < used["mem_efficiency"] < 0.25, used
    # the attached submit's last lines: what it used, and a lower memory request to try
    line = re.search(r"hpcrun: used (\d+(?:\.\d)?) MiB of 2 GiB memory \(\d+%\), CPU \d+% of "
                     r"1 core, \d+s on \S+", result.stderr)  # fmt: skip
    assert line and float(line.group(1)) >= 50, result.stderr
    assert "hint: it used" in result.stderr and "resources.memory: 256MiB" in result.stderr

    shown = hpcrun("show", record["run"])
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^used: +\d+(\.\d)? MiB of 2 GiB memory .*\(local\)$", shown.stdout, re.M)
    as_json = json.loads(hpcrun("show", record["run"], "--json").stdout)
    assert as_json["efficiency"] == used


def test_a_failing_local_run_still_records_what_it_used(tmp_path: Path) -> None:
    write(tmp_path / "fail.py", "import sys\nsys.exit(3)\n")
    write(tmp_path / "workflows.yaml", "workflows:\n  - name: fail\n    provider: python\n"
                                       "    file: fail.py\n")  # fmt: skip
    result = hpcrun("submit", "fail", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    (record,) = ps_json()
    assert record["efficiency"]["max_rss_bytes"] > 0
    assert "hpcrun: used " in result.stderr and "hint:" not in result.stderr

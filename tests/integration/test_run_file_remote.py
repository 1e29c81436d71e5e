"""A bare Python file (`hpcrun submit train.py ARGS`) on the real Slurm test cluster, with
the Python version taken from the site's `defaults.python`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write
from tests.integration.conftest import Cluster


def test_bare_file_on_slurm_uses_the_site_default_python(cluster: Cluster, tmp_path: Path) -> None:
    # the test cluster's own config, plus a default Python it has a module for
    version = cluster.python_module.rpartition("/")[2]
    config = cluster.site_config.read_text()
    assert "defaults: {" in config
    site = write(tmp_path / "site.yaml",
                 config.replace("defaults: {", f'defaults: {{python: "{version}", '))  # fmt: skip
    project = tmp_path / "proj"
    write(
        project / "train.py",
        "import json, os, sys\n"
        "print('GOT ' + json.dumps({'args': sys.argv[1:], 'job': os.environ.get('SLURM_JOB_ID'),\n"
        "      'python': '%d.%d' % sys.version_info[:2]}))\n",
    )
    result = hpcrun("submit", "train.py", "--epochs", "3", "--site", str(site), cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("GOT ")]
    seen = json.loads(line[4:])
    [run] = ps_json()
    assert seen["args"] == ["--epochs", "3"]
    assert seen["python"] == version  # the module python/<version> was loaded
    assert seen["job"] == run["job_id"]  # it ran as that Slurm job
    assert (run["workflow"], run["state"]) == ("train", "completed")

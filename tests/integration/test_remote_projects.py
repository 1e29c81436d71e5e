"""Project folders and zips on the Slurm site, with inputs and resource flags."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write
from tests.integration.conftest import Cluster


def test_project_folder_with_inputs_on_slurm(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "analysis"
    write(
        project / "main.py",
        "import json, os, pathlib\n"
        "text = pathlib.Path(os.environ['INPUT_FOLDER'], 'in.txt').read_text()\n"
        "out = {'words': len(text.split()), 'cpus': os.environ.get('SLURM_CPUS_PER_TASK'),\n"
        "       'mem': os.environ.get('SLURM_MEM_PER_NODE')}\n"
        "pathlib.Path(os.environ['OUTPUT_FOLDER'], 'out.json').write_text(json.dumps(out))\n"
        "print('counted', out)\n",
    )
    write(tmp_path / "inputs" / "in.txt", "one two three four\n")
    result = hpcrun(
        "submit", str(project), "--site", str(cluster.site_config), "--input",
        str(tmp_path / "inputs"), "--cpu", "2", "--memory", "300MB", "--python", "3.11",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [run] = ps_json()
    assert run["workflow"] == "analysis" and run["state"] == "completed"
    out = json.loads((Path(run["artifacts_dir"]) / "output" / "out.json").read_text())
    # what Slurm gave the job: 300MB = 286.1 MiB, rounded up to 287 MiB
    assert out == {"words": 4, "cpus": "2", "mem": "287"}


def test_zip_project_on_slurm(cluster: Cluster, tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("bundle/main.py", "from lib.helper import value\nprint('value', value())\n")
        zf.writestr("bundle/lib/__init__.py", "")
        zf.writestr("bundle/lib/helper.py", "def value():\n    return 42\n")
    result = hpcrun("submit", str(archive), "--site", str(cluster.site_config), "--python", "3.11")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "value 42" in result.stdout

"""Runs stand on their own, on the real cluster: a run keeps the site config it was
submitted with (its YAML may go), and ``--site`` points runs at a config whose login
changed (another host name for the login node, a key and known_hosts moved elsewhere)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, site_variant, wait_state, workflows

PY = "3.11"  # the test cluster's python module
WORKFLOWS = f"""workflows:
  - name: quick
    provider: python
    file: quick.py
    version: "{PY}"
    artifacts: [out]
  - name: nap
    provider: python
    file: nap.py
    version: "{PY}"
"""
QUICK = "import pathlib\nprint('hello from quick')\npathlib.Path('out').mkdir()\n" \
        "pathlib.Path('out/a.txt').write_text('artifact')\n"  # fmt: skip
NAP = "import time\nprint('napping', flush=True)\ntime.sleep(120)\n"


def login_files(cluster: Cluster, folder: Path, host: str) -> dict[str, str]:
    """A private copy of the client key, and a known_hosts naming the login as ``host``."""
    folder.mkdir(parents=True)
    key = folder / "id_ed25519"
    shutil.copyfile(cluster.key, key)
    key.chmod(0o600)
    entry = cluster.known_hosts.read_text().split(" ", 1)[1]  # "[127.0.0.1]:2222 <key>"
    known = folder / "known_hosts"
    known.write_text(f"[{host}]:{cluster.port} {entry}")
    return {"host": host, "identity_file": str(key), "known_hosts": str(known)}


def submit(project: Path, workflow: str, site: str) -> str:
    result = hpcrun("submit", workflow, "-d", "--site", site, cwd=project, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_runs_outlive_their_yaml_and_follow_a_changed_login(
    cluster: Cluster, tmp_path: Path
) -> None:
    old_login = login_files(cluster, tmp_path / "old-keys", cluster.host)
    old = Path(site_variant(cluster.site_config, tmp_path / "sites", login=old_login))
    project = workflows(tmp_path / "proj", WORKFLOWS, **{"quick.py": QUICK, "nap.py": NAP}).parent
    quick = submit(project, "quick", str(old))
    naps = [submit(project, "nap", str(old)) for _ in range(2)]
    old.unlink()  # the YAML is gone: the recorded snapshot is enough

    assert wait_state(quick, {"completed", "failed"})["state"] == "completed"
    logs = hpcrun("logs", quick)
    assert logs.returncode == 0, logs.stderr
    assert "hello from quick" in logs.stdout
    fetched = hpcrun("artifacts", quick, "--dest", str(tmp_path / "got"))
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "got" / "out" / "a.txt").read_text() == "artifact"
    wait_state(naps[0], {"running"})

    # The login changes: the login node is now reached as "localhost", with the key and
    # known_hosts in a new place; the old ones are gone.
    shutil.rmtree(tmp_path / "old-keys")
    broken = hpcrun("logs", naps[0])
    assert broken.returncode != 0 and "Traceback" not in broken.stderr
    new_login = login_files(cluster, tmp_path / "new-keys", "localhost")
    new = site_variant(cluster.site_config, tmp_path / "sites", login=new_login)

    pointed = hpcrun("logs", naps[0], "--site", new)
    assert pointed.returncode == 0, pointed.stderr
    assert "napping" in pointed.stdout
    assert hpcrun("logs", naps[0]).returncode == 0  # the new config is kept with the run
    listing = hpcrun("ps", "--site", new)  # re-points the other unfinished run of the site
    assert listing.returncode == 0, listing.stderr
    assert naps[1] in listing.stdout and "warning" not in listing.stderr
    assert {run_of(run)["site_config"] for run in naps} == {str(Path(new).resolve())}
    for run in naps:
        cancelled = hpcrun("cancel", run)
        assert cancelled.returncode == 0, cancelled.stderr
    states = {r["run"]: r["state"] for r in ps_json()}
    assert [states[run] for run in naps] == ["cancelled", "cancelled"]


def test_a_config_of_another_cluster_cannot_take_a_run_over(
    cluster: Cluster, tmp_path: Path
) -> None:
    project = workflows(tmp_path / "proj", WORKFLOWS, **{"quick.py": QUICK, "nap.py": NAP}).parent
    run = submit(project, "quick", str(cluster.site_config))
    # the same login node, but as if another cluster's run folders lived elsewhere: the
    # run's folder there does not hold its job id, so the run keeps its own config
    elsewhere = site_variant(cluster.site_config, tmp_path / "sites",
                             login=login_files(cluster, tmp_path / "k", "localhost"))  # fmt: skip
    record = wait_state(run, {"completed", "failed"})
    moved = f"{record['remote_dir']}.moved"
    cluster.ssh_ok(f"mv {record['remote_dir']} {moved}")
    try:
        refused = hpcrun("logs", run, "--site", elsewhere)
    finally:
        cluster.ssh_ok(f"mv {moved} {record['remote_dir']}")
    assert refused.returncode == 2, refused.stderr
    assert f"does not reach {run}" in refused.stderr
    assert run_of(run)["site_config"] == str(cluster.site_config.resolve())
    assert "hello from quick" in hpcrun("logs", run).stdout  # its own config still works

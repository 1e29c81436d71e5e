"""`hpcrun site check` against the live test cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli import hpcrun
from tests.integration.bare_sshd import bare_sshd
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant


def test_the_test_site_checks_out(cluster: Cluster) -> None:
    result = hpcrun("site", "check", str(cluster.site_config))
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("ok   connect: ssh", "ok   partition default: main", "ok   gpu A100: gres gpu:a100",
                 "python/3.11"):  # fmt: skip
        assert line in result.stdout


def test_a_wrong_site_config_is_caught(cluster: Cluster, tmp_path: Path) -> None:
    site = site_variant(
        cluster.site_config, tmp_path,
        partitions={"default": "gpu"}, gpus={"H100": {"gres": "h100"}},
        modules={"python": {"3.11": "python/3.11", "3.9": "python/3.9"}},
    )  # fmt: skip
    result = hpcrun("site", "check", site)
    assert result.returncode == 1
    assert "FAIL partition default: gpu" in result.stdout
    assert "hint: partitions here: main, preempt, preempt-cancel, short" in result.stdout
    assert "FAIL gpu H100: gres gpu:h100" in result.stdout
    assert "ok   python 3.11: python/3.11: Python 3.11" in result.stdout
    assert "FAIL python 3.9" in result.stdout


def test_site_check_covers_interruptible_work(cluster: Cluster, tmp_path: Path) -> None:
    good = hpcrun("site", "check", str(cluster.site_config))
    assert good.returncode == 0, good.stdout + good.stderr
    # the test cluster's slurm.conf has SlurmctldParameters=preempt_send_user_signal
    assert "ok   preemption warning: SlurmctldParameters has preempt_send_user_signal" in (
        good.stdout
    )
    site = site_variant(
        cluster.site_config, tmp_path,
        interruptible={"partition": "preempt-cancel", "qos": "nosuchqos"},
        defaults={"qos": "normal"},
    )  # fmt: skip
    result = hpcrun("site", "check", site)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ok   partition interruptible: preempt-cancel" in result.stdout
    assert "FAIL qos interruptible.qos: nosuchqos" in result.stdout
    assert "hint: QOS here: normal, sweeplimit; set interruptible.qos to one of them" in (
        result.stdout
    )
    assert "ok   qos defaults.qos: normal" in result.stdout
    missing = site_variant(cluster.site_config, tmp_path, interruptible={"partition": "lowprio"})
    wrong = hpcrun("site", "check", missing)
    assert wrong.returncode == 1
    assert "FAIL partition interruptible: lowprio" in wrong.stdout


def test_render_check_asks_sbatch_without_queueing(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project).mkdir()
    (project / "a.py").write_text("print(1)\n")
    (project / "workflows.yaml").write_text(
        "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    version: '3.11'\n"
        "    resources:\n      gpu: {name: V100, count: 2}\n"
    )
    good = hpcrun("render", "w", "--site", str(cluster.site_config), "--check", cwd=project)
    assert good.returncode == 0, good.stderr
    assert "to start at" in good.stderr and "#SBATCH --gres=gpu:v100:2" in good.stdout
    bad_site = site_variant(cluster.site_config, tmp_path, partitions={"default": "nosuch"})
    bad = hpcrun("render", "w", "--site", bad_site, "--check", cwd=project)
    assert bad.returncode == 1
    assert "sbatch would reject this script" in bad.stderr and "Invalid partition" in bad.stderr
    # --json: the same answers as one object on stdout, the exit codes unchanged
    good_json = hpcrun("render", "w", "--site", str(cluster.site_config), "--check", "--json",
                       cwd=project)  # fmt: skip
    assert good_json.returncode == 0, good_json.stderr
    accepted = json.loads(good_json.stdout)
    assert accepted["accepted"] is True and "to start at" in accepted["message"]
    bad_json = hpcrun("render", "w", "--site", bad_site, "--check", "--json", cwd=project)
    assert bad_json.returncode == 1, bad_json.stderr
    refused = json.loads(bad_json.stdout)
    assert refused["accepted"] is False and "Invalid partition" in refused["message"]
    assert refused["hint"] and refused["workflow"] == "w"
    # --test-only queues nothing: no job of that name was ever accounted
    assert not cluster.ssh_ok("sacct -n -X -P -o JobID --name w-dryrun -S now-1hours").strip()
    assert not cluster.ssh_ok("ls ~/hpcrun/tmp/ 2>/dev/null || true").strip()


def test_site_check_reports_shell_slurm_arrays_and_init(cluster: Cluster, tmp_path: Path) -> None:
    result = hpcrun("site", "check", str(cluster.site_config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   login shell: clean" in result.stdout
    assert re.search(r"^ok   slurm: version \d+\.\d+\.\d+$", result.stdout, re.M), result.stdout
    assert "ok   MaxArraySize: 8 (a sweep is split into arrays of at most 8 tasks)" in (
        result.stdout
    )
    assert "ok   modules.init: /etc/profile.d/lmod.sh exists" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colours
    missing = site_variant(cluster.site_config, tmp_path,
                           modules={"init": "/etc/profile.d/no-such-init.sh"})  # fmt: skip
    bad = hpcrun("site", "check", missing)
    assert bad.returncode == 1
    assert "FAIL modules.init: /etc/profile.d/no-such-init.sh does not exist" in bad.stdout
    assert "hint: fix modules.init, or leave it out" in bad.stdout


def test_site_check_json_lists_every_item(cluster: Cluster) -> None:
    result = hpcrun("site", "check", str(cluster.site_config), "--json")
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert all(set(item) == {"name", "status", "detail", "hint"} for item in items)
    status = {item["name"]: item["status"] for item in items}
    assert [item["name"] for item in items][:5] == [
        "config", "connect", "login shell", "remote_root", "slurm",
    ]  # fmt: skip
    for name in ("MaxArraySize", "partition default", "partition preemptible", "gpu A100",
                 "gpu V100", "nodes main", "modules.init", "python modules"):  # fmt: skip
        assert status[name] == "ok", (name, items)
    assert status["time short"] == "warn"


def test_deep_check_runs_a_job_on_a_compute_node(cluster: Cluster, tmp_path: Path) -> None:
    with_311 = site_variant(cluster.site_config, tmp_path, defaults={"python": "3.11"})
    result = hpcrun("site", "check", with_311, "--deep")
    assert re.search(r"^ok   test job: job \d+ ran on \S+$", result.stdout, re.M), result.stdout
    assert re.search(
        r"^ok   compute python 3\.11: module python/3\.11 on \S+: Python 3\.11", result.stdout, re.M
    ), result.stdout
    assert re.search(r"^(ok  |FAIL) package index: ", result.stdout, re.M), result.stdout
    # the job's files are gone, the job itself ended
    assert not cluster.ssh_ok("ls ~/hpcrun/tmp 2>/dev/null | grep site-check || true").strip()
    # a site whose default Python has no module: the job says so
    default = hpcrun("site", "check", str(cluster.site_config), "--deep")
    assert default.returncode == 1
    assert "FAIL compute python 3.10: module python/3.10 fails on" in default.stdout
    assert "set defaults.python to a version the site has" in default.stdout


def test_deep_check_names_env_build_login_when_the_index_is_unreachable(
    cluster: Cluster, tmp_path: Path
) -> None:
    # the test cluster's user hpcnoisy has a pip index nobody reaches (see test-cluster)
    bare = bare_sshd(cluster)
    site = bare.site(tmp_path, "openssh", user=bare.noisy_user, defaults={"python": "3.11"})
    result = hpcrun("site", "check", site, "--deep", "--json")
    assert result.returncode == 1
    checks = {item["name"]: item for item in json.loads(result.stdout)}
    assert checks["compute python 3.11"]["status"] == "ok"
    index = checks["package index"]
    assert index["status"] == "fail"
    assert "cannot reach http://127.0.0.1:9/simple/" in index["detail"]
    assert "`env_build: login`" in index["hint"] and "login node cannot reach it" in index["hint"]
    built_on_login = bare.site(tmp_path, "openssh", user=bare.noisy_user,
                               defaults={"python": "3.11"}, env_build="login")  # fmt: skip
    again = hpcrun("site", "check", built_on_login, "--deep", "--json")
    index = {item["name"]: item for item in json.loads(again.stdout)}["package index"]
    assert index["status"] == "warn" and "env_build: login builds" in index["detail"]

"""Time limits and per-run scheduler knobs on the real test cluster: --time, --partition,
--account, --qos, --constraint and --sbatch reach Slurm; `site check` and `render --check`
compare time limits with each partition's MaxTime (partition `short`: MaxTime=5 minutes,
below the test site's defaults.time of 10 minutes; see docs/test-cluster.md)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli import hpcrun
from tests.integration.conftest import Cluster, wait_for
from tests.integration.remote import run_of, site_variant, workflows

WORKFLOW = "workflows:\n  - name: w\n    provider: bash\n    commands: [echo knobs]\n"


def scontrol_job(cluster: Cluster, job_id: str) -> dict[str, str]:
    text = cluster.ssh_ok(f"scontrol show job {job_id}")
    return dict(re.findall(r"(\w+)=(\S*)", text))


def test_knobs_reach_slurm(cluster: Cluster, tmp_path: Path) -> None:
    workflows(tmp_path, WORKFLOW)
    result = hpcrun(
        "submit", "w", "--site", str(cluster.site_config), "-d", "--time", "1",
        "--partition", "short", "--account", "testacct", "--qos", "normal",
        "--constraint", "testfeature", "--sbatch=--comment=hpcrun_knobs", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    job_id = run_of(result.stdout.strip())["job_id"]
    job = scontrol_job(cluster, job_id)  # kept MinJobAge=60 s after the (short) job ends
    assert job["TimeLimit"] == "00:01:00"
    assert job["Partition"] == "short"
    assert job["Account"] == "testacct"
    assert job["QOS"] == "normal"
    assert job["Features"] == "testfeature"
    assert job["Comment"] == "hpcrun_knobs"
    # slurmdbd gets the record a moment after sbatch returns
    accounting = f"sacct -n -X -P -j {job_id} -o Timelimit,Partition,QOS"
    wait_for(
        "the job's accounting record",
        lambda: "00:01:00|short|normal" in cluster.ssh_ok(accounting).splitlines(),
        timeout=30,
    )


def test_the_workflow_time_limit_reaches_slurm(cluster: Cluster, tmp_path: Path) -> None:
    workflows(tmp_path, WORKFLOW + "    max_duration: 2h30m\n")
    result = hpcrun("submit", "w", "--site", str(cluster.site_config), "-d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    job = scontrol_job(cluster, run_of(result.stdout.strip())["job_id"])
    assert job["TimeLimit"] == "02:30:00"


def test_site_check_names_the_partitions_that_would_refuse_defaults_time(
    cluster: Cluster, tmp_path: Path
) -> None:
    result = hpcrun("site", "check", str(cluster.site_config))
    assert result.returncode == 0, result.stdout + result.stderr  # `short` is not the site's
    assert (
        "warn time short: MaxTime 00:05:00 is below defaults.time 00:10:00: a run sent there "
        "with --partition short needs --time 00:05:00 or less"
    ) in result.stdout
    assert "MaxTime infinite" in result.stdout  # main and preempt
    uses_short = site_variant(cluster.site_config, tmp_path, partitions={"default": "short"})
    failing = hpcrun("site", "check", uses_short)
    assert failing.returncode == 1
    assert (
        "FAIL time short: defaults.time 00:10:00 is over the MaxTime 00:05:00 of partition "
        "'short', which this site sends jobs to"
    ) in failing.stdout
    assert "hint: set defaults.time to 00:05:00 or less" in failing.stdout
    fits = site_variant(cluster.site_config, tmp_path, defaults={"time": "5m"})
    fine = hpcrun("site", "check", fits)
    assert fine.returncode == 0, fine.stdout
    assert "ok   time: defaults.time 00:05:00 is within every partition's MaxTime" in fine.stdout


def test_render_check_refuses_a_time_beyond_max_time(cluster: Cluster, tmp_path: Path) -> None:
    workflows(tmp_path, WORKFLOW)
    site = str(cluster.site_config)
    too_long = hpcrun("render", "w", "--site", site, "--check", "--partition", "short",
                      "--time", "6", cwd=tmp_path)  # fmt: skip
    assert too_long.returncode == 2, too_long.stderr
    assert "--time 00:06:00 is over the MaxTime 00:05:00 of partition 'short'" in (too_long.stderr)
    assert "PartitionTimeLimit" in too_long.stderr and "Traceback" not in too_long.stderr
    fits = hpcrun("render", "w", "--site", site, "--check", "--partition", "short",
                  "--time", "5", cwd=tmp_path)  # fmt: skip
    assert fits.returncode == 0, fits.stderr
    assert "to start at" in fits.stderr and "#SBATCH --time=00:05:00" in fits.stdout
    # the site's own defaults.time (10 min) sent to `short` by a workflow's block
    workflows(tmp_path, WORKFLOW + "    slurm: {partition: short}\n")
    block = hpcrun("render", "w", "--site", site, "--check", cwd=tmp_path)
    assert block.returncode == 2 and "MaxTime 00:05:00" in block.stderr


def test_submit_warns_about_a_time_beyond_max_time(cluster: Cluster, tmp_path: Path) -> None:
    workflows(tmp_path, WORKFLOW)
    result = hpcrun(
        "submit",
        "w",
        "--site",
        str(cluster.site_config),
        "-d",
        "--partition",
        "short",
        cwd=tmp_path,
    )  # fmt: skip  (the site's defaults.time, 10 minutes, is over short's MaxTime of 5)
    run = result.stdout.strip()
    try:
        assert result.returncode == 0, result.stderr
        assert (
            "warning: this job's --time 00:10:00 is over the MaxTime 00:05:00 of partition 'short'"
        ) in result.stderr
        job_id = run_of(run)["job_id"]
        # Slurm first says PartitionConfig, then its scheduler pass says why
        wait_for(
            "reason PartitionTimeLimit",
            lambda: scontrol_job(cluster, job_id).get("Reason") == "PartitionTimeLimit",
            timeout=30,
        )
        assert scontrol_job(cluster, job_id)["JobState"] == "PENDING"
    finally:
        if run:
            hpcrun("cancel", run)

"""`hpcrun site check` for interruptible work (hpcrun.ops.site_preempt): the interruptible
partition and QOS, and whether the controller warns a preempted job, read from the facts
script's output (scontrol show config captured from the test cluster)."""

from __future__ import annotations

from pathlib import Path

from hpcrun.ops import site_check, site_facts, site_preempt
from hpcrun.ops.site_facts import Section
from hpcrun.site.models import Site

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "slurm-captures"
TOKEN = "HPCRUN-FACT-0123456789ab"  # the one used for site-facts.txt


def site(**changes: object) -> Site:
    values: dict[str, object] = {
        "name": "c", "scheduler": "slurm",
        "login": {"host": "login.example.org", "user": "alice"},
        "partitions": {"default": "main", "preemptible": "preempt"},
    }  # fmt: skip
    values.update(changes)
    return Site.model_validate(values)


def captured() -> dict[str, Section]:
    return site_facts.parse_facts((CAPTURES / "site-facts.txt").read_text(), TOKEN)


def by_name(checks: list[site_check.Check]) -> dict[str, site_check.Check]:
    return {check.name: check for check in checks}


def test_slurmctld_parameters_are_read_from_scontrol_show_config() -> None:
    assert site_preempt.slurmctld_parameters(captured()["config"].output) == {
        "preempt_send_user_signal"
    }
    many = "SlurmctldParameters     = enable_configless,preempt_send_user_signal,idle_on_node_suspend=1\n"
    assert site_preempt.slurmctld_parameters(many) == {
        "enable_configless", "preempt_send_user_signal", "idle_on_node_suspend",
    }  # fmt: skip
    assert site_preempt.slurmctld_parameters("SlurmctldParameters     = (null)\n") == set()
    assert site_preempt.slurmctld_parameters("SlurmctldPort = 6817\n") == set()


def test_with_preempt_send_user_signal_the_warning_comes_from_slurm() -> None:
    found = by_name(site_preempt.checks(captured(), site(), {"main", "preempt"}))
    warning = found["preemption warning"]
    assert warning.ok and not warning.warning
    assert "has preempt_send_user_signal" in warning.detail and "SIGUSR1" in warning.detail


def test_without_it_the_job_script_watches_for_preemption() -> None:
    config = Section(0, "SlurmctldParameters     = enable_configless\nMaxArraySize = 1001\n")
    signal = site(interruptible={"signal": "USR2"})
    found = by_name(site_preempt.checks({"config": config}, signal, {"main", "preempt"}))
    warning = found["preemption warning"]
    assert warning.ok and not warning.warning  # an info line, never a failure
    assert "lacks preempt_send_user_signal" in warning.detail
    assert "job script watches" in warning.detail and "SIGUSR2" in warning.detail
    unknown = by_name(site_preempt.checks({"config": Section(1, "denied")}, signal, set()))
    assert unknown["preemption warning"].warning and unknown["preemption warning"].ok
    # a site without interruptible work is not told about preemption
    plain = site(partitions={"default": "main"})
    assert site_preempt.checks({"config": config}, plain, {"main"}) == []


def test_the_interruptible_partition_is_the_one_runs_use() -> None:
    chosen = site(interruptible={"partition": "lowprio"})
    assert chosen.interruptible_partition() == "lowprio"
    assert site().interruptible_partition() == "preempt"
    missing = by_name(site_preempt.checks(captured(), chosen, {"main", "preempt"}))
    assert not missing["partition interruptible"].ok
    assert missing["partition interruptible"].detail == "lowprio"
    assert missing["partition interruptible"].hint == "partitions here: main, preempt"
    there = by_name(site_preempt.checks(captured(), chosen, {"main", "lowprio"}))
    assert there["partition interruptible"].ok
    # without interruptible.partition, `partition preemptible` is what runs use
    assert "partition interruptible" not in by_name(
        site_preempt.checks(captured(), site(), {"main", "preempt"})
    )


def test_the_full_slurm_checks_include_the_interruptible_ones() -> None:
    chosen = site(interruptible={"partition": "nosuch"})
    found = by_name(site_check._slurm_checks(captured(), chosen))
    assert not found["partition interruptible"].ok
    assert found["partition interruptible"].hint == "partitions here: main, preempt, short"
    assert found["preemption warning"].ok


def test_each_qos_the_site_names_must_exist() -> None:
    both = site(interruptible={"qos": "scavenger"}, defaults={"qos": "normal"})
    assert site_preempt.wanted_qos(both) == {
        "interruptible.qos": "scavenger", "defaults.qos": "normal",
    }  # fmt: skip
    listing = Section(0, "normal\nsweeplimit\n")
    found = by_name(site_preempt.checks({"qos": listing}, both, {"main", "preempt"}))
    assert not found["qos interruptible.qos"].ok
    assert found["qos interruptible.qos"].detail == "scavenger"
    assert "QOS here: normal, sweeplimit" in (found["qos interruptible.qos"].hint or "")
    assert found["qos defaults.qos"].ok and found["qos defaults.qos"].detail == "normal"
    assert site_preempt.wanted_qos(site()) == {}
    assert "sacctmgr" not in site_facts.facts_script(site(), "~/hpcrun", TOKEN)  # none named
    assert site_preempt.QOS_COMMAND in site_facts.facts_script(both, "~/hpcrun", TOKEN)


def test_sacctmgr_that_cannot_answer_is_a_warning_not_a_failure() -> None:
    named = site(interruptible={"qos": "scavenger"})
    for section in (
        Section(1, "sacctmgr: error: Problem talking to the database: Connection refused\n"),
        Section(127, "bash: sacctmgr: command not found\n"),
        Section(0, ""),  # accounting shows nothing to this user
        None,
    ):
        facts = {"qos": section} if section is not None else {}
        qos = by_name(site_preempt.checks(facts, named, {"main"}))["qos interruptible.qos"]
        assert qos.ok and qos.warning, section
        assert qos.detail.startswith("scavenger: not checked (sacctmgr: "), qos.detail
    denied = {"qos": Section(1, "sacctmgr: error: Access/permission denied\n")}
    detail = by_name(site_preempt.checks(denied, named, {"main"}))["qos interruptible.qos"].detail
    assert "Access/permission denied" in detail  # says why it could not check

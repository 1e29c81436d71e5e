"""Per-run scheduler knobs: the time limit, the `slurm:` extension block of a workflow, the
command-line flags over it, and the pass-through --sbatch directives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpcrun.errors import SpecError, UsageError
from hpcrun.schedulers.slurm_directives import OWNED, directive_problem, merge
from hpcrun.site.load import load_site
from hpcrun.site.models import Site
from hpcrun.site.resolve import resolve
from hpcrun.spec.load import load_workflows
from hpcrun.spec.models import BashWorkflow
from hpcrun.spec.overrides import Overrides, apply_overrides
from tests.conftest import DATA, write


@pytest.fixture(scope="module")
def site() -> Site:
    # partitions.default batch, defaults {time 02:00:00, account proj42, qos normal},
    # sbatch ["--constraint=ib"], V100 in partition gpu-v100
    return load_site(str(DATA / "sites" / "gpu-cluster.yaml"))[0]


def workflow(**fields: Any) -> BashWorkflow:
    return BashWorkflow.model_validate(
        {"name": "w", "provider": "bash", "commands": ["true"], **fields}
    )


def plan(site: Site, overrides: Overrides | None = None, **fields: Any) -> Any:
    flow = apply_overrides(workflow(**fields), overrides or Overrides())
    return resolve(flow, site, run="w-1")


# ------------------------------------------------------------------ --sbatch validation


@pytest.mark.parametrize(
    "directive",
    ["--mail-type=END,FAIL", "--mail-user=alice@example.org", "--exclusive", "--nice=10",
     "--exclude=node[01-03]", "--signal=B:USR1@60", "--begin=now+1hour", "--licenses=fs:2",
     "--comment=run_42"],
)  # fmt: skip
def test_plain_directives_pass(directive: str) -> None:
    assert directive_problem(directive) is None


@pytest.mark.parametrize(
    ("directive", "message"),
    [
        ("--mail-type END", "not a single --flag[=value]"),
        ("mail-type=END", "not a single --flag[=value]"),
        ("--mail-type=END\n--gres=gpu:8", "has characters"),
        ("--Mail-Type=END", "not a single --flag[=value]"),
        ("--mail;type=END", "not a single --flag[=value]"),
        ("--comment=$(id)", "has characters"),
        ("--comment=a b", "has characters"),
        ("--comment='x'", "has characters"),
        ("--comment=`id`", "has characters"),
        ("--comment=a|b", "has characters"),
        ("--comment=", "has characters"),
        ("-p", "short option"),
        ("-J=x", "short option"),
        ("", "not a single --flag[=value]"),
    ],
)
def test_unsafe_directives_are_refused(directive: str, message: str) -> None:
    problem = directive_problem(directive)
    assert problem is not None and message in problem[0]


@pytest.mark.parametrize(
    "flag",
    ["--gres", "--output", "--error", "--job-name", "--time", "--mem", "--cpus-per-task",
     "--partition", "--account", "--qos", "--requeue", "--open-mode", "--array", "--chdir",
     "--export", "--wrap", "--dependency", "--constraint"],
)  # fmt: skip
def test_directives_hpcrun_owns_name_the_option_to_use(flag: str) -> None:
    problem = directive_problem(f"{flag}=x")
    assert problem is not None
    message, hint = problem
    assert f"'{flag}' is set by hpcrun" in message
    assert hint.startswith(f"hpcrun writes {flag} itself; ")
    assert OWNED[flag] in hint


def test_hints_name_the_hpcrun_option() -> None:
    assert "--gpu" in directive_problem("--gres=gpu:2")[1]  # type: ignore[index]
    assert "--time" in directive_problem("--time=5")[1]  # type: ignore[index]
    assert "--partition" in directive_problem("--partition=x")[1]  # type: ignore[index]


def test_merge_a_later_flag_replaces_an_earlier_one() -> None:
    assert merge(["--mail-type=END", "--exclusive"], ["--mail-type=FAIL"]) == (
        "--exclusive",
        "--mail-type=FAIL",
    )
    assert merge(["-C ib"], ["--nice=5"]) == ("-C ib", "--nice=5")


# ------------------------------------------------------------------ workflow fields


def test_workflow_errors_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path / "workflows.yaml",
        """workflows:
  - name: w
    provider: bash
    commands: [true]
    max_duration: 2 hours
    slurm:
      partition: "a b"
      qos: normal
      sbatch:
        - --mail-type=END
        - --output=x.log
      queue: fast
""",
    )
    with pytest.raises(SpecError) as caught:
        load_workflows(path).get("w")
    found = {(p.location.line, p.field): (p.message, p.hint) for p in caught.value.problems}
    assert "'2 hours' is not a time limit" in found[(5, "workflows[w].max_duration")][0]
    assert "not a valid Slurm name" in found[(7, "workflows[w].slurm.partition")][0]
    message, hint = found[(11, "workflows[w].slurm.sbatch[1]")]
    assert "'--output' is set by hpcrun" in message and "hpcrun logs RUN" in hint
    assert "unknown key 'queue'" in found[(12, "workflows[w].slurm.queue")][0]


def test_a_bare_number_in_yaml_is_minutes(site: Site) -> None:
    assert plan(site, max_duration=90).time == "01:30:00"
    assert workflow(max_duration=90).max_duration == "90"


@pytest.mark.parametrize("bad", ["0", "-1", "forever", "1h30", "1:99"])
def test_bad_max_duration(bad: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="time limit"):
        workflow(max_duration=bad)


def test_constraint_allows_feature_expressions_but_no_spaces() -> None:
    from pydantic import ValidationError

    assert workflow(slurm={"constraint": "[rack1|rack2]&ib"}).slurm.constraint  # type: ignore[union-attr]
    for bad in ("a b", "a;b", "$(x)", "a\n"):
        with pytest.raises(ValidationError, match="not a valid Slurm constraint"):
            workflow(slurm={"constraint": bad})


# ------------------------------------------------------------------ precedence


def test_site_values_are_the_defaults(site: Site) -> None:
    result = plan(site)
    assert (result.time, result.partition, result.account, result.qos) == (
        "02:00:00", "batch", "proj42", "normal",
    )  # fmt: skip
    assert result.constraint is None
    assert result.extra_directives == ("--constraint=ib",)


def test_the_workflow_block_overrides_the_site(site: Site) -> None:
    result = plan(
        site,
        max_duration="1d",
        slurm={"partition": "long", "account": "other", "qos": "high", "constraint": "skylake",
               "sbatch": ["--mail-type=END"]},
    )  # fmt: skip
    assert (result.time, result.partition, result.account, result.qos) == (
        "1-00:00:00", "long", "other", "high",
    )  # fmt: skip
    assert result.constraint == "skylake"
    assert result.extra_directives == ("--mail-type=END",)  # the site's --constraint is replaced


def test_flags_override_the_workflow_block(site: Site) -> None:
    flags = Overrides(time="45", partition="debug", qos="low", sbatch=("--mail-type=FAIL",))
    result = plan(
        site, flags, max_duration="1d",
        slurm={"partition": "long", "account": "other", "sbatch": ["--mail-type=END", "--nice=5"]},
    )  # fmt: skip
    assert (result.time, result.partition, result.account, result.qos) == (
        "00:45:00", "debug", "other", "low",
    )  # fmt: skip
    assert result.extra_directives == ("--constraint=ib", "--nice=5", "--mail-type=FAIL")


def test_an_asked_partition_wins_over_the_gpu_type_and_says_so(site: Site) -> None:
    result = plan(site, Overrides(partition="gpu-big"), resources={"gpu": {"name": "V100"}})
    assert result.partition == "gpu-big"
    assert any("'gpu-big' (asked for) instead of 'gpu-v100'" in note for note in result.notes)


def test_bad_flags_name_the_flag_and_carry_the_fix(site: Site) -> None:
    with pytest.raises(UsageError) as caught:
        plan(site, Overrides(time="0", sbatch=("--gres=gpu:8",)))
    assert "--time: '0' is not a time limit greater than zero" in caught.value.message
    assert "--sbatch: '--gres' is set by hpcrun" in caught.value.message
    assert "use --gpu/--gpu-name" in (caught.value.hint or "")
    with pytest.raises(UsageError, match="--partition: 'a;b' is not a valid Slurm name"):
        plan(site, Overrides(partition="a;b"))


def test_the_local_site_warns_that_knobs_do_nothing() -> None:
    local = load_site("local")[0]
    result = resolve(workflow(max_duration="1h", slurm={"qos": "x"}), local, run="w-1")
    assert any("no scheduler" in warning for warning in result.warnings)
    assert not any("no scheduler" in w for w in resolve(workflow(), local, run="r").warnings)


def test_the_sites_defaults_time_takes_the_same_forms() -> None:
    from pydantic import ValidationError

    def site_with(time: str) -> Site:
        return Site.model_validate({"name": "s", "scheduler": "slurm", "defaults": {"time": time}})

    assert resolve(workflow(), site_with("90m"), run="r").time == "01:30:00"
    assert resolve(workflow(), site_with("2-0"), run="r").time == "2-00:00:00"
    for bad in ("0", "1 hour", "01:00:00\n"):
        with pytest.raises(ValidationError, match="time limit"):
            site_with(bad)

"""`hpcrun site check`'s remote scripts and their parsers (hpcrun.ops.site_facts,
site_deep), on output captured from the test cluster (tests/data/slurm-captures)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from hpcrun.ops import site_check, site_deep, site_facts
from hpcrun.site.models import Site
from tests.cli import hpcrun

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "slurm-captures"
TOKEN = "HPCRUN-FACT-0123456789ab"  # the one used for site-facts.txt


def site(**changes: object) -> Site:
    values: dict[str, object] = {
        "name": "c", "scheduler": "slurm",
        "login": {"host": "login.example.org", "user": "alice"},
        "modules": {"init": "/etc/profile.d/lmod.sh", "python": {"3.11": "python/3.11"}},
        "partitions": {"default": "main"},
        "defaults": {"time": "00:10:00", "account": "proj1"},
    }  # fmt: skip
    values.update(changes)
    return Site.model_validate(values)


def test_the_captured_facts_split_into_their_sections() -> None:
    facts = site_facts.parse_facts((CAPTURES / "site-facts.txt").read_text(), TOKEN)
    assert list(facts) == ["remote_root", "version", "config", "partitions", "nodes", "init",
                           "python 3.11", "python 3.9"]  # fmt: skip
    assert facts["remote_root"] == site_facts.Section(0, "")
    assert facts["version"] == site_facts.Section(0, "slurm-wlm 22.05.8\n")
    assert site_facts.slurm_version(facts["version"].output) == "22.05.8"
    assert facts["python 3.11"].ok and facts["python 3.11"].output.endswith("Python 3.11.2\n")
    assert not facts["python 3.9"].ok and '"python/3.9"' in facts["python 3.9"].output
    partitions, gres = site_facts.gres_types(facts["partitions"].output)
    assert partitions == {"main", "preempt", "short"} and gres == {"a100", "v100"}


def test_facts_become_checks() -> None:
    facts = site_facts.parse_facts((CAPTURES / "site-facts.txt").read_text(), TOKEN)
    checks = {c.name: c for c in site_check._slurm_checks(facts, site())}
    assert checks["slurm"].detail == "version 22.05.8"
    assert checks["MaxArraySize"].ok and checks["MaxArraySize"].detail.startswith("8 ")
    assert checks["partition default"].ok and checks["nodes main"].ok
    modules = {c.name: c for c in site_check._module_checks(facts, site())}
    assert modules["modules.init"].ok and modules["python 3.11"].ok


def test_a_section_cut_short_or_missing_is_a_failure_not_a_crash() -> None:
    text = f"{TOKEN} begin version\nslurm 23.11.4\n{TOKEN} end version 0\n{TOKEN} begin nodes\npart"
    facts = site_facts.parse_facts(text, TOKEN)
    assert facts["version"] == site_facts.Section(0, "slurm 23.11.4")
    assert facts["nodes"].status == -1 and not facts["nodes"].ok
    checks = {c.name: c for c in site_check._slurm_checks(facts, site())}
    assert checks["slurm"].detail == "version 23.11.4"
    assert checks["MaxArraySize"].warning and "unknown" in checks["MaxArraySize"].detail
    assert not checks["sinfo"].ok
    assert site_facts.slurm_version("sbatch: command not found") is None


def test_gres_types_with_sockets_and_none() -> None:
    text = "gpu|gpu:a100:4(S:0-1),gpu:h100:8(S:0,1)\ncpu|(null)\nbroken line\n"
    assert site_facts.gres_types(text) == ({"gpu", "cpu"}, {"a100", "h100"})


def test_the_facts_script_runs_in_a_real_shell(tmp_path: Path) -> None:
    local = Site.model_validate({"name": "l", "scheduler": "local",
                                 "modules": {"init": str(tmp_path / "missing.sh")}})  # fmt: skip
    script = site_facts.facts_script(local, str(tmp_path / "root dir"), TOKEN)
    shown = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    facts = site_facts.parse_facts(shown.stdout, TOKEN)
    assert facts["remote_root"].ok and (tmp_path / "root dir").is_dir()
    assert not facts["init"].ok
    assert [c.ok for c in site_check._module_checks(facts, local)] == [False]


def test_the_deep_command_is_valid_shell_and_names_the_options() -> None:
    command = site_deep.deep_command(site(), "/home/alice/hpcrun", 120)
    assert subprocess.run(["bash", "-n"], input=command, text=True, check=False).returncode == 0
    assert "--partition=main" in command and "--account=proj1" in command
    assert "module load python/3.11" in command and "--wait" in command
    assert "scancel --name=hpcrun-site-check-" in command


def test_the_captured_deep_output_parses() -> None:
    found = site_deep.parse_deep((CAPTURES / "site-check-deep.txt").read_text())
    assert found.job.isdigit() and found.sbatch_status == 0 and not found.timed_out
    assert found.python == (True, "Python 3.11.2")
    assert found.index == (True, "https://pypi.org/simple/", "")
    assert found.login_index == (True, "https://pypi.org/simple/", "")


def deep(index: str, login: str) -> site_deep.DeepResult:
    return site_deep.parse_deep(f"login-index={login}\nsbatch=0\njob=7\nnode=n1\n"
                                f"python=ok Python 3.11.2\nindex={index}\n")  # fmt: skip


@pytest.mark.parametrize(
    ("login", "env_build", "status", "words"),
    [
        ("ok https://pypi.org/simple/", "job", "fail", "set `env_build: login` in the site"),
        ("fail https://pypi.org/simple/ [Errno 101] Network is unreachable", "job", "fail",
         "login node cannot reach it either ([Errno 101] Network is unreachable)"),
        ("ok https://pypi.org/simple/", "login", "warn", None),
    ],
)  # fmt: skip
def test_an_unreachable_index_suggests_env_build_login(
    login: str, env_build: str, status: str, words: str | None
) -> None:
    found = deep("fail https://pypi.org/simple/ timed out", login)
    check = site_check._index_check(found, "n1", SimpleNamespace(env_build=env_build))
    assert check.detail.startswith("n1 cannot reach https://pypi.org/simple/ (timed out)")
    assert ("warn" if check.warning else "ok" if check.ok else "fail") == status
    assert (words in (check.hint or "")) if words else check.hint is None


def test_the_python_a_deep_check_loads() -> None:
    assert site_deep.python_module(site()) == ("3.11", "python/3.11")  # the only one
    templated = site(modules={"python": "python/{version}"}, defaults={"python": "3.12"})
    assert site_deep.python_module(templated) == ("3.12", "python/3.12")
    assert site_deep.python_module(site(modules={})) == ("3.10", None)


def test_site_is_optional_in_the_help() -> None:
    shown = hpcrun("site", "check", "--help")
    assert "Usage: hpcrun site check [OPTIONS] [SITE]" in shown.stdout
    assert "$HPCRUN_SITE" in shown.stdout and "--deep" in shown.stdout

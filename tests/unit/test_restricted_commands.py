"""restricted_commands: the single commands hpcrun builds for a restricted key, the test
wrapper's verdicts on them, and the status read from .attempts instead of sacct."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from hpcrun.errors import SpecError, UsageError
from hpcrun.ops import restricted
from hpcrun.ops.backends.slurm_array_restricted import _one_word
from hpcrun.ops.backends.slurm_array_restricted import sbatch_argv as array_sbatch_argv
from hpcrun.schedulers import slurm, slurm_arrays, slurm_restarts
from hpcrun.schedulers.status import JobStatus
from hpcrun.site.load import load_site
from hpcrun.sweep.chunks import Chunk
from hpcrun.sweep.points import Point
from hpcrun.transport.restricted import (
    NotAvailableRestricted,
    parse_environ,
    restricted_argv,
    tail_bytes,
    tail_lines,
)
from tests.conftest import write

REPO = Path(__file__).resolve().parents[2]
# the test cluster's allow-list (scripts/test-cluster, setup_restricted_user)
ALLOW = [["mkdir", "-p"], ["rsync", "--server"], ["cat"], ["sbatch"], ["squeue"], ["scancel"]]
RUN_DIR = "/home/auto/hpcrun/runs/train-abcd"
CHUNK_DIR = "/home/auto/hpcrun/sweeps/grid-ab12/chunks/0123456789ab"
CHUNK = Chunk("grid-ab12", "0123456789ab", (Point("p1", (("x", "1"),)),) * 3)
HOSTILE = [
    "x;id", "x && id", "$(id)", "`id`", "a|b", "a>b", "a<b", "a b", "x\nid", "x'y", 'x"y',
    "x\\y", "~root", "*", "a?", "{a,b}", "!x", "#x", "x\ty", "\u00e9",
]  # fmt: skip


def wrapper() -> ModuleType:
    path = REPO / "scripts" / "restricted-wrapper"
    loader = importlib.machinery.SourceFileLoader("restricted_wrapper", str(path))
    spec = importlib.util.spec_from_loader("restricted_wrapper", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_wrapper_allows_single_allow_listed_commands() -> None:
    check = wrapper().verdict
    assert check("squeue --noheader --jobs=12", ALLOW) is None
    assert check("mkdir -p a/b", ALLOW) is None
    assert check("mkdir a", ALLOW) == "not in the allow-list"  # only "mkdir -p"
    assert check("sacct -X", ALLOW) == "not in the allow-list"
    assert check("rsync -av . /", ALLOW) == "not in the allow-list"
    assert check("", ALLOW) is not None
    for word in ["x;id", "$(id)", "a|b", "a>b", "`id`", "x\nid", "'q'", "a&b", "a*"]:
        assert check(f"cat {word}", ALLOW) is not None, word


@pytest.mark.parametrize("argv", [
    restricted.make_run_dir_argv(RUN_DIR),
    restricted.sbatch_argv(RUN_DIR, ["--dependency=afterok:12:13"]),
    slurm.squeue_argv(["12", "13_4"]),
    slurm.squeue_by_name_argv(["train-abcd", "x.y_z-1"]),
    slurm_restarts.restarts_argv(["12"]),
    slurm.scancel_argv(["12"]),
    ["cat", f"{RUN_DIR}/.attempts"],
    slurm_arrays.squeue_arrays_argv(["12", "13"]),
    array_sbatch_argv(CHUNK_DIR, [_one_word(o) for o in CHUNK.sbatch_options(2)]),
])  # fmt: skip
def test_every_command_hpcrun_sends_passes_the_wrapper(argv: list[str]) -> None:
    words = restricted_argv(argv)
    assert wrapper().verdict(" ".join(words), ALLOW) is None
    assert " ".join(words).split() == words  # split on white space gives them back


def test_squeue_loses_its_env_prefix_and_pipes() -> None:
    words = restricted_argv(slurm.squeue_argv(["12"]))
    assert words[0] == "squeue"
    assert not any("|" in word for word in words)
    assert "--format=%i@%T@%S@%e@%r" in words


def test_sbatch_runs_in_the_run_folder() -> None:
    argv = restricted.sbatch_argv(RUN_DIR)
    assert argv == [
        "sbatch", "--parsable", f"--chdir={RUN_DIR}",
        f"--export=ALL,HPCRUN_RUN_DIR={RUN_DIR}", f"{RUN_DIR}/job.sh",
    ]  # fmt: skip
    with pytest.raises(NotAvailableRestricted, match="comma"):
        restricted.sbatch_argv("/home/a,b/runs/x")


def test_run_folder_is_one_mkdir() -> None:
    argv = restricted.make_run_dir_argv(RUN_DIR)
    assert argv[:4] == ["mkdir", "-p", "-m", "700"]
    assert f"{RUN_DIR}/checkpoint" in argv


@pytest.mark.parametrize("word", HOSTILE)
def test_hostile_names_cannot_inject(word: str) -> None:
    with pytest.raises(NotAvailableRestricted) as caught:
        restricted.make_run_dir_argv(f"/home/a/hpcrun/runs/{word}")
    assert isinstance(caught.value, UsageError)
    with pytest.raises(NotAvailableRestricted):
        restricted.sbatch_argv(f"/home/a/hpcrun/runs/{word}")
    with pytest.raises((NotAvailableRestricted, ValueError)):
        restricted_argv(slurm.squeue_by_name_argv([word]))


@pytest.mark.parametrize("argv", [["rm", "-rf", "x"], ["bash", "-c", "id"], ["sacct", "-X"],
                                  ["env", "A=1", "sh"], ["test", "-d", "x"], []])  # fmt: skip
def test_other_programs_are_refused_before_sending(argv: list[str]) -> None:
    with pytest.raises(NotAvailableRestricted, match="not available with restricted_commands"):
        restricted_argv(argv)


def test_home_and_tail_helpers() -> None:
    assert parse_environ(b"PATH=/bin\0HOME=/home/auto\0X=a=b\0")["HOME"] == "/home/auto"
    assert parse_environ(b"X=a=b\0")["X"] == "a=b"
    assert tail_bytes(b"abcdef", 2) == b"ef" and tail_bytes(b"abc", 0) == b""
    assert tail_lines(b"1\n2\n3\n", 2) == b"2\n3\n"


ATTEMPTS = "1\tstarted\t2026-01-01T00:00:00Z\t42\n"


def queued(state: str, raw: str, final: bool) -> JobStatus:
    return JobStatus("42", state, raw, final)


def test_status_from_squeue_and_attempts() -> None:
    running = queued("running", "RUNNING", False)
    assert restricted.ended_status("42", ATTEMPTS, running) is running
    ended = ATTEMPTS + "1\tended\tfailed\t3\t2026-01-01T00:01:00Z\n"
    failed = restricted.ended_status("42", ended, queued("failed", "FAILED", True))
    assert (failed.state, failed.final, failed.exit_code) == ("failed", True, 3)
    done = restricted.ended_status("42", "", queued("completed", "COMPLETED", True))
    assert (done.state, done.exit_code) == ("completed", 0)
    # squeue has forgotten it: the script's record decides
    gone = restricted.ended_status("42", ended, None)
    assert (gone.state, gone.final, gone.exit_code) == ("failed", True, 3)
    ok = ATTEMPTS + "1\tended\tcompleted\t0\t2026-01-01T00:01:00Z\n"
    assert restricted.ended_status("42", ok, None).state == "completed"
    limit = ATTEMPTS + "1\tended\ttime limit\t143\t2026-01-01T00:01:00Z\n"
    assert restricted.ended_status("42", limit, None).state == "timeout"


def test_no_record_and_no_queue_stays_open() -> None:
    for attempts in ("", ATTEMPTS):
        status = restricted.ended_status("42", attempts, None)
        assert (status.state, status.final) == ("unknown", False)
        assert "sacct" in (status.reason or "")


def test_recorded_job_id() -> None:
    assert restricted.recorded_job_id(ATTEMPTS + "2\tstarted\tT\t42\n") == "42"
    assert restricted.recorded_job_id("") is None
    assert restricted.recorded_job_id("garbage\n") is None


SITE = """name: auto
scheduler: slurm
login: {host: login.example.org, user: auto}
restricted_commands: true
"""


def test_site_option(tmp_path: Path) -> None:
    site, _ = load_site(str(write(tmp_path / "auto.yaml", SITE)))
    assert site.restricted_commands is True
    with pytest.raises(SpecError) as login_build:
        load_site(str(write(tmp_path / "b.yaml", SITE + "env_build: login\n")))
    assert "env_build: job" in login_build.value.render()
    with pytest.raises(SpecError) as local:
        load_site(str(write(tmp_path / "c.yaml", "name: c\nscheduler: local\n"
                                                 "restricted_commands: true\n")))  # fmt: skip
    assert "for a Slurm site" in local.value.render()


def test_squeue_times_become_utc() -> None:
    from datetime import timedelta, timezone

    status = JobStatus("42", "running", "RUNNING", False, started_at="2026-01-01T10:00:00",
                       ended_at="2026-01-01T11:00:00Z")  # fmt: skip
    plus_two = timezone(timedelta(hours=2))
    converted = restricted.utc_times(status, plus_two)
    assert (converted.started_at, converted.ended_at) == (
        "2026-01-01T08:00:00Z",
        "2026-01-01T11:00:00Z",
    )
    assert restricted.utc_times(status, None).started_at is None  # never guessed


def test_a_sweep_chunk_is_submitted_from_its_folder() -> None:
    argv = array_sbatch_argv(CHUNK_DIR, ["--array=0-2%2", "--job-name=n"])
    assert argv == [
        "sbatch", "--parsable", f"--chdir={CHUNK_DIR}",
        f"--export=ALL,HPCRUN_CHUNK_DIR={CHUNK_DIR}", "--array=0-2%2", "--job-name=n",
        f"{CHUNK_DIR}/sweep.sbatch",
    ]  # fmt: skip
    assert _one_word("--comment=hpcrun sweep=x chunk=y") == "--comment=hpcrun,sweep=x,chunk=y"
    with pytest.raises(NotAvailableRestricted, match="comma"):
        array_sbatch_argv("/home/a,b/sweeps/x/chunks/y", [])


def test_max_array_size_option(tmp_path: Path) -> None:
    site, _ = load_site(str(write(tmp_path / "auto.yaml", SITE + "max_array_size: 300\n")))
    assert site.max_array_size == 300
    with pytest.raises(SpecError) as zero:
        load_site(str(write(tmp_path / "z.yaml", SITE + "max_array_size: 0\n")))
    assert "max_array_size" in zero.value.render()

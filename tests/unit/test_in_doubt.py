"""Interrupted submissions (issue 8, defect 2), connections keyed by login (defect 5),
the run-folder check before removing an abandoned upload, and the reconnect policy
(defect 4). The by-name parsers run over real captures (tests/data/slurm/byname_*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcrun.errors import EXIT_CONNECTION_LOST, ConnectionLostError, UsageError
from hpcrun.ops.backends import SubmissionTrace
from hpcrun.ops.cleanup import run_dir_to_remove
from hpcrun.ops.in_doubt import NEVER_QUEUED, decide
from hpcrun.ops.reconnect import RECONNECT_ENV, Reconnecting, reconnect_timeout
from hpcrun.ops.session import Session
from hpcrun.plan import job_name_for
from hpcrun.schedulers import slurm
from hpcrun.transport.base import TransportError
from tests.conftest import write

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "slurm"


def capture(name: str) -> str:
    return (CAPTURES / name).read_text()


# ------------------------------------------------------------ by-name builders and parsers


def test_by_name_queries_ask_for_exactly_the_names() -> None:
    argv = slurm.squeue_by_name_argv(["b-2", "a-1"])
    assert argv[0] == "squeue" and "--states=all" in argv and argv[-1] == "--name=a-1,b-2"
    argv = slurm.sacct_by_name_argv(["a-1"], 61)
    assert "-X" in argv and "--starttime=now-2minutes" in argv and argv[-1] == "--name=a-1"


@pytest.mark.parametrize("names", [[], ["a,b"], ["a b"], ["x\n"], ["a" * 129], ["$(id)"]])
def test_by_name_queries_refuse_what_is_not_one_job_name(names: list[str]) -> None:
    with pytest.raises(ValueError):
        slurm.squeue_by_name_argv(names)
    with pytest.raises(ValueError):
        slurm.sacct_by_name_argv(names, 60)


def test_parse_jobs_by_name_on_real_squeue_and_sacct_output() -> None:
    live = slurm.parse_jobs_by_name(capture("byname_live.squeue.stdout"))
    assert live == {"byname-twice": ["1", "2"], "byname-once": ["3"]}
    done = slurm.parse_jobs_by_name(capture("byname_finished.sacct.stdout"))
    assert done == {"byname-twice": ["1", "2"], "byname-once": ["3"]}
    assert slurm.parse_jobs_by_name(capture("byname_none.squeue.stdout")) == {}
    assert slurm.parse_jobs_by_name(capture("byname_none.sacct.stdout")) == {}


def test_parse_jobs_by_name_folds_array_tasks_and_skips_steps() -> None:  # hand-written
    text = "12_1|RUNNING|n\n12_2|PENDING|n\n12.batch|RUNNING|n\n9|COMPLETED|m\n"
    assert slurm.parse_jobs_by_name(text) == {"n": ["12"], "m": ["9"]}


def test_job_name_is_the_one_every_job_is_submitted_with() -> None:
    from hpcrun.site.models import Site
    from hpcrun.site.resolve import resolve
    from hpcrun.spec.models import BashWorkflow

    workflow = BashWorkflow(name="train", provider="bash", commands=["true"])
    site = Site(name="s", scheduler="slurm")
    plan = resolve(workflow, site, run="train-7f3k", submit_env={})
    assert plan.job_name == job_name_for("train-7f3k") == "train-7f3k"
    assert job_name_for("a b/c") == "a_b_c"


# ------------------------------------------------------------ deciding about a run in doubt

NOTHING = SubmissionTrace(None, False)


@pytest.mark.parametrize(
    ("trace", "named", "age", "asked", "action", "job"),
    [
        (SubmissionTrace("41", False), None, 0, False, "adopt", "41"),  # .jobid recorded
        (SubmissionTrace(None, True), None, 9999, True, "wait", None),  # sbatch in flight
        (NOTHING, "42", 0, True, "adopt", "42"),  # Slurm has a job of that name
        (NOTHING, None, 9999, False, "wait", None),  # Slurm did not answer
        (NOTHING, None, 10, True, "wait", None),  # within the grace period
        (NOTHING, None, 301, True, "close", None),  # confirmed, and grace is over
    ],
)
def test_a_run_is_closed_only_when_slurm_confirms_nothing_was_queued(
    trace: SubmissionTrace, named: str | None, age: float, asked: bool, action: str, job: str
) -> None:
    decision = decide(trace, named, age, 300, asked)
    assert (decision.action, decision.job_id) == (action, job)
    if action == "wait":
        assert decision.reason.startswith("in doubt: ")
        assert decision.reason.endswith("hpcrun will adopt it if Slurm queues it")
    if action == "close":
        assert decision.reason == NEVER_QUEUED


# ------------------------------------------------------------ abandoned uploads


@pytest.mark.parametrize(
    ("root", "run", "run_dir", "ok"),
    [
        ("/home/u/hpcrun", "x-1a2b", "/home/u/hpcrun/runs/x-1a2b", True),
        ("/home/u/hpcrun/", "x-1a2b", "/home/u/hpcrun/runs/x-1a2b", True),
        ("/home/u/hpcrun", "x-1a2b", "/home/u/hpcrun/runs/other", False),
        ("/home/u/hpcrun", "..", "/home/u/hpcrun", False),
        ("/home/u/hpcrun", "../x", "/home/u/x", False),
        ("/home/u/hpcrun", "x-1a2b", "/home/u/hpcrun/runs/x-1a2b/..", False),
        ("/", "x", "/runs/x", False),
        ("~", "x", "~/runs/x", False),
        ("hpcrun", "x", "hpcrun/runs/x", False),
    ],
)
def test_only_a_run_folder_under_runs_is_ever_removed(
    root: str, run: str, run_dir: str, ok: bool
) -> None:
    assert (run_dir_to_remove(root, run, run_dir) == run_dir) is ok


# ------------------------------------------------------------ connections keyed by login


def test_same_name_different_logins_get_different_transports(tmp_path: Path) -> None:
    local = write(tmp_path / "a.yaml", "name: twin\nscheduler: local\n")
    remote = write(
        tmp_path / "b.yaml",
        "name: twin\nscheduler: slurm\nlogin: {host: 127.0.0.1, port: 2222, user: u}\n",
    )
    other_port = write(
        tmp_path / "c.yaml",
        "name: twin\nscheduler: slurm\nlogin: {host: 127.0.0.1, port: 2223, user: u}\n",
    )
    same_login = write(
        tmp_path / "d.yaml",
        "name: other\nscheduler: slurm\nlogin: {host: 127.0.0.1, port: 2222, user: u}\n",
    )
    with Session() as session:
        got = [session.transport(session.site(str(p))[0]) for p in (local, remote, other_port)]
        assert type(got[0]).__name__ == "LocalTransport"
        assert type(got[1]).__name__ == "SshTransport" and got[1] is not got[2]
        assert session.transport(session.site(str(same_login))[0]) is got[1]


# ------------------------------------------------------------ reconnecting


def test_reconnect_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RECONNECT_ENV, raising=False)
    assert reconnect_timeout() == 600
    monkeypatch.setenv(RECONNECT_ENV, "2.5")
    assert reconnect_timeout() == 2.5
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv(RECONNECT_ENV, bad)
        with pytest.raises(UsageError):
            reconnect_timeout()


def test_reconnecting_backs_off_says_so_once_and_gives_up_with_exit_75() -> None:
    now = [0.0]
    events: list[str] = []
    policy = Reconnecting("login", "r may still be running", "re-attach", events.append,
                          limit=10, clock=lambda: now[0])  # fmt: skip
    waits = []
    for _ in range(3):
        waits.append(policy.failed(TransportError("refused")))
        now[0] += waits[-1]
    assert waits == [1.0, 2.0, 4.0]
    assert events == ["connection to login lost (refused); retrying for up to 10 s"]
    assert policy.failed(TransportError("refused")) == pytest.approx(3.0)  # capped by the limit
    now[0] = 10.0
    with pytest.raises(ConnectionLostError) as raised:
        policy.failed(TransportError("refused"))
    assert raised.value.exit_code == EXIT_CONNECTION_LOST == 75
    assert "may still be running" in raised.value.message


def test_reconnecting_call_retries_until_the_connection_is_back() -> None:
    events: list[str] = []
    attempts = iter([TransportError("down"), TransportError("down"), "ok"])

    def action() -> str:
        value = next(attempts)
        if isinstance(value, Exception):
            raise value
        return value

    policy = Reconnecting("login", "x", "y", events.append, limit=60)
    assert policy.call(action, sleep=lambda _: None) == "ok"
    assert events[-1] == "connection to login is back" and len(events) == 2

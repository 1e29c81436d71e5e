"""Slurm through a transport: idempotent sbatch, one squeue + one sacct per poll, scancel."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hpcrun.ops.backends import SchedulerUnavailable, SubmissionTrace, log_file
from hpcrun.schedulers import slurm
from hpcrun.transport.base import (
    CommandFailed,
    CommandResult,
    Shell,
    Transport,
    TransportError,
)

# Under a lock in the run directory: if this run was already submitted (a retry after a
# dropped connection or a crash), print the recorded job id instead of submitting again.
_SUBMIT = """set -e
cd {run_dir}
exec 8>.submit.lock
flock 8
if [ -s .jobid ]; then cat .jobid; exit 0; fi
{sbatch} > .jobid.tmp
mv .jobid.tmp .jobid
cat .jobid
"""


# For each run folder (numbered): is .submit.lock held (an sbatch in flight), how long ago
# a submission last opened it (``exec 8>`` truncates it, which sets its mtime), and .jobid's
# first line. The lock is tested before .jobid is read, so a submission that ends between
# the two is seen with its job id, never as "nothing in flight and no job id".
_INSPECT = """i=0
now=$(date +%s)
for d in {run_dirs}; do
  held=0 since=
  if [ -e "$d/.submit.lock" ]; then
    if ! flock -n "$d/.submit.lock" true 2>/dev/null; then held=1; fi
    since=$((now - $(stat -c %Y "$d/.submit.lock" 2>/dev/null || echo "$now")))
  fi
  job=$(head -n 1 "$d/.jobid" 2>/dev/null | head -c 200 | tr -d '\\r|')
  printf '%s|%s|%s|%s\\n' "$i" "$held" "$since" "$job"
  i=$((i + 1))
done
"""

# sbatch may reach the controller late (a slow or stopped slurmctld, a retried RPC): until
# this long after the run was created AND after its last sbatch attempt began, a job may
# still appear that squeue and sacct do not show yet, so "no job carries the name" is not
# yet proof that nothing was queued.
SUBMIT_GRACE_SECONDS = 300.0


class SlurmBackend:
    grace_seconds = SUBMIT_GRACE_SECONDS

    def submit(
        self, transport: Transport, run_dir: str, plan: Any, after: Sequence[tuple[str, str]] = ()
    ) -> str:
        extra = [f"--dependency=afterok:{':'.join(job for job, _ in after)}"] if after else []
        sbatch = shlex.join(slurm.sbatch_argv("job.sh", extra))
        result = transport.run(Shell(_SUBMIT.format(run_dir=shlex.quote(run_dir), sbatch=sbatch)))
        if not result.ok:
            _raise_sbatch_error(result, transport, plan)
        try:
            return slurm.parse_sbatch(result.stdout)
        except ValueError:
            raise CommandFailed(result, "sbatch") from None

    def poll(self, transport: Transport, jobs: Mapping[str, str]) -> dict[str, slurm.JobStatus]:
        ids = list(jobs)
        if not ids:
            return {}
        queue = transport.run(slurm.squeue_argv(ids))
        if queue.ok:
            listed = slurm.parse_squeue(queue.stdout)
        elif slurm.is_invalid_job_id(queue.stderr):
            listed = {}  # one id that the controller has forgotten: ask sacct
        else:
            raise _unavailable_or_failed(queue, "squeue")
        # sacct for jobs squeue has forgotten, and for finished ones: only sacct has exit codes.
        first = slurm.merge_status(listed, {}, ids)
        settle = [job for job, status in first.items() if status.final or status.state == "unknown"]
        accounted: dict[str, slurm.JobStatus] = {}
        usage: dict[str, dict[str, Any]] = {}
        if settle:
            accounted, usage = _accounting(transport, settle)
        merged = slurm.merge_status(listed, accounted, ids)
        result = {}
        for job, status in merged.items():
            if status.final and job not in accounted and status.exit_code is None:
                # squeue says finished, sacct has no final record yet (it lags a moment):
                # keep polling rather than cache a final state without its exit code
                status = replace(status, final=False)
            if status.final and job in usage:
                status = replace(status, usage=usage[job])
            result[job] = status
        return _with_restarts(transport, _as_files_say(transport, jobs, result))

    def cancel(self, transport: Transport, jobs: Mapping[str, str]) -> None:
        if jobs:
            result = transport.run(slurm.scancel_argv(list(jobs)))
            if not result.ok:
                raise _unavailable_or_failed(result, "scancel")

    def signal(self, transport: Transport, jobs: Mapping[str, str], name: str) -> list[str]:
        """SIG``name`` to each job's batch shell (which passes it to the program); the
        job ids it could not reach (none: scancel fails for all or none here)."""
        if jobs:
            result = transport.run(slurm.scancel_signal_argv(list(jobs), name))
            if not result.ok:
                raise _unavailable_or_failed(result, "scancel --signal")
        return []

    def requeue_cause(self, transport: Transport, run_dir: str) -> str | None:
        """Why the job's last attempt ended, as its script recorded it in .attempts
        ("preempted", "time limit", ...; "running": killed before it could say, which for
        a job Slurm requeued means preempted). One ``tail``, only when a requeue is seen."""
        from hpcrun.schedulers import slurm_restarts

        last = slurm_restarts.last_attempt(_attempts_tail(transport, run_dir))
        return last[1] if last else None

    def log_path(self, run_dir: str, job_id: str) -> str:
        return log_file(run_dir, job_id)

    def inspect_submissions(
        self, transport: Transport, run_dirs: Sequence[str]
    ) -> dict[str, SubmissionTrace]:
        if not run_dirs:
            return {}
        quoted = " ".join(shlex.quote(d) for d in run_dirs)
        result = transport.run(Shell(_INSPECT.format(run_dirs=quoted)))
        if not result.ok:
            raise CommandFailed(result, "looking for recorded job ids")
        traces: dict[str, SubmissionTrace] = {}
        for line in result.stdout.splitlines():
            index, held, since, text = [*line.split("|", 3), "", "", ""][:4]
            if not index.isdigit() or int(index) >= len(run_dirs):
                continue
            try:
                job_id: str | None = slurm.parse_sbatch(text) if text.strip() else None
            except ValueError:
                job_id = None  # a torn .jobid: decided by the job name instead
            ago = float(since) if since.lstrip("-").isdigit() else None
            traces[run_dirs[int(index)]] = SubmissionTrace(job_id, held == "1", ago)
        if len(traces) != len(run_dirs):
            raise CommandFailed(result, "looking for recorded job ids (incomplete answer)")
        return traces

    def jobs_named(self, transport: Transport, names: Mapping[str, float]) -> dict[str, str]:
        if not names:
            return {}
        queue = transport.run(slurm.squeue_by_name_argv(names))
        if not queue.ok:
            raise _unavailable_or_failed(queue, "squeue")
        found = slurm.parse_jobs_by_name(queue.stdout)
        rest = [name for name in names if name not in found]
        if rest:
            # squeue forgets a finished job after MinJobAge: accounting has it. An hour
            # more than the oldest run's age covers clock skew with the cluster.
            since = max(names[name] for name in rest) + 3600
            history = transport.run(slurm.sacct_by_name_argv(rest, int(since)))
            if not history.ok:
                raise _unavailable_or_failed(history, "sacct")
            found.update(slurm.parse_jobs_by_name(history.stdout))
        return {name: ids[0] for name, ids in found.items() if name in names and ids}


def _accounting(
    transport: Transport, job_ids: list[str]
) -> tuple[dict[str, slurm.JobStatus], dict[str, dict[str, Any]]]:
    """sacct's states for ``job_ids`` and, from the same call, what the ended ones used.
    A Slurm that refuses the usage fields still gets its states (without the figures)."""
    from hpcrun.schedulers import slurm_efficiency

    history = transport.run(slurm_efficiency.sacct_argv(job_ids))
    if history.ok:
        text, usage = slurm_efficiency.split_sacct(history.stdout)
        return slurm.parse_sacct(text), usage
    if slurm.is_transient_error(history.stderr):
        raise _unavailable_or_failed(history, "sacct")
    history = transport.run(slurm.sacct_argv(job_ids))
    if not history.ok:
        raise _unavailable_or_failed(history, "sacct")
    return slurm.parse_sacct(history.stdout), {}


KILLED = 128 + 9
MEMORY_KILL = "exceeded memory limit"


def _as_files_say(
    transport: Transport, jobs: Mapping[str, str], statuses: dict[str, slurm.JobStatus]
) -> dict[str, slurm.JobStatus]:
    """Slurm's word on ended jobs corrected by their own files, read for ALL such jobs in
    ONE command (``file_ends``): a SIGKILL's log end (a memory kill?), and for TIMEOUT,
    PREEMPTED or FAILED the end of .attempts (how the program really ended)."""
    from hpcrun.ops.backends import file_ends
    from hpcrun.schedulers import slurm_restarts

    wanted: list[tuple[str, file_ends.Read, str]] = []  # (job, how to read, path)
    for job, status in statuses.items():
        if status.state == "failed" and status.exit_code == KILLED:
            wanted.append((job, file_ends.LAST_8K, log_file(jobs[job], job)))
        elif status.final and status.state in ("timeout", "preempted", "failed"):
            # failed too: a program that saved and exited non-zero at its time limit
            # when no resume was left (resume_on_timeout, its budget) ran out of time
            attempts = f"{jobs[job]}/{slurm_restarts.ATTEMPTS_FILE}"
            wanted.append((job, file_ends.LAST_TWO_LINES, attempts))
    if not wanted:
        return statuses
    wanted.sort(key=lambda entry: entry[1])  # one loop per kind of read
    texts = file_ends.read_ends(transport, [(read, path) for _, read, path in wanted])
    result = dict(statuses)
    for (job, read, _), text in zip(wanted, texts, strict=True):
        if read == file_ends.LAST_8K:
            result[job] = _memory_verdict(result[job], text)
        elif text:
            result[job] = slurm_restarts.what_happened(result[job], text)
    return result


def _memory_kill(transport: Transport, run_dir: str, job: str, status: Any) -> Any:
    """``_memory_verdict`` for one job (restricted keys: one ``cat`` of its log)."""
    tail = transport.run(["tail", "-c", "8192", log_file(run_dir, job)])
    return _memory_verdict(status, tail.stdout if tail.ok else "")


def _memory_verdict(status: Any, log_end: str) -> Any:
    """Without cgroups Slurm enforces --mem by SIGKILL (JobAcctGatherParams=OverMemoryKill)
    and records FAILED 0:9; slurmstepd's own message in the job log tells it apart."""
    if MEMORY_KILL in log_end:
        return replace(status, state="out_of_memory", reason="exceeded its memory limit")
    return status


def _with_restarts(
    transport: Transport, statuses: dict[str, slurm.JobStatus]
) -> dict[str, slurm.JobStatus]:
    """Requeued jobs get their restart count. squeue's ``%`` format has none, so it takes a
    second, small squeue, asked only about jobs pending with reason BeginTime (Slurm holds
    every requeued job so for ~2 minutes; a poll that sees nothing such stays ONE squeue).
    Only informational: if squeue does not answer, the states stand without it."""
    from hpcrun.schedulers import slurm_restarts

    live = [
        job
        for job, status in statuses.items()
        if status.state == "pending" and status.reason == "BeginTime" and "_" not in job
    ]
    if not live:
        return statuses
    answer = transport.run(slurm_restarts.restarts_argv(live))
    counts = slurm_restarts.parse_restarts(answer.stdout) if answer.ok else {}
    return {
        job: replace(status, restarts=counts[job]) if job in counts else status
        for job, status in statuses.items()
    }


def _attempts_tail(transport: Transport, run_dir: str) -> str:
    """The last lines of the job script's .attempts ('' when it cannot be read)."""
    from hpcrun.schedulers import slurm_restarts

    answer = transport.run(["tail", "-n", "2", f"{run_dir}/{slurm_restarts.ATTEMPTS_FILE}"])
    return answer.stdout if answer.ok else ""


def _unavailable_or_failed(result: CommandResult, what: str) -> Exception:
    if slurm.is_transient_error(result.stderr):
        last = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return SchedulerUnavailable(
            f"{what}: the Slurm controller or its database did not answer ({last})",
            "hpcrun keeps the last known states and retries; nothing is marked failed",
        )
    return CommandFailed(result, what)


def _raise_sbatch_error(result: CommandResult, transport: Transport, plan: Any) -> None:
    text = result.stderr.strip() or result.stdout.strip()
    if result.returncode == 127 or "sbatch: command not found" in text:
        raise CommandFailed(
            result, "sbatch (not found on the cluster: is this a Slurm login node?)"
        )
    if slurm.is_transient_error(text):
        raise SchedulerUnavailable(
            f"sbatch: the Slurm controller did not answer ({text.splitlines()[-1]})",
            "it may or may not have been queued: `hpcrun ps` adopts it by its name if so",
        )
    from hpcrun.errors import RemoteError
    from hpcrun.schedulers import slurm_rejections as rejections

    request = rejections.Request(
        **{name: getattr(plan, name, None) for name in rejections.Request.__dataclass_fields__}
    )
    hint = rejections.rejection_hint(text, request, _capacity(transport, text))
    raise RemoteError(f"sbatch rejected the job: {rejections.rejection_message(text)}", hint)


def _capacity(transport: Transport, text: str) -> Any:
    """The nodes' facts for a rejection's hint: one ``sinfo``, only when the hint uses
    them; None when the cluster does not say (the hint then goes without)."""
    from hpcrun.schedulers import slurm_nodes
    from hpcrun.schedulers.slurm_rejections import rejection_kind

    if rejection_kind(text) in ("account", "qos", "policy"):
        return None
    from hpcrun.transport.restricted import NotAvailableRestricted

    try:
        nodes = transport.run(slurm_nodes.sinfo_nodes_argv())
    except (TransportError, NotAvailableRestricted):  # a restricted key may not run sinfo
        return None
    return slurm_nodes.parse_sinfo_nodes(nodes.stdout) if nodes.ok else None

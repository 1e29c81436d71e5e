"""Runs left 'submitting' by a submitter that is gone (killed, or its connection dropped
while sbatch ran): find out from the cluster whether a job was queued, never guess.

Per site and poll, for all such runs together: ONE look at their run folders (a recorded
.jobid; a .submit.lock still held means an sbatch is in flight), then ONE squeue (and at
most one sacct) by job name: every hpcrun job's --job-name is its run's unique name. A job
found is adopted (its id recorded; it is tracked like any other). Only when nothing is in
flight, no .jobid exists, the scheduler confirms that no job carries the name, and the
backend's grace period has passed since the run was created and since its last sbatch
attempt began (the run folder's .submit.lock mtime) is the run closed: 'failed',
saying that the scheduler confirmed nothing was queued. Until then it stays 'submitting'
with the reason shown by ``ps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from hpcrun.locks import is_held
from hpcrun.ops.backends import SchedulerUnavailable, SubmissionTrace
from hpcrun.ops.session import Session
from hpcrun.plan import job_name_for

SUBMITTING = "submitting"  # the store's state for a run without a job id yet
ADOPT_NOTE = "hpcrun will adopt it if Slurm queues it"
NEVER_QUEUED = (
    "the submission did not complete and the scheduler confirmed that no job carries its "
    "name: nothing was queued"
)


def age_seconds(created_at: str, now: datetime | None = None) -> float:
    created = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return ((now or datetime.now(timezone.utc)) - created).total_seconds()


@dataclass(frozen=True)
class Decision:
    action: str  # "adopt", "wait" or "close"
    job_id: str | None = None
    reason: str | None = None


def decide(
    trace: SubmissionTrace, named_job: str | None, age: float, grace: float, asked: bool
) -> Decision:
    """What to do with one run in doubt. ``asked``: the scheduler answered the by-name
    query (``named_job`` is then its answer); False when it was not asked or did not answer."""
    if trace.job_id:
        return Decision("adopt", trace.job_id)
    if trace.in_flight:
        why = "an sbatch for it is still running on the cluster"
        return Decision("wait", reason=f"in doubt: {why}; {ADOPT_NOTE}")
    if named_job:
        return Decision("adopt", named_job)
    stopped = "its submitter stopped before recording a job id"
    if not asked:
        why = f"{stopped} and the scheduler did not answer"
        return Decision("wait", reason=f"in doubt: {why}; {ADOPT_NOTE}")
    if age < grace:
        left = max(1, round((grace - age) / 60))
        why = f"{stopped} and no job carries its name yet (checked for about {left} min more)"
        return Decision("wait", reason=f"in doubt: {why}; {ADOPT_NOTE}")
    return Decision("close", reason=NEVER_QUEUED)


def settle(
    session: Session, transport: Any, backend: Any, group: list[Any]
) -> tuple[list[Any], str | None]:
    """The group with its in-doubt runs adopted, closed or annotated (in the store too),
    and why the scheduler did not answer the by-name query (None if it did or was not
    asked)."""
    store = session.store
    doubtful = [
        r for r in group
        if r.state == SUBMITTING and not r.job_id and not r.final and r.remote_dir
        and not is_held(f"submit-{r.run}")
    ]  # fmt: skip
    if not doubtful:
        return group, None
    traces = backend.inspect_submissions(transport, [r.remote_dir for r in doubtful])
    unresolved = [r for r in doubtful if not traces[r.remote_dir].job_id]
    unresolved = [r for r in unresolved if not traces[r.remote_dir].in_flight]
    names = {job_name_for(r.run): age_seconds(r.created_at) for r in unresolved}
    found: dict[str, str] = {}
    asked, silent = False, None
    if names:
        try:
            found, asked = backend.jobs_named(transport, names), True
        except SchedulerUnavailable as exc:
            silent = exc.message  # they stay in doubt; the reason says so
    updated = {}
    for record in doubtful:
        trace = traces[record.remote_dir]
        age = age_seconds(record.created_at)
        if trace.since_attempt is not None:  # the grace runs from the last sbatch attempt
            age = min(age, trace.since_attempt)
        name = job_name_for(record.run)
        decision = decide(trace, found.get(name), age,
                          backend.grace_seconds, asked)  # fmt: skip
        if decision.action == "adopt":
            updated[record.run] = store.set_submitted(record.run, str(decision.job_id))
        elif decision.action == "close":
            from hpcrun.ops.cleanup import remove_run_dir

            left = remove_run_dir(transport, session.site_of(record), record.run,
                                  record.remote_dir)  # fmt: skip
            reason = decision.reason + (f" ({left})" if left else "")
            updated[record.run] = store.update_state(
                record.run, "failed", reason=reason, final=True
            )
        else:
            updated[record.run] = store.update_state(record.run, record.state,
                                                     reason=decision.reason)  # fmt: skip
    return [updated.get(r.run, r) for r in group], silent

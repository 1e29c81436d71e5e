"""``hpcrun render --check``: ask the live scheduler whether it would accept the script
(``sbatch --test-only``), without queueing anything."""

from __future__ import annotations

import shlex
import uuid
from dataclasses import dataclass
from typing import Any

from hpcrun.errors import ScriptRejectedError
from hpcrun.ops.prepare import PreparedJob
from hpcrun.ops.session import Session
from hpcrun.ops.stage import remote_root
from hpcrun.schedulers import slurm
from hpcrun.transport.base import Shell


def check_script(session: Session, prepared: PreparedJob) -> str:
    """What sbatch says about the script (e.g. where and when it would start)."""
    from hpcrun.ops.capacity import refuse_over_capacity

    site = prepared.site
    if site.scheduler != "slurm":
        refuse_over_capacity(prepared, None)  # against this machine
        return f"site '{site.name}' runs jobs locally: it fits this machine"
    transport = session.transport(site)
    refuse_over_capacity(prepared, transport)  # sbatch --test-only may accept it anyway
    folder = f"{remote_root(transport, prepared.plan)}/tmp"
    script = f"{folder}/check-{uuid.uuid4().hex[:12]}.sh"
    transport.put_text(prepared.script, script, mode=0o700)
    sbatch = shlex.join(slurm.sbatch_argv(script, ["--test-only"]))
    result = transport.run(Shell(f"cd {shlex.quote(folder)} && {sbatch}; status=$?; "
                                 f"rm -f {shlex.quote(script)}; exit $status"))  # fmt: skip
    message = " ".join((result.stderr.strip() or result.stdout.strip()).split())
    if not result.ok:
        raise ScriptRejectedError(
            f"sbatch would reject this script: {message}",
            "check the partition and GPU names in the site config (hpcrun site check SITE)",
        )
    return message


@dataclass(frozen=True)
class CheckVerdict:
    """What ``render --check`` learnt: accepted or refused, and why."""

    accepted: bool
    message: str  # sbatch's answer, or why the script was refused
    hint: str | None = None
    exit_code: int = 0  # as the CLI exits: 1 sbatch refused it, 2 it fits no node

    def to_json(self, workflow: str, site: str, files: list[str]) -> dict[str, Any]:
        return {"workflow": workflow, "site": site, "accepted": self.accepted,
                "message": self.message, "hint": self.hint, "files": files}  # fmt: skip


def check_verdict(session: Session, prepared: PreparedJob) -> CheckVerdict:
    """``check_script`` as a verdict: a refusal (sbatch's, or a request no node can hold)
    is an answer, not an error; failing to ask (the connection) still raises."""
    from hpcrun.errors import ResolveError

    try:
        return CheckVerdict(True, check_script(session, prepared))
    except (ScriptRejectedError, ResolveError) as refused:
        return CheckVerdict(False, refused.message, refused.hint, refused.exit_code)

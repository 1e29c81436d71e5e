"""``hpcrun render --check``: ask the live scheduler whether it would accept the script
(``sbatch --test-only``), without queueing anything."""

from __future__ import annotations

import shlex
import uuid

from hpcrun.errors import RemoteError
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
        raise RemoteError(
            f"sbatch would reject this script: {message}",
            "check the partition and GPU names in the site config (hpcrun site check SITE)",
        )
    return message

"""What a local-site job used: measured by its wrapper, read back when it has ended.

The job wrapper (``backends.local``) starts ``bash ./job.sh`` through a small Python
program (``MEASURE``) run by the same interpreter as hpcrun. It waits for the script, then
asks the kernel (``getrusage(RUSAGE_CHILDREN)``) for the peak RSS of the job's process tree
(its largest process) and the CPU time of all of it, and writes them with the wall time to
``USAGE_FILE`` before the wrapper writes the exit code: whoever sees the exit code finds
the figures. A job that is killed with its wrapper (``cancel``) leaves no figures.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from hpcrun import efficiency

USAGE_FILE = ".hpcrun-usage"

# argv: [requested memory in MiB or ""]; prints nothing; exits like bash would (128+signal).
# Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec: the job gets the
# defaults back, as it would from bash.
MEASURE = r"""
import json, os, resource, signal, socket, sys, time
start = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        os.execvp("bash", ["bash", "./job.sh"])
    finally:
        os._exit(127)
_, status = os.waitpid(pid, 0)
wall = time.monotonic() - start
used = resource.getrusage(resource.RUSAGE_CHILDREN)
scale = 1 if sys.platform == "darwin" else 1024
mem = sys.argv[1] if len(sys.argv) > 1 else ""
cpus = os.environ.get("SLURM_CPUS_PER_TASK", "")
figures = {
    "elapsed_s": round(wall, 3),
    "cpu_s": round(used.ru_utime + used.ru_stime, 3),
    "max_rss_bytes": used.ru_maxrss * scale,
    "cpus": int(cpus) if cpus.isdigit() else None,
    "req_mem_bytes": int(mem) * 2**20 if mem.isdigit() else None,
    "nodes": socket.gethostname(),
}
try:
    with open(".hpcrun-usage.tmp", "w") as out:
        json.dump(figures, out)
    os.replace(".hpcrun-usage.tmp", ".hpcrun-usage")
except OSError:
    pass
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
"""

# The wrapper's environment (unset before the job starts): which Python measures, and the
# memory request to compare against.
PYTHON_VAR = "HPCRUN_USAGE_PYTHON"
MEMORY_VAR = "HPCRUN_USAGE_MEM_MIB"
CODE_VAR = "HPCRUN_USAGE_CODE"


def wrapper_env(plan: Any) -> dict[str, str]:
    """What the wrapper needs to measure the job (nothing if this Python is unknown)."""
    if not sys.executable or not os.access(sys.executable, os.X_OK):
        return {}
    mem = getattr(plan, "mem_mib", None)
    return {
        PYTHON_VAR: sys.executable,
        MEMORY_VAR: str(mem) if mem else "",
        CODE_VAR: MEASURE,
    }


def read_usage(run_dir: Path) -> dict[str, Any] | None:
    """The figures the wrapper wrote (``hpcrun.efficiency.figures``), or None."""
    try:
        raw = json.loads((run_dir / USAGE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None

    def number(key: str) -> Any:
        value = raw.get(key)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    nodes = raw.get("nodes")
    return efficiency.figures(
        "local",
        elapsed_s=number("elapsed_s"),
        cpu_s=number("cpu_s"),
        cpus=number("cpus"),
        max_rss_bytes=number("max_rss_bytes"),
        req_mem_bytes=number("req_mem_bytes"),
        nodes=nodes if isinstance(nodes, str) else None,
    )

"""``site check --deep``: a tiny job on a compute node, submitted and awaited in ONE remote
command (``sbatch --wait``), that says whether the site's Python module loads there and
whether the node reaches the package index (many compute nodes have no internet: then
``env_build: login`` builds environments on the login node instead).

The login node's own reach of the index is asked in the same command, before the job, so
that the advice can say whether ``env_build: login`` would help. Building the script and
reading its output are pure.
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass
from typing import Any

from hpcrun.ops.site_facts import module_prefix

JOB_NAME = "hpcrun-site-check"
DEFAULT_INDEX = "https://pypi.org/simple/"

# Prints "index=ok URL" or "index=fail URL REASON" for the index pip would use here.
_REACH = r"""
url=${PIP_INDEX_URL:-$("$py" -m pip config get global.index-url 2>/dev/null)}
url=${url:-%(default)s}
"$py" - "$url" <<'HPCRUN_PY' 2>&1 | tail -n 1
import sys, urllib.request
url = sys.argv[1]
try:
    urllib.request.urlopen(url, timeout=%(timeout)d).close()
    print("index=ok", url)
except Exception as exc:
    print("index=fail", url, " ".join(str(getattr(exc, "reason", exc)).split())[:200])
HPCRUN_PY
"""


def python_module(site: Any) -> tuple[str, str | None]:
    """(the Python version a run gets by default, the module that provides it)."""
    version = site.default_python()
    table = site.modules.python
    if isinstance(table, dict):
        if version not in table and table:
            version = next(iter(table))
        return version, table.get(version)
    return version, table.format(version=version) if table else None


def job_script(site: Any, timeout: int) -> str:
    """The job: load the modules a run would load, run ``python3 -V``, try the index."""
    module = python_module(site)[1]
    modules = [*site.modules.always, *([module] if module else [])]
    loads = " && ".join(f"module load {shlex.quote(m)}" for m in modules)
    setup = module_prefix(site.modules.init) + (loads or "true")
    reach = _REACH % {"default": DEFAULT_INDEX, "timeout": timeout}
    return (
        "#!/bin/bash\n"
        'printf "node=%s\\n" "$(hostname)"\n'
        f"if out=$( {{ {setup} && python3 -V; }} 2>&1 ); then\n"
        '  printf "python=ok %s\\n" "$(printf %s "$out" | tail -n 1)"\n'
        "else\n"
        '  printf "python=fail %s\\n" "$(printf %s "$out" | tr -s "\\n " " " | head -c 300)"\n'
        "fi\n"
        "py=$(command -v python3 || command -v python)\n"
        'if [ -n "$py" ]; then' + reach + "fi\n"
    )


def deep_command(site: Any, root: str, wait: int, reach_timeout: int = 10) -> str:
    """The one remote command: the login node's reach, then the job, awaited up to
    ``wait`` seconds (cancelled by its unique name after that), then the job's output."""
    name = f"{JOB_NAME}-{secrets.token_hex(4)}"
    options = ["--parsable", "--wait", f"--job-name={name}", "--time=00:02:00",
               "--ntasks=1", "--mem=200M"]  # fmt: skip
    if site.partitions.default:
        options.append(f"--partition={site.partitions.default}")
    for flag, value in (("--account", site.defaults.account), ("--qos", site.defaults.qos)):
        if value:
            options.append(f"{flag}={value}")
    quoted = shlex.quote(f"{root}/tmp")
    reach = _REACH % {"default": DEFAULT_INDEX, "timeout": reach_timeout}
    return (
        f"mkdir -p {quoted} && d=$(mktemp -d {quoted}/site-check.XXXXXX) || exit 1\n"
        "py=$(command -v python3 || command -v python)\n"
        'r=$(if [ -n "$py" ]; then' + reach + 'else echo "index=fail ? no python3"; fi)\n'
        'printf "login-%s\\n" "$r"\n'
        f"cat > \"$d/job.sh\" <<'HPCRUN_JOB'\n{job_script(site, reach_timeout)}HPCRUN_JOB\n"
        f'sbatch {shlex.join(options)} --output="$d/out" "$d/job.sh" >"$d/id" 2>"$d/err" &\n'
        "pid=$! n=0\n"
        f'while kill -0 "$pid" 2>/dev/null && [ "$n" -lt {int(wait)} ]; do\n'
        "  sleep 1; n=$((n + 1))\n"
        "done\n"
        'if kill -0 "$pid" 2>/dev/null; then\n'
        f'  scancel --name={name} --user="$(id -un)"; kill "$pid"\n'
        '  echo "timeout=1"\n'
        "fi\n"
        'wait "$pid"; echo "sbatch=$?"\n'
        'printf "job=%s\\n" "$(cut -d";" -f1 "$d/id")"\n'
        'printf "err=%s\\n" "$(tr "\\n" " " < "$d/err" | tail -c 300)"\n'
        'cat "$d/out" 2>/dev/null\n'
        'rm -rf "$d"\n'
    )


@dataclass(frozen=True)
class DeepResult:
    job: str = ""
    sbatch_status: int | None = None
    sbatch_error: str = ""
    timed_out: bool = False
    node: str = ""
    python: tuple[bool, str] | None = None  # (loaded, detail)
    index: tuple[bool, str, str] | None = None  # (reached, url, reason)
    login_index: tuple[bool, str, str] | None = None


def _index(value: str) -> tuple[bool, str, str]:
    verdict, _, rest = value.partition(" ")
    url, _, reason = rest.partition(" ")
    return verdict == "ok", url, reason.strip()


def parse_deep(stdout: str) -> DeepResult:
    """The ``key=value`` lines of ``deep_command`` (pure)."""
    values: dict[str, Any] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "sbatch" and value.strip().lstrip("-").isdigit():
            values["sbatch_status"] = int(value)
        elif key == "err":
            values["sbatch_error"] = value.strip()
        elif key == "timeout":
            values["timed_out"] = True
        elif key in ("job", "node"):
            values[key] = value.strip()
        elif key == "python":
            verdict, _, detail = value.partition(" ")
            values["python"] = (verdict == "ok", detail.strip())
        elif key == "index":
            values["index"] = _index(value)
        elif key == "login-index":
            values["login_index"] = _index(value)
    return DeepResult(**values)

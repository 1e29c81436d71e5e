"""Environment reuse: from job start to the first line of user code, for the job that
builds the requirements' virtualenv and for the next job with the same requirements."""

from __future__ import annotations

import base64
import hashlib
import statistics
import uuid
import zipfile
from pathlib import Path

from bench.fixtures import Context, hpcrun_argv
from bench.report import Row, Section, seconds, verdict
from bench.timing import run_process

MARK = "BENCH_SINCE_JOB_START"
# The job started when the job script's process did (/proc/<pid>/stat, clock ticks since
# boot): that is this process when the script ends with `exec python main.py`, or its parent
# when the script runs python as a child and waits for it (`job.sh` on the local site,
# slurmd's copy `slurm_script` on Slurm).
PROGRAM = f"""\
import os
ticks = os.sysconf("SC_CLK_TCK")
def started(pid):
    return int(open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[19]) / ticks
def job_script(pid):
    argv = open(f"/proc/{{pid}}/cmdline", "rb").read().split(b"\\0")
    return any(part.endswith((b"job.sh", b"slurm_script")) for part in argv)
parent = os.getppid()
start = started(parent) if job_script(parent) else started(os.getpid())
uptime = float(open("/proc/uptime").read().split()[0])
print("{MARK}", round(uptime - start, 3), flush=True)
"""


def _wheel(folder: Path, name: str) -> None:
    """A tiny pure-Python wheel, so the environment builds offline (pip --no-index)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-0.1.dist-info"
    files = {
        f"{name}/__init__.py": b"",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }

    def digest(data: bytes) -> str:
        raw = hashlib.sha256(data).digest()
        return "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    record = "".join(f"{p},{digest(d)},{len(d)}\n" for p, d in files.items())
    with zipfile.ZipFile(folder / f"{name}-0.1-py3-none-any.whl", "w") as whl:
        for path, data in files.items():
            whl.writestr(path, data)
        whl.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")


def _project(ctx: Context, name: str) -> Path:
    root = ctx.work / name
    wheels = f"wheels-{uuid.uuid4().hex[:12]}"  # new requirements text: a new environment
    _wheel(root / wheels, "hpcrun_benchpkg")
    (root / "main.py").write_text(PROGRAM)
    (root / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\nhpcrun_benchpkg\n")
    (root / "workflows.yaml").write_text(
        "workflows:\n  - name: main\n    provider: python\n    file: main.py\n"
        '    requirements: requirements.txt\n    version: "3.11"\n'
    )
    return root


def _since_start(ctx: Context, root: Path, site: str, home: str) -> float:
    result = run_process(
        hpcrun_argv("submit", str(root / "workflows.yaml"), "main", "--site", site), ctx.env(home)
    )
    for line in result.stdout.decode(errors="replace").splitlines():
        if line.startswith(MARK):
            return float(line.split()[1])
    raise RuntimeError(f"hpcrun submit on {site}: no {MARK} line (exit {result.returncode})")


def run(ctx: Context) -> Section:
    section = Section(
        "Environment reuse",
        "`hpcrun submit` (attached) of a workflow whose `requirements.txt` installs a small "
        "wheel (`--no-index --find-links`, so no network). The program prints the time since "
        "its job started: the start time (`/proc/<pid>/stat`) of the job script's process, "
        "which runs the program as its child (or is the program's own process, for a script "
        "that ends with `exec python`). First job: a new requirements text, the environment "
        "is built. Then jobs "
        "with the same requirements reuse it. Each round uses new requirements (a new "
        "environment), so first and second job alternate.",
    )
    sites = [("local", "local")]
    if ctx.cluster:
        sites.append(("test cluster", ctx.cluster.site_config))
    rounds = 1 if ctx.smoke else 3
    for label, site in sites:
        first, second = [], []
        for i in range(rounds):
            root = _project(ctx, f"env-{label.replace(' ', '-')}-{i}")
            home = f"env-home-{label.replace(' ', '-')}"
            first.append(_since_start(ctx, root, site, home))
            second.append(_since_start(ctx, root, site, home))
        f, s = statistics.median(first), statistics.median(second)
        section.rows += [
            Row(f"{label}: first job (builds the env), start -> user code", seconds(f)),
            Row(f"{label}: second job (reuses it), start -> user code", seconds(s), "", "",
                "< 2 s", verdict(s < 2.0, ctx.smoke)),
        ]  # fmt: skip
        section.notes.append(f"{label}: {rounds} round(s); first {first}, second {second} (s).")
    return section

"""Submit: a 1,000-point sweep by one `hpcrun sweep` tick over SSH, against submitit's
map_array on the cluster side, and against a shell loop of one `ssh ... sbatch` per point."""

from __future__ import annotations

import io
import pstats
import statistics
import sys
import time

from bench.fixtures import REPO, Cluster, Context, hpcrun_argv, sdiag_reset, sdiag_rpcs
from bench.report import NOT_RUN, Row, Section, ratio, seconds, verdict
from bench.timing import alternate, run_process

VENV = "~/.hpcrun-bench-venv"
SUBMIT = "REQUEST_SUBMIT_BATCH_JOB"
LOOP_POINTS = 50
HOME = "submit-home"  # one HPCRUN_HOME for every hpcrun round, warmed up first
# (file suffix, function) read from the profiled tick, for the explanation below
PROFILED = (
    ("slurm_array.py", "submit_batch"), ("tick.py", "tick"), ("tick.py", "_upload"),
    ("tick.py", "_write_chunks"), ("prepare.py", "load_target"), ("remote.py", "home"),
    ("importlib._bootstrap>", "_find_and_load"),
)  # fmt: skip
MAP_ARRAY = """\
import os, sys, time, uuid
import submitit
points, size = int(sys.argv[1]), int(sys.argv[2])
folder = os.path.expanduser(f"~/hpcrun-bench-submitit/{uuid.uuid4().hex[:8]}")
executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
executor.update_parameters(timeout_min=1, slurm_array_parallelism=size)
start = time.perf_counter()
jobs = []
for first in range(0, points, size):  # one map_array per MaxArraySize tasks (see below)
    jobs += executor.map_array(abs, range(first, min(points, first + size)))
print(time.perf_counter() - start, len(jobs))
"""


def ensure_submitit(cluster: Cluster) -> str:
    """A virtualenv of the cluster user with submitit from PyPI; its python."""
    cluster.ssh(
        f"test -x {VENV}/bin/python || python3 -m venv {VENV}; "
        f"{VENV}/bin/python -c 'import submitit' 2>/dev/null || "
        f"{VENV}/bin/pip install -q --disable-pip-version-check submitit",
        timeout=600,
    )
    return f"{VENV}/bin/python"


def max_array_size(cluster: Cluster) -> int:
    from hpcrun.schedulers.slurm_arrays import parse_max_array_size

    return parse_max_array_size(cluster.ssh("scontrol show config"))


def run(ctx: Context) -> Section:
    section = Section(
        "Submit",
        "Wall time to get N trivial tasks into the queue, and the controller RPCs it cost "
        "(`sdiag -r` before each side, `sdiag` after). hpcrun: `hpcrun sweep FILE gridN "
        "--site testcluster`, one tick as a whole process (start-up, SSH connection, upload, "
        "one remote command that runs one `sbatch` per chunk), a new project folder (a new "
        "sweep) each round, all in one HPCRUN_HOME warmed up by one untimed tick of another "
        "sweep (as a user's is after their first sweep: the templates' compiled bytecode "
        "and the site's MaxArraySize are cached there). submitit: "
        "`AutoExecutor(cluster='slurm').map_array(abs, ...)` in a Python process on the "
        "cluster as the cluster user (no SSH), timed in-process from the first `map_array` "
        f"to the last (its import not counted). Shell loop: {LOOP_POINTS} times "
        "`ssh login sbatch --wrap=true`, each a new connection, scaled to N. Everything is "
        "cancelled after each side (`scancel -u`).",
    )
    if ctx.cluster is None:
        section.rows.append(Row("1,000-point sweep submit", NOT_RUN + ": no test cluster"))
        return section
    cluster = ctx.cluster
    venv_python = ensure_submitit(cluster)
    size = max_array_size(cluster)
    points = 1_000
    chunks = -(-points // size)
    rounds = {"hpcrun": 0}
    rpcs: dict[str, list[dict[str, int]]] = {"hpcrun": [], "submitit": [], "loop": []}

    def hpcrun_side() -> float:
        rounds["hpcrun"] += 1
        root = ctx.project(f"submit-{rounds['hpcrun']}", (points,))
        argv = hpcrun_argv("sweep", str(root / "workflows.yaml"), f"grid{points}",
                           "--site", cluster.site_config)  # fmt: skip
        sdiag_reset()
        result = run_process(argv, ctx.env(HOME))
        rpcs["hpcrun"].append(sdiag_rpcs())
        cluster.cancel_all()
        if result.returncode != 0:
            raise RuntimeError(f"hpcrun sweep exited {result.returncode}: {result.stdout!r}")
        return result.wall

    def submitit_side() -> float:
        sdiag_reset()
        out = cluster.ssh(f"{venv_python} - {points} {size}", stdin=MAP_ARRAY)
        rpcs["submitit"].append(sdiag_rpcs())
        cluster.cancel_all()
        return float(out.split()[0])

    def loop_side() -> float:
        sdiag_reset()
        start = time.perf_counter()
        for _ in range(LOOP_POINTS):
            cluster.ssh("sbatch --parsable -J hpcrun-bench-loop -t 1 -o /dev/null --wrap=true")
        wall = time.perf_counter() - start
        rpcs["loop"].append(sdiag_rpcs())
        cluster.cancel_all()
        return wall * points / LOOP_POINTS

    spent: dict[str, float] = {}

    def profile_tick() -> str:
        """cProfile of one more tick (not timed): where hpcrun's wall time goes."""
        root = ctx.project("submit-profile", (points,))
        stats_file = ctx.work / "tick.prof"
        argv = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "hpcrun",
                "sweep", str(root / "workflows.yaml"), f"grid{points}",
                "--site", cluster.site_config]  # fmt: skip
        run_process(argv, ctx.env(HOME))
        cluster.cancel_all()
        text = io.StringIO()
        stats = pstats.Stats(str(stats_file), stream=text).sort_stats("cumulative")
        for (file, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
            for suffix, name in PROFILED:
                if function == name and file.endswith(suffix):
                    spent[name] = max(spent.get(name, 0.0), row[3])  # cumulative seconds
        stats.print_stats(r"tick\.py|slurm_array|transport|select|sqlite|store|load_target", 12)
        lines = [line for line in text.getvalue().splitlines() if line.strip()]
        return "\n".join(line.replace(str(REPO) + "/", "") for line in lines[-14:])

    def round_trip() -> float:
        """One remote command on hpcrun's open SSH connection (`true`), median of 10."""
        from hpcrun.ops.session import Session

        with Session() as session:
            site, _ = session.site(cluster.site_config)
            transport = session.transport(site)
            transport.run(["true"])
            samples = []
            for _ in range(10):
                start = time.perf_counter()
                transport.run(["true"])
                samples.append(time.perf_counter() - start)
        return statistics.median(samples)

    def warm_up() -> None:
        """One untimed tick of another sweep in the same HPCRUN_HOME, as a user's home is
        after their first sweep: the templates' bytecode and the site's MaxArraySize are
        cached there (each timed round is still a new project and a new sweep)."""
        root = ctx.project("submit-warm-up", (size,))
        argv = hpcrun_argv("sweep", str(root / "workflows.yaml"), f"grid{size}",
                           "--site", cluster.site_config)  # fmt: skip
        result = run_process(argv, ctx.env(HOME))
        cluster.cancel_all()
        if result.returncode != 0:
            raise RuntimeError(f"hpcrun sweep exited {result.returncode}: {result.stdout!r}")

    trip = float("nan")
    try:
        warm_up()
        # each round queues and cancels ~2,000 jobs: 5 rounds at most
        sides = {"hpcrun": hpcrun_side, "submitit": submitit_side, "loop": loop_side}
        s = alternate(sides, min(ctx.repeat, 5))
        section.profile = profile_tick()
        trip = round_trip()
    finally:
        cluster.cancel_all()
        cluster.ssh("rm -rf ~/hpcrun-bench-submitit")

    def submits(side: str) -> float:
        return statistics.median(r.get(SUBMIT, 0) for r in rpcs[side])

    def total(side: str) -> float:
        return statistics.median(sum(n for k, n in r.items() if k != "REQUEST_STATS_INFO")
                                 for r in rpcs[side])  # fmt: skip

    h, sub, loop = s.median("hpcrun"), s.median("submitit"), s.median("loop")
    section.rows += [
        Row(f"{points:,} tasks, wall", seconds(h), f"submitit: {seconds(sub)}",
            ratio(s.ratio("hpcrun", "submitit")), "<= 2x submitit",
            verdict(s.ratio("hpcrun", "submitit") <= 2, ctx.smoke)),
        Row(f"{points:,} tasks, wall vs ssh loop (scaled from {LOOP_POINTS})", seconds(h),
            f"loop: {seconds(loop)}", f"{s.ratio('loop', 'hpcrun'):.3g}x faster",
            ">= 100x faster", verdict(s.ratio("loop", "hpcrun") >= 100, ctx.smoke)),
        Row(f"{SUBMIT} RPCs ({chunks} chunks of {size})", f"{submits('hpcrun'):g}",
            f"submitit: {submits('submitit'):g}; loop: {submits('loop') * points / LOOP_POINTS:g}",
            f"{submits('hpcrun') / chunks:.3g} per chunk", "<= 1 per chunk",
            verdict(submits("hpcrun") <= chunks, ctx.smoke)),
        Row("all controller RPCs (but sdiag's)", f"{total('hpcrun'):g}",
            f"submitit: {total('submitit'):g}; loop ({LOOP_POINTS}): {total('loop'):g}"),
    ]  # fmt: skip
    kinds = sorted({k for r in rpcs["hpcrun"] for k in r} - {"REQUEST_STATS_INFO"})
    section.notes.append(
        f"MaxArraySize is {size} on the test cluster, so both hpcrun and submitit need "
        f"{chunks} arrays for {points:,} tasks: hpcrun's tick splits the sweep into chunks "
        "itself; submitit's `map_array` sends all its tasks as one `--array`, which Slurm "
        f"refuses beyond MaxArraySize, so the submitit side calls `map_array` once per {size} "
        "tasks. hpcrun's RPCs by type (median round): "
        + ", ".join(
            f"{k} {statistics.median(r.get(k, 0) for r in rpcs['hpcrun']):g}" for k in kinds
        )
        + "."
    )
    batch, whole = spent.get("submit_batch", float("nan")), spent.get("tick", float("nan"))
    section.notes.append(
        f"How the tick submits: every due chunk in ONE remote command (a shell loop over the "
        f"chunk folders under the sweep's lock: `sbatch --array ...` in each folder that has "
        f"no `.jobid` yet, so running it again never submits twice), so {chunks} chunks cost "
        f"one SSH round trip and {chunks} `sbatch` processes on the login node, as many as "
        f"submitit starts there. One remote command on hpcrun's open connection (`true`) "
        f"takes {seconds(trip)} on this machine; in the profiled tick below the submit "
        f"command took {seconds(batch)} ({seconds(batch / chunks)} per chunk: `sbatch` "
        f"itself) of the tick's {seconds(whole)}. The rest of hpcrun's wall time is what "
        "submitit does not do because it already runs on the login node with Python "
        "started: hpcrun's own start-up (Python and its imports: "
        f"{seconds(spent.get('_find_and_load', float('nan')))} in the profiled tick; "
        "paramiko alone imports invoke, which imports unittest.mock and asyncio), reading "
        f"and validating the workflows file (`load_target`, imports included: "
        f"{seconds(spent.get('load_target', float('nan')))}), the SSH connection and the "
        f"login shell check ({seconds(spent.get('home', float('nan')))}), uploading the "
        f"project (one rsync: {seconds(spent.get('_upload', float('nan')))}) "
        "and the sweep's and chunks' folders (one command: `mkdir` and a tar archive in "
        "which the array script, the same for every chunk, is stored once and hard-linked: "
        f"{seconds(spent.get('_write_chunks', float('nan')))}), and "
        "recording every chunk in the local database before and after the submit command. "
        "Both sides vary from "
        "round to round with the load of this shared machine (each round, in seconds: "
        "hpcrun "
        + ", ".join(f"{v:.2f}" for v in s.values["hpcrun"])
        + "; submitit "
        + ", ".join(f"{v:.2f}" for v in s.values["submitit"])
        + "); the ratio is the median of the pairwise ratios. The shell loop pays a whole "
        "SSH connection (key exchange, authentication) per job. The cProfile of one more "
        "tick (cumulative time; `select` is waiting for the remote end of a command):"
    )
    return section

"""Render: one job script in-process against dask-jobqueue and submitit, and a whole sweep
rendered by `hpcrun render` as a process."""

from __future__ import annotations

import cProfile
import io
import pstats
import sys

from bench.fixtures import CPUS, GPUS, HOURS, MEM_GB, PARTITION, Context, hpcrun_argv
from bench.report import Row, Section, ratio, seconds, verdict
from bench.timing import alternate, cpu_of, per_call

SCHEDULER = "tcp://127.0.0.1:8786"  # dask only writes it into the script; nothing connects


def _dask_job() -> object | None:
    try:
        from dask_jobqueue.slurm import SLURMJob
    except ImportError:
        return None

    def make() -> str:
        job = SLURMJob(
            scheduler=SCHEDULER, name="train", queue=PARTITION, walltime=f"0{HOURS}:00:00",
            cores=CPUS, memory=f"{MEM_GB}GB", processes=1,
            job_extra_directives=[f"--gres=gpu:a100:{GPUS}"],
        )  # fmt: skip
        return job.job_script()

    return make


def _submitit_job() -> object | None:
    try:
        from submitit.slurm.slurm import _make_sbatch_string
    except ImportError:
        return None

    def make() -> str:
        return _make_sbatch_string(
            command="python train.py --epochs 10", folder="/tmp/submitit", job_name="train",
            partition=PARTITION, time=HOURS * 60, cpus_per_task=CPUS, mem=f"{MEM_GB}GB",
            gres=f"gpu:a100:{GPUS}",
        )  # fmt: skip

    return make


def _profile(action: object, calls: int) -> str:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        action()  # type: ignore[operator]
    profile.disable()
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text).strip_dirs().sort_stats("cumulative")
    stats.print_stats(14)
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    return "\n".join(lines[-16:])


def run(ctx: Context) -> Section:
    from hpcrun.ops.prepare import build_job, load_target
    from hpcrun.render import render_job_script
    from hpcrun.site.load import load_site
    from hpcrun.site.resolve import resolve

    points = 200 if ctx.smoke else 10_000
    root = ctx.project("render", (points,))
    target = load_target(root / "workflows.yaml", "train")
    site, site_path = load_site(str(root / "site.yaml"))

    def hpcrun_build() -> str:
        return build_job(target, site, site_path, run="train-1").script

    def hpcrun_render() -> str:
        plan = resolve(target.workflow, site, run="train-1", submit_env={})
        return render_job_script(plan)

    hpcrun_build()  # warm-up: templates compiled once per process
    calls = 50 if ctx.smoke else 500
    sides = {
        "build_job": per_call(hpcrun_build, calls),
        "resolve+render": per_call(hpcrun_render, calls),
    }
    dask, submitit = _dask_job(), _submitit_job()
    if dask:
        sides["dask"] = per_call(dask, calls)
    if submitit:
        sides["submitit"] = per_call(submitit, calls)
    s = alternate(sides, ctx.repeat)
    section = Section(
        "Render",
        "**One script, in-process**, the workflows file and site already loaded, after one "
        "warm-up call. hpcrun `build_job`: `hpcrun.ops.prepare.build_job(target, site, ...)` "
        "(apply overrides, check `file` exists, read requirements, `resolve`, render): what "
        "`hpcrun render`/`submit` run per job. hpcrun `resolve+render`: "
        "`hpcrun.site.resolve.resolve` + `hpcrun.render.render_job_script` only. dask-jobqueue: "
        "`SLURMJob(scheduler=..., queue=..., walltime=..., cores=4, memory='16GB', "
        "job_extra_directives=['--gres=gpu:a100:1']).job_script()` (constructing the job is "
        "where dask does its work; `job_script()` alone formats a cached string). submitit: "
        "`submitit.slurm.slurm._make_sbatch_string(...)` with the same cpus, mem, gres, time "
        f"and partition. Each figure: the mean of a batch of {calls} calls; median of "
        f"{ctx.repeat} alternating batches.\n\n**A {points:,}-point sweep**: `hpcrun render "
        "workflows.yaml gridN` as a whole process (one array script plus the point table on "
        "stdout), user+sys CPU time, alternating with `hpcrun render workflows.yaml train` "
        "(one plain workflow); the per-point cost is the median difference divided by the "
        "number of points.",
    )
    single = s.median("resolve+render")
    built = s.median("build_job")
    section.rows.append(Row("one script after warm-up, whole build_job", seconds(built), "", "",
                            "< 100 µs", verdict(built < 100e-6, ctx.smoke)))  # fmt: skip
    for peer in ("dask", "submitit"):
        if peer not in sides:
            section.rows.append(Row(f"one script vs {peer}", "", f"{peer}: not installed"))
            continue
        section.rows.append(Row(
            f"one script, resolve+render vs {peer}", seconds(single),
            f"{peer}: {seconds(s.median(peer))}", ratio(s.ratio("resolve+render", peer)),
        ))  # fmt: skip
    section.rows.append(Row(
        "one script after warm-up (resolve+render)", seconds(single), "", "",
        "< 100 µs", verdict(single < 100e-6, ctx.smoke),
    ))  # fmt: skip

    env = ctx.env("render-home")
    sweep_argv = hpcrun_argv("render", str(root / "workflows.yaml"), f"grid{points}",
                             "--site", str(root / "site.yaml"))  # fmt: skip
    one_argv = hpcrun_argv("render", str(root / "workflows.yaml"), "train",
                           "--site", str(root / "site.yaml"))  # fmt: skip
    cpu_of(sweep_argv, env)()  # warm-up: the template bytecode cache
    p = alternate({"sweep": cpu_of(sweep_argv, env), "one": cpu_of(one_argv, env)}, ctx.repeat)
    whole = p.median("sweep")
    per_point = p.difference("sweep", "one") / points
    section.rows.append(Row(
        f"{points:,}-point sweep render, process CPU", seconds(whole), "", "", "< 1 s",
        verdict(whole < 1.0, ctx.smoke),
    ))  # fmt: skip
    if "dask" in sides:
        factor = s.median("dask") / per_point if per_point > 0 else float("inf")
        section.rows.append(Row(
            "sweep per-point cost vs dask per script", seconds(per_point),
            f"dask: {seconds(s.median('dask'))}", f"{factor:.3g}x below",
            ">= 3x below", verdict(factor >= 3, ctx.smoke),
        ))  # fmt: skip
    section.notes.append(
        f"Whole-process figures: the sweep render took {seconds(whole)} CPU, the one-workflow "
        f"render {seconds(p.median('one'))}; Python {sys.version.split()[0]}."
    )
    section.notes.append(
        "`build_job` does more than render: before resolving it checks that the workflow's "
        "`file` and `requirements` exist inside the project, resolving real paths (symlinks "
        "included) so that no value leads out of the project folder. The project root's real "
        "path is resolved once per process; each path it checks (the working folder when "
        "one is set, the program file, the requirements file) is resolved on every call: "
        "one `lstat` per component below the root while none is a symlink, the whole "
        "`os.path.realpath` walk when one is. Those filesystem calls, applying the "
        "command-line overrides and reading the submitting environment are the difference "
        "from `resolve+render`, and they stay: they are what refuses a path that leads out "
        "of the project. The templates' `{% include %}`s of built-in templates are pasted "
        "into the including template when it is loaded (no new Jinja context per include "
        "and render; a site's own templates are left as written). "
        "cProfile of `build_job` (cumulative, 200 calls):"
    )
    section.profile = _profile(hpcrun_build, 200)
    return section

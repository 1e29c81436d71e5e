"""Start-up: `hpcrun --help` and `hpcrun render` as whole processes against `python -c
pass`, in a clean virtualenv with hpcrun installed from the source tree (not editable)."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from bench.fixtures import REPO, Context
from bench.report import Row, Section, seconds, verdict
from bench.timing import alternate, wall_of

HELP_BUDGET, RENDER_BUDGET = 0.060, 0.150


def clean_venv(ctx: Context) -> tuple[Path, str]:
    """A new virtualenv with `pip install .` (a wheel built from this tree, its
    dependencies from PyPI). Smoke mode uses the running interpreter instead (no time)."""
    if ctx.smoke:
        return Path(sys.executable), "the running interpreter (smoke mode: no clean venv)"
    venv = ctx.work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(REPO)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return python, f"a clean virtualenv (`python -m venv; pip install .`, not editable): {venv}"


def import_breakdown(python: Path, argv: list[str], env: dict[str, str]) -> str:
    """`-X importtime` of ``argv``, self time summed per top-level package."""
    proc = subprocess.run(
        [str(python), "-X", "importtime", *argv], capture_output=True, text=True, env=env,
        check=False,
    )  # fmt: skip
    per_package: dict[str, int] = defaultdict(int)
    own: dict[str, int] = {}  # hpcrun's modules (their self time includes building models)
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, name = line[len("import time:") :].split("|", 2)
        name = name.strip()
        per_package[name.split(".")[0]] += int(self_us)
        if name.startswith("hpcrun"):
            own[name] = int(self_us)
    total = sum(per_package.values())
    top = sorted(per_package.items(), key=lambda kv: -kv[1])[:14]
    lines = [f"{'package':<28} {'self ms':>8} {'share':>6}"]
    lines += [f"{name:<28} {us / 1000:8.1f} {us / total:6.0%}" for name, us in top]
    lines.append(f"{'(all imports)':<28} {total / 1000:8.1f}")
    lines += ["", "hpcrun's own modules, the slowest:"]
    lines += [f"{name:<28} {us / 1000:8.1f}" for name, us in sorted(own.items(),
              key=lambda kv: -kv[1])[:6]]  # fmt: skip
    return "\n".join(lines)


def run(ctx: Context) -> Section:
    python, where = clean_venv(ctx)
    root = ctx.project("startup")
    env = ctx.env("startup-home")
    render = ["-m", "hpcrun", "render", str(root / "workflows.yaml"), "train",
              "--site", str(root / "site.yaml")]  # fmt: skip
    sides = {
        "floor": wall_of([str(python), "-c", "pass"], env),
        "help": wall_of([str(python), "-m", "hpcrun", "--help"], env),
        "render": wall_of([str(python), *render], env),
    }
    wall_of([str(python), *render], env)()  # warm-up: page cache, template bytecode cache
    repeat = ctx.repeat if ctx.smoke else max(ctx.repeat, 15)
    s = alternate(sides, repeat)
    help_over, render_over = s.difference("help", "floor"), s.difference("render", "floor")
    section = Section(
        "Start-up",
        f"Whole processes, wall time, {repeat} alternating rounds of `python -c pass`, "
        "`python -m hpcrun --help` and `python -m hpcrun render workflows.yaml train --site "
        f"site.yaml`, run with {where}. The figure compared with the target is the median of "
        "the pairwise differences from the floor.",
    )
    section.rows += [
        Row("python -c pass (the floor)", seconds(s.median("floor"))),
        Row("hpcrun --help over the floor", seconds(help_over), "", "",
            "< 60 ms", verdict(help_over < HELP_BUDGET, ctx.smoke)),
        Row("hpcrun render over the floor", seconds(render_over), "", "",
            "< 150 ms", verdict(render_over < RENDER_BUDGET, ctx.smoke)),
    ]  # fmt: skip
    section.notes.append(
        f"Medians: floor {seconds(s.median('floor'))}, `--help` {seconds(s.median('help'))}, "
        f"`render` {seconds(s.median('render'))}. Where `render`'s time goes: `-X importtime` "
        "of the same command, self time summed per top-level package. Importing is almost all "
        "of it: pydantic and pydantic_core (the first module that imports pydantic's names, "
        "`hpcrun.spec.sweep`, is charged with pydantic's own lazy imports), jinja2, yaml and "
        "click; `importlib` and `email` come from pydantic looking for plugins (package "
        "metadata) when it builds its first validator. hpcrun's models build their "
        "validators on first use (`defer_build`): a render builds those of one workflow type "
        "and of the site, not of every model at import. The work itself (read the YAML, "
        "validate, resolve, render a template whose includes are compiled into it) is the "
        "small rest. Most of what is left over the floor is importing pydantic (with "
        "pydantic_core, annotated_types and typing_inspection), jinja2, yaml and click, "
        "which a `render` needs; hpcrun's own share is mostly its model classes being "
        "defined (pydantic collects their fields at import) and the pydantic imports "
        "charged to `hpcrun.spec.sweep`."
    )
    section.profile = import_breakdown(python, render, env)
    if "\nasyncio " in section.profile:
        section.notes.append(
            "`asyncio` in the list: on Python 3.11 `typing_extensions`' `@deprecated` (used by "
            "pydantic) imports it."
        )
    return section

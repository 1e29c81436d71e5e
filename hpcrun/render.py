"""The Jinja environment: StrictUndefined, one shell-quoting filter, site templates first.

Every value that comes from a user reaches the script through ``|q`` (or ``|shpath`` for
paths that may start with ``~``); templates never build shell text by concatenation.
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError
from hpcrun.paths import data_dir
from hpcrun.plan import JobPlan

# The local site runs the very script a Slurm job would get (its #SBATCH lines are inert).
JOB_TEMPLATE = {"slurm": "slurm/job.sh.j2", "local": "slurm/job.sh.j2"}
# Builds the cached virtualenv alone, for sites with env_build: login.
ENV_TEMPLATE = "slurm/env.sh.j2"


def shell_quote(value: Any) -> str:
    return shlex.quote(str(value))


def shell_path(value: Any) -> str:
    """Quote a path, keeping a leading ``~`` meaningful (as ``"$HOME"``)."""
    text = str(value)
    if text == "~":
        return '"$HOME"'
    if text.startswith("~/"):
        return '"$HOME"/' + shlex.quote(text[2:])
    return shlex.quote(text)


def comment(value: Any) -> str:
    """Text safe inside a ``#`` comment: one line."""
    return " ".join(str(value).splitlines())


@lru_cache(maxsize=16)
def _environment(search_path: tuple[str, ...]) -> Any:
    """One Jinja environment per template search path, for the life of the process: its
    templates are compiled on first use only (compiling is ~99% of a render's cost)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(list(search_path)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,  # a template file does not change under a running hpcrun
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(q=shell_quote, shpath=shell_path, comment=comment)
    return env


def render_job_script(plan: JobPlan, site_templates: Path | None = None) -> str:
    """The complete batch script for ``plan``; a site's own template folder wins."""
    return _render(JOB_TEMPLATE[plan.scheduler], plan, site_templates)


def render_env_script(plan: JobPlan, site_templates: Path | None = None) -> str:
    """The script that builds ``plan``'s virtualenv on the login node."""
    return _render(ENV_TEMPLATE, plan, site_templates)


def _render(name: str, plan: JobPlan, site_templates: Path | None) -> str:
    """A broken site template is the user's to fix: say which file and line, no traceback."""
    import jinja2

    dirs = [site_templates] if site_templates else []
    env = _environment(tuple(str(d) for d in [*dirs, data_dir("templates")]))
    try:
        return env.get_template(name).render(plan=plan)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise UsageError(f"template {where}: {exc.message}", _TEMPLATE_HINT) from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"template {_failing_line(exc) or name}: {exc}", _TEMPLATE_HINT) from None


def _failing_line(exc: BaseException) -> str | None:
    """``file:line`` of the template frame that failed (jinja2 puts templates in tracebacks)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None


_TEMPLATE_HINT = (
    "templates see one variable, `plan` (hpcrun.plan.JobPlan); compare with the built-in "
    "templates/slurm/job.sh.j2"
)

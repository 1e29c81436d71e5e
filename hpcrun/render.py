"""The Jinja environment: StrictUndefined, one shell-quoting filter, site templates first.

Every value that comes from a user reaches the script through ``|q`` (or ``|shpath`` for
paths that may start with ``~``); templates never build shell text by concatenation.
HTML pages (the sweep report, ``render_html``) use a second environment with autoescape on.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError
from hpcrun.paths import data_dir, hpcrun_home
from hpcrun.plan import JobPlan

# The local site runs the very script a Slurm job would get (its #SBATCH lines are inert).
JOB_TEMPLATE = {"slurm": "slurm/job.sh.j2", "local": "slurm/job.sh.j2"}
# Builds the cached virtualenv alone, for sites with env_build: login.
ENV_TEMPLATE = "slurm/env.sh.j2"
# One job array script for every point of a sweep (hpcrun.sweep).
SWEEP_TEMPLATE = "slurm/sweep.sh.j2"


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


def shell_word(value: Any, params: Mapping[str, str]) -> str:
    """One shell word for ``value``: quoted literal text, with each ``${{name}}`` of a sweep
    parameter in ``params`` (name -> environment variable) as ``"$HPCRUN_PARAM_NAME"``."""
    from hpcrun.spec.sweep import PARAM_REF_RE

    text = str(value)
    pieces: list[str] = []
    start = 0
    for match in PARAM_REF_RE.finditer(text):
        if match.group(1) not in params:
            continue
        if match.start() > start:
            pieces.append(shlex.quote(text[start : match.start()]))
        pieces.append(f'"${params[match.group(1)]}"')
        start = match.end()
    if start < len(text) or not pieces:
        pieces.append(shlex.quote(text[start:]))
    return "".join(pieces)


def _quote_value(context: Any, value: Any) -> str:
    """``|qv``: ``|q`` in a job; in a sweep script parameters become their variables."""
    sweep = context.get("sweep")
    return shell_word(value, sweep.env_names) if sweep is not None else shell_quote(value)


def comment(value: Any) -> str:
    """Text safe inside a ``#`` comment: one line."""
    return " ".join(str(value).splitlines())


@lru_cache(maxsize=16)
def _environment(search_path: tuple[str, ...]) -> Any:
    """One Jinja environment per template search path, for the life of the process: its
    templates are compiled on first use only (compiling is ~99% of a render's cost)."""
    import jinja2

    env = jinja2.Environment(
        loader=_inlining_loader(search_path),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,  # a template file does not change under a running hpcrun
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from hpcrun.signals import WARNING_SIGNALS, signal_name

    env.filters.update(q=shell_quote, shpath=shell_path, comment=comment,
                       qv=jinja2.pass_context(_quote_value), signal_name=signal_name)  # fmt: skip
    env.globals["forwarded_signals"] = WARNING_SIGNALS
    return env


# A plain `{% include "name" %}` on a line of its own (the only form the built-in templates use).
_INCLUDE_LINE = re.compile(r'^\{% include "([^"]+)" %\}\n', re.MULTILINE)


def _inlining_loader(search_path: tuple[str, ...]) -> Any:
    """A FileSystemLoader that pastes each built-in template's built-in includes into it.

    An include with context costs a new Jinja context per render and include (a job script
    has a dozen): most of a render once templates are compiled. Pasted inside
    ``{% with %}`` (its own scope, as an include has), the output is the same bytes; the
    ``{% with %}`` and ``{% endwith %}`` lines vanish as the include line did (trim_blocks).
    A site's own template, or a built-in one a site overrides, is left as it is, so errors
    in a user's template keep naming its own file and line. The pasted source is what the
    bytecode cache checksums, so a changed include compiles again."""
    import os

    import jinja2

    builtin = os.path.join(os.path.normpath(str(builtin_templates())), "")

    class InliningLoader(jinja2.FileSystemLoader):
        def get_source(self, environment: Any, template: str) -> Any:
            source, filename, uptodate = super().get_source(environment, template)
            if not filename.startswith(builtin):
                return source, filename, uptodate

            def paste(match: re.Match[str]) -> str:
                text, where, _ = self.get_source(environment, match.group(1))
                if not where.startswith(builtin) or not text.endswith("\n"):
                    return match.group(0)
                return "{% with %}\n" + text + "{% endwith %}\n"

            return _INCLUDE_LINE.sub(paste, source), filename, uptodate

    return InliningLoader(list(search_path))


@lru_cache(maxsize=1)
def builtin_templates() -> Path:
    """The shipped template folder, looked up once per process (it does not move)."""
    return data_dir("templates")


def _bytecode_cache() -> Any:
    """Compiled templates kept under $HPCRUN_HOME/cache/templates, so that a short-lived
    `hpcrun render` does not compile them again (jinja checks each entry against the
    template's source). Best effort: with no writable cache folder, templates compile."""
    import contextlib
    import os

    import jinja2

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: Any) -> None:
            # full disk, read-only home: a cache miss next time, never an error
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    folder = hpcrun_home() / "cache" / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(folder, os.W_OK):
            return None
    except OSError:
        return None
    return QuietCache(str(folder))


def render_job_script(plan: JobPlan, site_templates: Path | None = None) -> str:
    """The complete batch script for ``plan``; a site's own template folder wins."""
    return _render(JOB_TEMPLATE[plan.scheduler], plan, site_templates)


def render_env_script(plan: JobPlan, site_templates: Path | None = None) -> str:
    """The script that builds ``plan``'s virtualenv on the login node."""
    return _render(ENV_TEMPLATE, plan, site_templates)


def render_sweep_script(plan: JobPlan, sweep: Any, site_templates: Path | None = None) -> str:
    """The one job array script of a sweep; ``sweep``: a ``hpcrun.sweep.script.SweepScript``."""
    return _render(SWEEP_TEMPLATE, plan, site_templates, sweep=sweep)


def _render(name: str, plan: JobPlan, site_templates: Path | None, **extra: Any) -> str:
    """A broken site template is the user's to fix: say which file and line, no traceback."""
    import jinja2

    dirs = [site_templates] if site_templates else []
    env = _environment(tuple(str(d) for d in [*dirs, builtin_templates()]))
    try:
        return env.get_template(name).render(plan=plan, **extra)
    except jinja2.TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise UsageError(f"template {where}: {exc.message}", _TEMPLATE_HINT) from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"template {_failing_line(exc) or name}: {exc}", _TEMPLATE_HINT) from None


@lru_cache(maxsize=1)
def _html_environment() -> Any:
    """HTML pages (the sweep report): autoescape ON, so every value is escaped; only the
    built-in templates (no site overrides, no shell filters)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(template_name: str, **context: Any) -> str:
    """An HTML page from a built-in template; every value from ``context`` is escaped."""
    return _html_environment().get_template(template_name).render(**context)


def _failing_line(exc: BaseException) -> str | None:
    """``file:line`` of the template frame that failed (jinja2 puts templates in tracebacks)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None


_TEMPLATE_HINT = (
    "templates see one variable, `plan` (hpcrun.plan.JobPlan); compare with the built-in "
    "templates/slurm/job.sh.j2"
)

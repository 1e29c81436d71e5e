"""Built-in includes pasted into the including template at load time (hpcrun.render): the
script is the same bytes as with Jinja's own include, a site's override of an included
template still wins, and a site's own template keeps its file and line in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcrun.errors import UsageError
from hpcrun.plan import JobPlan
from hpcrun.render import _environment, builtin_templates, render_job_script
from tests.conftest import write


def plan(**fields: object) -> JobPlan:
    base: dict[str, object] = dict(
        run="r-1", workflow="w", site="s", scheduler="slurm", job_name="r-1", file="train.py",
        time="01:00:00", time_seconds=3600,
    )  # fmt: skip
    return JobPlan(**{**base, **fields})  # type: ignore[arg-type]


def _plain_include_render(job: JobPlan) -> str:
    """The same template rendered with Jinja's own includes (nothing pasted)."""
    import jinja2

    env = _environment((str(builtin_templates()),))
    plain = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(builtin_templates())),
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    plain.filters.update(env.filters)
    plain.globals.update(env.globals)
    return plain.get_template("slurm/job.sh.j2").render(plan=job)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"modules": ("cuda/12",), "module_init": "/etc/profile.d/modules.sh"},
        {"requeue": True, "signal": "USR1", "signal_lead": 120, "notes": ("a note",)},
        {"resume_on_timeout": 3, "budget": "10h", "budget_seconds": 36000, "signal": "USR1",
         "signal_lead": 300},
        {"scheduler": "local", "env": (("A", "x y"),), "working_dir": "sub dir"},
    ],
)  # fmt: skip
def test_pasted_includes_render_the_same_bytes(fields: dict[str, object]) -> None:
    job = plan(**fields)
    assert render_job_script(job) == _plain_include_render(job)


def test_the_loaded_source_has_no_builtin_include_left() -> None:
    env = _environment((str(builtin_templates()),))
    source, _, _ = env.loader.get_source(env, "slurm/job.sh.j2")
    assert "{% include" not in source
    assert "hpcrun_forward()" in source  # supervise.sh.j2, two levels down, is in it


def test_a_site_override_of_an_included_template_still_wins(tmp_path: Path) -> None:
    write(tmp_path / "tpl" / "common" / "python.sh.j2", "# site python {{ plan.run|q }}\n")
    script = render_job_script(plan(), tmp_path / "tpl")
    assert "# site python r-1\n" in script
    assert "hpcrun_candidate" not in script  # the built-in python.sh.j2 is not used


def test_an_error_in_a_site_include_names_its_own_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "tpl" / "common" / "modules.sh.j2", "# ok\n\n{{ plan.no_such }}\n")
    with pytest.raises(UsageError, match=r"tpl/common/modules.sh.j2:3"):
        render_job_script(plan(), tmp_path / "tpl")

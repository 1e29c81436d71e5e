"""Put a run on the cluster: its private run folder, the code tree, inputs and job script.

Layout under ``<remote_root>/runs/<run>/``: ``code/`` (the project tree), ``input/``
(INPUT_FOLDER), ``output/`` (OUTPUT_FOLDER), ``checkpoint/``, ``job.sh`` and
``slurm-<job id>.log``. Virtualenvs are shared under ``<remote_root>/envs/``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from hpcrun.ignore import project_files
from hpcrun.transport.base import Shell, Transport, ensure, expand_home


def remote_root(transport: Transport, plan: Any) -> str:
    return expand_home(plan.remote_root, transport.home())


def run_dir_for(transport: Transport, plan: Any) -> str:
    return f"{remote_root(transport, plan)}/runs/{plan.run}"


def make_run_dir(transport: Transport, run_dir: str) -> None:
    """Created mode 0700: code, inputs and logs of a run are its owner's alone."""
    quoted = shlex.quote(run_dir)
    code = (
        f"umask 077 && mkdir -p {quoted}/code {quoted}/input {quoted}/output {quoted}/checkpoint"
        f" && chmod 700 {quoted}"
    )
    ensure(transport.run(Shell(code)), f"creating {run_dir}")


def upload_code(
    transport: Transport, project_root: Path, run_dir: str, previous_run_dir: str | None
) -> int:
    """The project tree (minus ignored files) into ``code/``; files unchanged since the
    previous upload of the same project are hard-linked from it, not sent again."""
    files = project_files(project_root)
    link_dest = f"{previous_run_dir}/code" if previous_run_dir else None
    return transport.sync_up(project_root, files, f"{run_dir}/code", link_dest=link_dest)


def upload_inputs(transport: Transport, inputs: Path, run_dir: str) -> int:
    if not inputs.is_dir():
        from hpcrun.errors import UsageError

        raise UsageError(f"--input {inputs} is not a folder")
    files = sorted(p.relative_to(inputs).as_posix() for p in inputs.rglob("*") if p.is_file())
    return transport.sync_up(inputs, files, f"{run_dir}/input")


def write_job_script(transport: Transport, script: str, run_dir: str) -> None:
    transport.put_text(script, f"{run_dir}/job.sh", mode=0o700)


def build_env_on_login_node(transport: Transport, env_script: str, run_dir: str) -> None:
    """For sites whose compute nodes have no internet: build the cached virtualenv now."""
    transport.put_text(env_script, f"{run_dir}/env.sh", mode=0o700)
    code = f"cd {shlex.quote(run_dir)} && SLURM_SUBMIT_DIR=$PWD bash ./env.sh"
    ensure(transport.run(Shell(code), timeout=1800), "building the Python environment")


def link_dependency(transport: Transport, run_dir: str, working_dir: str | None, up: Any) -> None:
    """Make an upstream run's artifacts appear in this run's tree, on the cluster, with no
    round trip through the laptop: symlinks into its run folder (they resolve once a
    chained upstream job has written them). Its OUTPUT_FOLDER appears as
    ``input/<workflow>``."""

    def under(folder: str, sub: str | None, path: str) -> str:
        return "/".join(part for part in (folder, "code", sub, path) if part)

    links = [
        (under(up.record.remote_dir, up.working_dir, p), under(run_dir, working_dir, p))
        for p in up.paths
    ]
    links.append((f"{up.record.remote_dir}/output", f"{run_dir}/input/{up.record.workflow}"))
    commands = ["set -e"]
    for source, target in links:
        parent = shlex.quote(target.rsplit("/", 1)[0])
        commands.append(
            f"mkdir -p {parent} && rm -rf {shlex.quote(target)}"
            f" && ln -s {shlex.quote(source)} {shlex.quote(target)}"
        )
    ensure(transport.run(Shell("\n".join(commands))), f"linking the artifacts of {up.record.run}")

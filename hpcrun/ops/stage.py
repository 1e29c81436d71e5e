"""Put a run on the cluster: its private run folder, the code tree, inputs and job script.

Layout under ``<remote_root>/runs/<run>/``: ``code/`` (the project tree), ``input/``
(INPUT_FOLDER), ``output/`` (OUTPUT_FOLDER), ``checkpoint/``, ``job.sh`` and
``slurm-<job id>.log``. Virtualenvs are shared under ``<remote_root>/envs/``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError
from hpcrun.ignore import scan_project
from hpcrun.transport.base import Shell, Transport, ensure, expand_home


def remote_root(transport: Transport, plan: Any) -> str:
    return expand_home(plan.remote_root, transport.home())


def run_dir_for(transport: Transport, plan: Any) -> str:
    from hpcrun.safepaths import check_name, join_remote

    return join_remote(f"{remote_root(transport, plan)}/runs", check_name(plan.run, "run name"))


def make_run_dir(transport: Transport, run_dir: str) -> None:
    """Created mode 0700: code, inputs and logs of a run are its owner's alone."""
    if getattr(transport, "restricted", False):  # one command, no shell (restricted keys)
        from hpcrun.ops.restricted import make_run_dir_argv

        ensure(transport.run(make_run_dir_argv(run_dir)), f"creating {run_dir}")
        return
    quoted = shlex.quote(run_dir)
    code = (
        f"umask 077 && mkdir -p {quoted}/code {quoted}/input {quoted}/output {quoted}/checkpoint"
        f" && chmod 700 {quoted}"
    )
    ensure(transport.run(Shell(code)), f"creating {run_dir}")


def upload_code(
    transport: Transport,
    project_root: Path,
    run_dir: str,
    previous_run_dir: str | None,
    feedback: Any = None,
) -> int:
    """The project tree (minus ignored files) into ``code/``; files unchanged since the
    previous upload of the same project are hard-linked from it, not sent again.
    ``feedback`` (``ops.upload_feedback.UploadFeedback``): where the warning about what is
    usually left out (large files, un-ignored environments) goes, before anything is sent,
    and the progress bar."""
    from contextlib import nullcontext

    from hpcrun.ops.upload_feedback import upload_warning

    scan = scan_project(project_root)
    warning = upload_warning(scan, project_root)
    if warning and feedback is not None:
        feedback.warn(warning)
    link_dest = f"{previous_run_dir}/code" if previous_run_dir else None
    reporter = feedback.progress if feedback is not None else None
    bar = reporter(scan.total_bytes, "uploading the project") if reporter else nullcontext(None)
    with bar as progress:
        return transport.sync_up(
            project_root, scan.files, f"{run_dir}/code", link_dest=link_dest, progress=progress
        )


def upload_inputs(transport: Transport, inputs: Path, run_dir: str, feedback: Any = None) -> int:
    from contextlib import nullcontext

    if not inputs.is_dir():
        from hpcrun.errors import UsageError

        raise UsageError(f"--input {inputs} is not a folder")
    paths = sorted(p for p in inputs.rglob("*") if p.is_file())
    files = [p.relative_to(inputs).as_posix() for p in paths]
    reporter = feedback.progress if feedback is not None else None
    total = sum(p.stat().st_size for p in paths) if reporter else 0
    bar = reporter(total, "uploading --input") if reporter else nullcontext(None)
    with bar as progress:
        return transport.sync_up(inputs, files, f"{run_dir}/input", progress=progress)


def write_job_script(transport: Transport, script: str, run_dir: str) -> None:
    transport.put_text(script, f"{run_dir}/job.sh", mode=0o700)


def build_env_on_login_node(transport: Transport, env_script: str, run_dir: str) -> None:
    """For sites whose compute nodes have no internet: build the cached virtualenv now."""
    transport.put_text(env_script, f"{run_dir}/env.sh", mode=0o700)
    code = f"cd {shlex.quote(run_dir)} && SLURM_SUBMIT_DIR=$PWD bash ./env.sh"
    ensure(transport.run(Shell(code), timeout=1800), "building the Python environment")


# Run on the cluster before each link: the target's folder must resolve (symlinks followed,
# as the shell would follow them) inside this run's folder, so `rm -rf` never reaches out
# through a link in the uploaded tree. $1 run folder, $2 link source, $3 link target.
_LINK_SCRIPT = r"""
set -e
source=$2 target=$3
root=$(cd -- "$1" && pwd -P)
inside() {
  real=$(cd -- "$1" && pwd -P) || return 1
  case "$real/" in "$root"/*) return 0 ;; esac
  echo "hpcrun: refusing to link $target: $1 is $real, outside the run folder $root" >&2
  return 1
}
parent=${target%/*}
probe=$parent
while [ ! -e "$probe" ] && [ ! -L "$probe" ]; do
  next=${probe%/*}
  [ "$next" != "$probe" ] || { echo "hpcrun: no folder of $target exists" >&2; exit 3; }
  probe=$next
done
inside "$probe" || exit 3
mkdir -p -- "$parent"
inside "$parent" || exit 3
rm -rf -- "$target"
ln -s -- "$source" "$target"
"""


def link_dependency(transport: Transport, run_dir: str, working_dir: str | None, up: Any) -> None:
    """Make an upstream run's artifacts appear in this run's tree, on the cluster, with no
    round trip through the laptop: symlinks into its run folder (they resolve once a
    chained upstream job has written them). Its OUTPUT_FOLDER appears as
    ``input/<workflow>``.

    Every path is checked here to stay inside its run folder (names and paths may come
    from an old record or a hostile file), and again on the cluster, where symlinks are
    visible, before anything is removed."""
    from hpcrun.safepaths import check_name, join_remote

    upstream_dir = up.record.remote_dir
    links = [
        (
            join_remote(upstream_dir, "code", up.working_dir, p, what="artifact path"),
            join_remote(run_dir, "code", working_dir, p, what="artifact path"),
        )
        for p in up.paths
    ]
    workflow = check_name(up.record.workflow, "dependency workflow name")
    links.append((join_remote(upstream_dir, "output"), join_remote(run_dir, "input", workflow)))
    commands = []
    for source, target in links:
        if target == run_dir:
            raise UsageError(f"refusing to replace {target} with a link")
        args = " ".join(shlex.quote(a) for a in ("hpcrun-link", run_dir, source, target))
        commands.append(f"bash -c {shlex.quote(_LINK_SCRIPT)} {args}")
    ensure(transport.run(Shell(" && ".join(commands))), f"linking the artifacts of {up.record.run}")

"""Pass-through ``#SBATCH`` directives (``--sbatch "--mail-type=END,FAIL"`` and a workflow's
``slurm: {sbatch: [...]}``): what is allowed through, and how they are merged.

sbatch reads ``#SBATCH`` lines itself (no shell), but a line break, a quote or a space
would still change what it reads, and a directive hpcrun writes itself (``--output``,
``--time``...) given twice would silently undo hpcrun's own. So only one long option,
with a value from a small character set, passes; hpcrun's own options are refused with
the hpcrun option that sets them.
"""

from __future__ import annotations

import re

FLAG_RE = re.compile(r"--[a-z][a-z0-9-]*")
# Letters, digits and what real values need: lists (,), times (:), mail (@), node
# ranges ([]), paths (/) and Slurm's %j patterns. No spaces, quotes, $, ;, |, & or `.
VALUE_RE = re.compile(r"[A-Za-z0-9_.+\-,:=/@%\[\]]+")
VALUE_RULE = "letters, digits and _ . + - , : = / @ % [ ] only"

# Directives hpcrun writes (or means to own) -> the hpcrun option or field that sets them.
OWNED = {
    "--gres": "--gpu/--gpu-name (resources.gpu)",
    "--gpus": "--gpu/--gpu-name (resources.gpu)",
    "--gpus-per-node": "--gpu/--gpu-name (resources.gpu)",
    "--gpus-per-task": "--gpu/--gpu-name (resources.gpu)",
    "--output": "none: hpcrun keeps the job's log (hpcrun logs RUN)",
    "--error": "none: hpcrun keeps the job's log (hpcrun logs RUN)",
    "--open-mode": "none: hpcrun keeps the job's log (hpcrun logs RUN)",
    "--job-name": "none: the job is named after the run",
    "--time": "--time (max_duration)",
    "--mem": "--memory (resources.memory)",
    "--mem-per-cpu": "--memory (resources.memory)",
    "--mem-per-gpu": "--memory (resources.memory)",
    "--cpus-per-task": "--cpu (resources.cpu)",
    "--partition": "--partition (slurm.partition)",
    "--account": "--account (slurm.account)",
    "--qos": "--qos (slurm.qos)",
    "--constraint": "--constraint (slurm.constraint)",
    "--requeue": "-i/--interruptible (resources.interruptible)",
    "--no-requeue": "-i/--interruptible (resources.interruptible)",
    "--array": "none: hpcrun submits one job per run",
    "--chdir": "--working-dir (working_dir)",
    "--export": "-e/--env (env)",
    "--wrap": "none: hpcrun writes the job script",
    "--dependency": "deps in the workflow",
}


def directive_problem(text: object) -> tuple[str, str] | None:
    """Why ``text`` cannot be a pass-through directive: (message, hint); None if it can."""
    example = "write one long option, e.g. --mail-type=END,FAIL"
    if not isinstance(text, str):
        return f"{text!r} is not an sbatch option", example
    flag, has_value, value = text.partition("=")
    if not FLAG_RE.fullmatch(flag):
        shown = text if len(text) <= 60 else text[:57] + "..."
        if re.fullmatch(r"-[A-Za-z](=.*)?", text) or re.fullmatch(r"-[A-Za-z]\s?\S*", text):
            return f"'{shown}' is a short option", "use the long form, e.g. --mail-type=END"
        return (
            f"'{shown}' is not a single --flag[=value] sbatch option (a lowercase --name, "
            "no spaces, quotes or line breaks)",
            example,
        )
    if flag in OWNED:
        owner = OWNED[flag]
        hint = (
            f"hpcrun sets {flag} itself; use {owner}"
            if not owner.startswith("none")
            else f"hpcrun sets {flag} itself ({owner.removeprefix('none: ')})"
        )
        return f"'{flag}' is set by hpcrun and cannot be passed through", hint
    if has_value and not VALUE_RE.fullmatch(value):
        return (
            f"the value of '{flag}' ('{value}') has characters hpcrun does not pass to sbatch",
            f"values may hold {VALUE_RULE}",
        )
    return None


def flag_of(directive: str) -> str:
    return directive.partition("=")[0]


def merge(*sources: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Directives from the least to the most specific source (site, workflow, command
    line): a later one replaces an earlier one of the same flag, in its place."""
    merged: dict[str, str] = {}
    for source in sources:
        for directive in source:
            flag = flag_of(directive)
            merged.pop(flag, None)  # the later value goes last, like sbatch would read it
            merged[flag] = directive
    return tuple(merged.values())

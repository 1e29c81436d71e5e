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

# Directives hpcrun writes (or means to own) -> how to get what they would do.
_GPU = "use --gpu/--gpu-name (resources.gpu in a workflow)"
_LOG = "hpcrun keeps the job's output in the run folder: read it with hpcrun logs RUN"
_MEM = "use --memory (resources.memory)"
OWNED = {
    "--gres": _GPU,
    "--gpus": _GPU,
    "--gpus-per-node": _GPU,
    "--gpus-per-task": _GPU,
    "--output": _LOG,
    "--error": _LOG,
    "--open-mode": _LOG,
    "--job-name": "the job is named after the run (hpcrun ps shows both)",
    "--time": "use --time (max_duration in a workflow)",
    "--mem": _MEM,
    "--mem-per-cpu": _MEM,
    "--mem-per-gpu": _MEM,
    "--cpus-per-task": "use --cpu (resources.cpu)",
    "--partition": "use --partition (slurm.partition)",
    "--account": "use --account (slurm.account)",
    "--qos": "use --qos (slurm.qos)",
    "--constraint": "use --constraint (slurm.constraint)",
    "--requeue": "use -i/--interruptible (resources.interruptible)",
    "--no-requeue": "use -i/--interruptible (resources.interruptible)",
    "--array": "hpcrun submits one job per run",
    "--chdir": "use --working-dir (working_dir)",
    "--export": "use -e/--env (env)",
    "--wrap": "hpcrun writes the job script itself",
    "--dependency": "use deps in the workflow",
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
        return (
            f"'{flag}' is set by hpcrun and cannot be passed through",
            f"hpcrun writes {flag} itself; {OWNED[flag]}",
        )
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

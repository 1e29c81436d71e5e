"""Which words after ``submit FILE.py`` (or ``run python FILE``) are hpcrun's and which are
the program's.

The rule (documented in docs/running.md): everything before the file is hpcrun's. After
the file, an option hpcrun knows (``-r reqs.txt``, ``--gpu 2``, ``--site=x``, written whole,
not bundled like ``-di``) is hpcrun's; every other word goes to the program, in order; and
everything after ``--`` goes to the program untouched. So ``hpcrun submit train.py --epochs
3`` passes ``--epochs 3``, and a program option that hpcrun also has (``-e``, ``--memory``)
goes after ``--``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def option_table(params: Iterable[Any]) -> dict[str, bool]:
    """Every option string of a click command -> whether it takes a value."""
    table: dict[str, bool] = {}
    for param in params:
        if getattr(param, "param_type_name", "") != "option":
            continue
        takes_value = not (param.is_flag or param.count)
        for name in (*param.opts, *param.secondary_opts):
            table[name] = takes_value
    return table


def _width(token: str, options: Mapping[str, bool]) -> int:
    """How many words an hpcrun option starting at ``token`` spans (0: not hpcrun's)."""
    if token in options:
        return 2 if options[token] else 1
    if token.startswith("--") and "=" in token and options.get(token.split("=", 1)[0]):
        return 1
    return 0


def _is_file_word(token: str, file_only: bool) -> bool:
    return file_only or token.lower().endswith(".py")


def split_program_args(
    args: Sequence[str], options: Mapping[str, bool], *, file_only: bool = False
) -> tuple[list[str], list[str] | None]:
    """(words for hpcrun's parser, the program's words or None when there are none to give).

    The file is the first positional word when it ends with ``.py`` (always, with
    ``file_only``); with no such file only ``--`` starts the program's words."""
    before, after = list(args), None
    if "--" in before:
        at = before.index("--")
        before, after = before[:at], before[at + 1 :]
    ours: list[str] = []
    program: list[str] = []
    seen_positional = found_file = False
    index = 0
    while index < len(before):
        token = before[index]
        width = _width(token, options)
        if width:
            ours.extend(before[index : index + width])
            index += width
            continue
        if found_file:
            program.append(token)
        else:
            ours.append(token)
            if not token.startswith("-") or token == "-":
                found_file = not seen_positional and _is_file_word(token, file_only)
                seen_positional = True
        index += 1
    if after is not None:
        program.extend(after)
    return ours, (program if program or after is not None else None)

"""The point table a sweep job reads: which point array task ``i`` runs.

One table per chunk, ``points.tsv`` in the folder sbatch runs from. Tab-separated, one
line per point, with a header line::

    index<TAB>point<TAB>lr<TAB>bs
    0<TAB>3f2a9c0d1e4b5a68<TAB>0.1<TAB>32

Row ``i`` (line ``i + 2``) is array task ``i``. Values are written as they are: the spec
refuses tabs, line breaks and NUL in values, so no escaping is needed, and the job script
splits a row with shell parameter expansion (never ``eval``, empty fields kept). The
script checks the header and the row's index before it trusts a row. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hpcrun.sweep.points import Point

TABLE_FILE = "points.tsv"
_FORBIDDEN = ("\t", "\n", "\r", "\x00")


class TableError(ValueError):
    """A table that cannot be written or read back faithfully."""


def table_header(parameters: Sequence[str]) -> str:
    return "\t".join(("index", "point", *parameters))


def render_table(parameters: Sequence[str], points: Sequence[Point]) -> str:
    """The table of ``points`` (array task i = points[i]), ending with a newline."""
    lines = [table_header(parameters)]
    for index, point in enumerate(points):
        values = point.params
        fields = [values[name] for name in parameters]
        for value in fields:
            if any(char in value for char in _FORBIDDEN):
                raise TableError(f"point {point.id}: value {value!r} has a tab or line break")
        lines.append("\t".join((str(index), point.id, *fields)))
    return "\n".join(lines) + "\n"


def parse_table(text: str) -> tuple[tuple[str, ...], list[Point]]:
    """(parameters, points in index order): the inverse of ``render_table``."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or not lines[0].startswith("index\tpoint"):
        raise TableError("not a point table: the first line must start with 'index<TAB>point'")
    parameters = tuple(lines[0].split("\t")[2:])
    points = []
    for number, line in enumerate(lines[1:]):
        fields = line.split("\t")
        if len(fields) != len(parameters) + 2 or fields[0] != str(number):
            raise TableError(f"line {number + 2}: expected index {number} and "
                             f"{len(parameters) + 2} fields")  # fmt: skip
        points.append(Point(fields[1], tuple(zip(parameters, fields[2:], strict=True))))
    return parameters, points


@dataclass(frozen=True)
class SweepScript:
    """What the array script template (``slurm/sweep.sh.j2``) knows about the sweep,
    besides the plan: its name and parameters; values come from the table at run time."""

    name: str
    parameters: tuple[str, ...]
    table_file: str = TABLE_FILE

    @property
    def env_names(self) -> dict[str, str]:
        from hpcrun.spec.sweep import param_env_name

        return {name: param_env_name(name) for name in self.parameters}

    @property
    def header(self) -> str:
        return table_header(self.parameters)

    @property
    def columns(self) -> tuple[tuple[int, str], ...]:
        """(field index in a row, environment variable) per parameter."""
        return tuple((2 + i, self.env_names[name]) for i, name in enumerate(self.parameters))

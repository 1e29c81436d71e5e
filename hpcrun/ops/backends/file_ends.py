"""The first or last bytes of many small remote files, read in ONE command.

A poll that sees many jobs end must not pay one round trip per job (or per sweep point)
to read what their files say (.attempts, the end of a log, .array-task). This sends one
shell loop per kind of read over the shlex-quoted paths; before each file's text it prints
a marker line holding a random word and the file's number, so whatever a file holds
(lines that look like markers, no final newline, binary junk) cannot be taken for another
file's text. A file that is missing or unreadable gives ''.

Linux refuses a single argument longer than 128 KiB (``bash -c CODE`` is one), so the
paths are split over several commands only when they would not fit in one: several
hundred files per command.

Restricted keys (no shell) read their files with ``cat`` or rsync instead
(``point_records.read_files``, ``RestrictedSlurmBackend``).
"""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Sequence
from typing import Any

from hpcrun.transport.base import Shell

Read = tuple[str, ...]  # the command that prints part of a file, without the path
FIRST_LINE: Read = ("head", "-n", "1")
LAST_TWO_LINES: Read = ("tail", "-n", "2")
LAST_8K: Read = ("tail", "-c", "8192")  # a log's end: bounded, whatever the job printed

# The shell code of one command stays under this many characters (quoted paths included),
# well below Linux's 128 KiB for one argument once quoted again for ``bash -c``.
MAX_CODE = 48_000

_LOOP = """for f in {paths}; do
  printf '\\n%s %s\\n' "$m" "$i"
  {read} -- "$f" 2>/dev/null
  i=$((i + 1))
done
"""


def read_ends(transport: Any, wanted: Sequence[tuple[Read, str]]) -> list[str]:
    """What each ``(read, path)`` prints, in the order asked; '' for a file that is
    missing or unreadable, and for every file of a command that fails as a whole."""
    texts = [""] * len(wanted)
    for batch in _batches(wanted):
        marker = f"hpcrun-{secrets.token_hex(8)}"
        answer = transport.run(Shell(script(marker, [wanted[index] for index in batch])))
        if answer.ok:
            for number, text in parse(answer.stdout, marker, len(batch)).items():
                texts[batch[number]] = text
    return texts


def script(marker: str, wanted: Sequence[tuple[Read, str]]) -> str:
    """One loop per kind of read, numbering the files in the order of ``wanted``; an end
    marker last, so that a cut-off answer loses its last file rather than misreads it."""
    code = [f"m={shlex.quote(marker)}"]
    for read, group in _grouped(wanted):
        paths = " ".join(shlex.quote(path) for _, path in group)
        code.append(f"i={group[0][0]}")
        code.append(_LOOP.format(paths=paths, read=shlex.join(read)))
    code.append("printf '\\n%s end\\n' \"$m\"")
    return "\n".join(code) + "\n"


def parse(stdout: str, marker: str, count: int) -> dict[int, str]:
    """File number -> its text, for each file whose text the next marker closes."""
    pieces = stdout.split(f"\n{marker} ")
    texts: dict[int, str] = {}
    # pieces[0]: anything printed before the first marker (a login banner); the last
    # piece: the end marker, or a file whose text may have been cut off
    for piece in pieces[1:-1]:
        number, _, text = piece.partition("\n")
        if number.isdigit() and int(number) < count:
            texts[int(number)] = text
    return texts


def _grouped(wanted: Sequence[tuple[Read, str]]) -> list[tuple[Read, list[tuple[int, str]]]]:
    """Runs of consecutive files read the same way, with their numbers."""
    groups: list[tuple[Read, list[tuple[int, str]]]] = []
    for number, (read, path) in enumerate(wanted):
        if groups and groups[-1][0] == read:
            groups[-1][1].append((number, path))
        else:
            groups.append((read, [(number, path)]))
    return groups


def _batches(wanted: Sequence[tuple[Read, str]]) -> list[list[int]]:
    """The files' indexes, split so that each command's code stays under MAX_CODE."""
    batches: list[list[int]] = []
    size, last = MAX_CODE, None
    for index, (read, path) in enumerate(wanted):
        cost = len(shlex.quote(path)) + 1
        loop = len(_LOOP) + 100  # a new loop (another kind of read), the markers
        if size + cost + (loop if read != last else 0) > MAX_CODE:
            batches.append([])
            size, last = 0, None
        if read != last:
            size, last = size + loop, read
        batches[-1].append(index)
        size += cost
    return batches

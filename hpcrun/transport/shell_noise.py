"""Login shells that print text: detect it once, keep it out of every parsed output.

Over SSH every command runs through the user's login shell, which first reads its startup
files (bash: ``~/.bashrc`` for every ssh command). Text printed there lands in the
command's stdout: rsync's protocol breaks on it ("protocol version mismatch") and a parser
could read a banner as a job id. So the SSH transports

- run ``PROBE`` before anything else: one command whose exact stdout is known, which
  also tells the home folder (``parse_probe``); anything else on stdout is noise, and
  hpcrun stops with ``not_clean_error`` (quoting the text and naming the likely file);
- wrap every other command in unique begin/end markers (``wrap``) and keep only what lies
  between them (``unwrap``), so that noise never reaches a parser even where the check
  is skipped (``site check`` reports the noise and goes on).

Everything here is pure (strings in, strings out), so it is tested without a server.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass

from hpcrun.errors import LoginShellNotClean

PROBE_TAG = "HPCRUN-CLEAN"
# stdout of a clean login: exactly "HPCRUN-CLEAN[<home>]HPCRUN-CLEAN"
PROBE = f"printf '{PROBE_TAG}[%s]{PROBE_TAG}' \"$HOME\""
_PROBE_OUTPUT = re.compile(rf"{PROBE_TAG}\[(.*?)\]{PROBE_TAG}", re.S)

FIX = "[[ $- == *i* ]] || return"
_QUOTE_LIMIT = 120
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass(frozen=True)
class ShellVerdict:
    """What the probe showed: the home folder, and any text the login shell printed."""

    home: str | None
    noise: str = ""  # on stdout: breaks transfers, so hpcrun stops
    stderr_noise: str = ""  # on stderr: harmless to hpcrun, worth a note

    @property
    def clean(self) -> bool:
        return self.home is not None and not self.noise  # a blank line breaks rsync too


def parse_probe(stdout: str, stderr: str) -> ShellVerdict:
    """The verdict on ``PROBE``'s output. No probe line at all: the command did not run
    as a POSIX shell command (``home`` is None; the stdout is kept as the noise)."""
    found = _PROBE_OUTPUT.search(stdout)
    if found is None:
        return ShellVerdict(None, stdout, stderr)
    noise = stdout[: found.start()] + stdout[found.end() :]
    return ShellVerdict(found.group(1), noise, stderr)


def first_line(text: str) -> str:
    """The first non-blank line of ``text``, without terminal escapes, shortened."""
    for line in _ANSI.sub("", text).splitlines():
        shown = "".join(ch if ch.isprintable() else "?" for ch in line).strip()
        if shown:
            return shown if len(shown) <= _QUOTE_LIMIT else shown[: _QUOTE_LIMIT - 3] + "..."
    return ""


# --------------------------------------------------------------------------- markers


@dataclass(frozen=True)
class Markers:
    """One command's begin/end markers (random: no output can contain them by chance)."""

    begin: str
    end: str

    @classmethod
    def new(cls) -> Markers:
        token = secrets.token_hex(8)
        return cls(f"HPCRUN-{token}-BEGIN", f"HPCRUN-{token}-END")


def wrap(line: str, markers: Markers) -> str:
    """``line`` (a command line for a POSIX login shell) between the markers, on stdout
    and on stderr, keeping its exit status. The markers have no newline of their own, so
    what lies between them is the command's output byte for byte."""
    b, e = markers.begin, markers.end
    return (
        f"printf %s {b}; printf %s {b} >&2; {line}\n"
        f"hpcrun_status=$?; printf %s {e}; printf %s {e} >&2; exit $hpcrun_status"
    )


_ANY_MARKER = re.compile(r"HPCRUN-[0-9a-f]{16}-(?:BEGIN|END)")


def without_markers(text: str) -> str:
    """``text`` with every marker removed (to read ssh's own messages in a stderr)."""
    return _ANY_MARKER.sub("", text)


def unwrap(data: bytes, markers: Markers) -> bytes:
    """What the command printed: the bytes between the markers. Without a begin marker the
    command never ran (the connection or the shell failed first): everything is kept,
    it is what explains the failure."""
    begin, end = markers.begin.encode(), markers.end.encode()
    start = data.find(begin)
    if start < 0:
        return data
    body = data[start + len(begin) :]
    stop = body.rfind(end)
    return body if stop < 0 else body[:stop]


# --------------------------------------------------------------------------- the error

# Startup files a login shell may read for `ssh host command`, or that they often source.
_CANDIDATES = (
    "~/.bashrc", "~/.bash_profile", "~/.bash_login", "~/.profile", "~/.zshenv", "~/.zshrc",
    "~/.cshrc", "~/.tcshrc", "/etc/bash.bashrc", "/etc/bashrc", "/etc/profile",
    "/etc/profile.d/*.sh", "/etc/zshenv", "/etc/zsh/zshenv",
)  # fmt: skip


def locate_script(text: str) -> str:
    """A shell script printing ``shell=$SHELL`` and one ``found=FILE`` line per startup
    file that contains ``text`` (or, failing that, its first 20 characters) literally."""
    needles = [text] + ([text[:20]] if len(text) > 20 else [])
    files = " ".join(f.replace("~", '"$HOME"', 1) if f.startswith("~") else f for f in _CANDIDATES)
    lines = ['printf "shell=%s\\n" "${SHELL:-}"']
    for needle in needles:
        lines.append(
            f'for f in {files}; do [ -f "$f" ] && grep -qF -- {shlex.quote(needle)} "$f" '
            '2>/dev/null && printf "found=%s\\n" "$f"; done'
        )
    return "\n".join(lines)


def parse_locate(stdout: str, home: str | None) -> tuple[str, list[str]]:
    """(the login shell's path, the files that print the text, ``~`` for the home)."""
    shell, found = "", []
    for line in stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "shell":
            shell = value.strip()
        elif key == "found" and value.strip():
            path = value.strip()
            if home and path.startswith(home.rstrip("/") + "/"):
                path = "~/" + path[len(home.rstrip("/")) + 1 :]
            if path not in found:
                found.append(path)
    return shell, found


def likely_files(shell: str) -> str:
    """Where a login shell of that kind most likely prints from, when no file was found."""
    name = shell.rsplit("/", 1)[-1]
    if name == "zsh":
        return "~/.zshenv (zsh reads it for every command), or a file it sources"
    if name in ("csh", "tcsh"):
        return "~/.cshrc or ~/.tcshrc, or a file it sources"
    return (
        "~/.bashrc (bash reads it for every ssh command), or a file it sources: "
        "/etc/bashrc, /etc/bash.bashrc, /etc/profile.d/..., ~/.bash_profile"
    )


def not_clean_error(
    where: str, verdict: ShellVerdict, shell: str = "", found: tuple[str, ...] | list[str] = ()
) -> LoginShellNotClean:
    """The error for a login shell that prints text on stdout (``found``: the startup
    files that contain the text, if any was found)."""
    quoted = first_line(verdict.noise) or "an empty line"
    if found:
        source = f"it comes from {', '.join(found)}"
    else:
        source = f"it likely comes from {likely_files(shell)}"
    name = shell.rsplit("/", 1)[-1]
    if name == "zsh":
        fix = "add `[[ -o interactive ]] || return` at the top of ~/.zshenv"
    elif name in ("csh", "tcsh"):
        fix = "print only when `$?prompt` is set (interactive shells) in ~/.cshrc"
    else:
        fix = f"add `{FIX}` at the top of ~/.bashrc (or print only in interactive shells)"
    return LoginShellNotClean(
        f"the login shell on {where} prints text for non-interactive commands: "
        f"{quoted!r}; {source}. File transfers (rsync) and the output hpcrun reads "
        "break on such text",
        hint=f"{fix}; check with `ssh HOST true`, which must print nothing",
    )

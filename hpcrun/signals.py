"""The signals hpcrun forwards to a job's program (a warning before a time limit or at
preemption, and ``hpcrun cancel --signal``). Pure data and one check: the site model, the
job templates and the CLI share them, and a name reaches a script only after this check."""

from __future__ import annotations

# Signals a program can catch and that mean nothing else to the batch shell (no KILL/STOP,
# no CHLD/CONT). TERM is also what Slurm sends at preemption and at the time limit.
WARNING_SIGNALS = ("USR1", "USR2", "TERM", "INT", "HUP", "URG", "XCPU")


def signal_name(value: object) -> str:
    """``"usr1"``, ``"SIGUSR1"`` -> ``"USR1"``; ValueError for anything not forwarded."""
    text = str(value).strip().upper().removeprefix("SIG")
    if text not in WARNING_SIGNALS:
        raise ValueError(
            f"{value!r} is not a signal hpcrun forwards; use one of {', '.join(WARNING_SIGNALS)}"
        )
    return text

"""A training loop that survives preemption and time limits (docs/interruptible.md).

Every step is checkpointed into $HPCRUN_CHECKPOINT_DIR (kept across requeues), so a new
attempt resumes after the last finished step. SIGUSR1 (hpcrun's warning before a time limit
or at preemption) and SIGTERM (preemption, cancel) only set a flag: the current step ends,
the checkpoint is written, and the program exits non-zero so the job continues in a new
attempt. Exit 0 means "done". At the end, $OUTPUT_FOLDER/steps.txt lists every step exactly
once, and signals.txt which signals each attempt received.

    python train.py --steps 20 --step-seconds 1
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

received: list[str] = []


def on_signal(signum: int, _frame: object) -> None:
    # Only note it: a handler that writes files could interrupt a half-written checkpoint.
    # (Slurm may deliver SIGTERM twice: to the program and through the job script.)
    received.append(signal.Signals(signum).name)


def load(checkpoint: Path) -> list[int]:
    """The steps finished so far (the checkpoint is replaced whole, never half-written)."""
    if not checkpoint.exists():
        return []
    return json.loads(checkpoint.read_text())["done"]


def save(checkpoint: Path, done: list[int]) -> None:
    temporary = checkpoint.with_suffix(".tmp")
    temporary.write_text(json.dumps({"done": done}))
    os.replace(temporary, checkpoint)  # atomic: the old or the new checkpoint, never half


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--step-seconds", type=float, default=1.0)
    options = parser.parse_args()
    signal.signal(signal.SIGUSR1, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    attempt = int(os.environ.get("HPCRUN_RESTART_COUNT", "0")) + 1
    checkpoints = Path(os.environ.get("HPCRUN_CHECKPOINT_DIR", "checkpoint"))
    output = Path(os.environ.get("OUTPUT_FOLDER", "output"))
    checkpoints.mkdir(parents=True, exist_ok=True)
    output.mkdir(parents=True, exist_ok=True)
    checkpoint = checkpoints / "state.json"

    done = load(checkpoint)
    if done:
        print(f"attempt {attempt}: resuming after step {done[-1]}", flush=True)
    else:
        print(f"attempt {attempt}: starting from step 0", flush=True)
    for step in range(len(done), options.steps):
        if received:
            break
        time.sleep(options.step_seconds)  # the work of one step
        done.append(step)
        save(checkpoint, done)
        print(f"step {step} done", flush=True)
    if received:
        with open(output / "signals.txt", "a") as log:
            log.write(f"attempt {attempt}: {' '.join(sorted(set(received)))}\n")
    if len(done) < options.steps:
        print(
            f"attempt {attempt}: stopping after step {done[-1] if done else '-'} "
            f"({', '.join(sorted(set(received)))}); the next attempt resumes",
            flush=True,
        )
        return 3  # not done: the job continues in a new attempt
    (output / "steps.txt").write_text("".join(f"{step}\n" for step in done))
    print(f"attempt {attempt}: all {len(done)} steps done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

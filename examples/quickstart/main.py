"""The quickstart job: a few steps of 'work', one result in results/ (a declared
artifact) and a summary in OUTPUT_FOLDER (always brought back)."""

import argparse
import json
import os
import platform
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--greeting", default="Hello")
    args = parser.parse_args()

    print(f"{args.greeting}! run {os.environ.get('HPCRUN_RUN')} on {platform.node()}")
    total = 0
    for step in range(1, args.steps + 1):
        total += step * step
        print(f"step {step}/{args.steps}: running total {total}")
        time.sleep(0.5)

    results = Path("results")
    results.mkdir(exist_ok=True)
    (results / "squares.txt").write_text(f"{total}\n")
    summary = {
        "run": os.environ.get("HPCRUN_RUN"),
        "job_id": os.environ.get("JOB_ID"),
        "experiment": os.environ.get("EXPERIMENT"),
        "steps": args.steps,
        "sum_of_squares": total,
    }
    output = Path(os.environ["OUTPUT_FOLDER"])
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("done:", json.dumps(summary))


if __name__ == "__main__":
    main()

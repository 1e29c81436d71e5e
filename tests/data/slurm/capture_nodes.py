"""Regenerate the node listing capture (``nodes.sinfo``, see README.md): a second.

Run as root on the test cluster (``scripts/test-cluster up``):

    python3 tests/data/slurm/capture_nodes.py
"""

from __future__ import annotations

from capture import run, save  # type: ignore[import-not-found]  # run from this folder

from hpcrun.schedulers import slurm_nodes


def main() -> None:
    argv = slurm_nodes.sinfo_nodes_argv()
    save("nodes.sinfo", run(argv), argv)


if __name__ == "__main__":
    main()

"""hpcrun: run dstack-style Python workflows on Slurm clusters over SSH, or locally."""

__version__ = "0.1.0"

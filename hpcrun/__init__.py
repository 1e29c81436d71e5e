"""hpcrun: run dstack-style Python workflows on Slurm clusters over SSH, or locally."""

__version__ = "0.1.0"

# The public API, imported on first use: `import hpcrun` (and `hpcrun --help`) stays fast.
__all__ = ["HpcrunError", "Run", "runs", "submit"]


def __getattr__(name: str) -> object:
    if name in ("submit", "runs", "Run"):
        from hpcrun import api

        return getattr(api, name)
    if name == "HpcrunError":
        from hpcrun.errors import HpcrunError

        return HpcrunError
    raise AttributeError(f"module 'hpcrun' has no attribute {name!r}")

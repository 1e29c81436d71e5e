"""pydantic models of a site config (schema in DESIGN.md; unknown keys are errors)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from hpcrun.units import Size

PYTHON_VERSION_RE = re.compile(r"\d+\.\d+(\.\d+)?")
# Names that end up in #SBATCH lines and must not carry spaces or shell syntax.
SLURM_NAME_RE = re.compile(r"^[A-Za-z0-9_.+\-,:=]+$")


class _Strict(BaseModel):
    """Unknown keys are errors; values never change after validation.

    Empty defaults are written ``default_factory=lambda: []``, not ``=list``: pydantic
    inspects a factory's signature when the class is built, and for a builtin that means
    parsing its text signature (~5% of a whole `hpcrun render`).

    ``defer_build``: a model's validator is built when it first validates, not when its
    module is imported: a nested model is validated inside its parent's validator (its
    own is never needed), and a command builds only the workflow type it reads."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _slurm_name(value: str) -> str:
    if not SLURM_NAME_RE.fullmatch(value):  # not match: `$` passes a trailing newline
        raise ValueError(
            f"'{value}' is not a valid Slurm name (letters, digits and _ . + - , : = only)"
        )
    return value


SlurmName = Annotated[str, AfterValidator(_slurm_name)]

# One ProxyJump hop: [user@]host[:port] or [user@][ipv6]:port (no spaces, commas or shell
# syntax: hops become ssh arguments and ProxyCommand words).
JUMP_HOP_RE = re.compile(
    r"(?:[A-Za-z0-9_.+-]+@)?(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)

# A --constraint expression: feature names joined by & | , with [] () * ! (sbatch reads
# #SBATCH lines itself, no shell; spaces, quotes and $ are still refused).
SLURM_CONSTRAINT_RE = re.compile(r"[A-Za-z0-9_.+\-,:=&|\[\]()*!]+")


def _slurm_constraint(value: str) -> str:
    if not SLURM_CONSTRAINT_RE.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a valid Slurm constraint (feature names joined by & | , "
            "with [ ] ( ) * !; no spaces or quotes)"
        )
    return value


SlurmConstraint = Annotated[str, AfterValidator(_slurm_constraint)]


class Login(_Strict):
    host: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str | None = None
    identity_file: str | None = None
    known_hosts: str | None = None
    # Jump hosts, first hop first: "gw" or "bob@gw:2222", a list of them, or ssh's
    # comma-separated chain; kept as that comma-separated string.
    proxy_jump: str | None = None
    transport: Literal["paramiko", "openssh"] = "paramiko"

    @field_validator("proxy_jump", mode="before")
    @classmethod
    def _hops(cls, value: object) -> object:
        if value is None or not isinstance(value, str | list):
            return value  # pydantic reports the wrong type
        hops = value.split(",") if isinstance(value, str) else value
        for hop in hops:
            if not isinstance(hop, str) or not JUMP_HOP_RE.fullmatch(hop.strip()):
                raise ValueError(
                    f"{hop!r} is not a jump host; write [user@]host[:port] (IPv6 as "
                    "[addr]:port), one list item per hop"
                )
        return ",".join(hop.strip() for hop in hops) if hops else None


class Modules(_Strict):
    init: str | None = None
    # "python/{version}", or a table {"3.10": "python/3.10.12", ...} of the versions a site has
    python: str | dict[str, str] | None = None
    always: list[str] = Field(default_factory=lambda: [])

    @field_validator("python")
    @classmethod
    def _python(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, str) and "{version}" not in value:
            raise ValueError(
                f"'{value}' does not contain '{{version}}'; write e.g. 'python/{{version}}' "
                "or a table of versions"
            )
        return value


class Partitions(_Strict):
    default: SlurmName | None = None
    preemptible: SlurmName | None = None


class Interruptible(_Strict):
    """Where ``interruptible: true`` work goes and how it is warned (docs/interruptible.md).
    Some sites preempt by partition, others by QOS; either or both may be given."""

    partition: SlurmName | None = None
    qos: SlurmName | None = None
    # Slurm requeues a preempted job (PreemptMode=REQUEUE); the job script requeues itself
    # where the site only cancels it (PreemptMode=CANCEL with GraceTime).
    requeue: bool = True
    # The warning: sent to the batch shell `signal_lead` seconds before the time limit (and
    # at preemption where the site sets preempt_send_user_signal); the job forwards it.
    signal: str = "USR1"
    signal_lead: int = Field(default=120, ge=1, le=65535)

    @field_validator("signal", mode="before")
    @classmethod
    def _signal(cls, value: object) -> object:
        from hpcrun.signals import signal_name

        return signal_name(value)  # its ValueError is the validation message


class GpuType(_Strict):
    # The gres type (`gpu:a100:N`); None where the site tells its GPUs apart only by a
    # constraint or a partition: then `--gres=gpu:N`.
    gres: SlurmName | None = None
    memory: Size | None = None
    partition: SlurmName | None = None
    # Node features that select this type (Perlmutter's 80 GB A100s: `gpu&hbm80g`),
    # AND-ed with the run's or the site's constraint (hpcrun.site.constraints).
    constraint: SlurmConstraint | None = None


class Defaults(_Strict):
    time: str = "01:00:00"
    account: SlurmName | None = None
    qos: SlurmName | None = None
    # Base memory when a workflow asks only for shm_size (shm is added on top of it).
    mem: Size | None = None
    # Python for project folders and bare files (no 'version:' of their own); unset: the
    # Python running hpcrun on the local site, dstack's 3.10 elsewhere (Site.default_python).
    python: str | None = None

    @field_validator("python", mode="before")
    @classmethod
    def _python(cls, value: object) -> object:
        if value is None:
            return None
        text = str(value).strip()
        if isinstance(value, bool) or not PYTHON_VERSION_RE.fullmatch(text):
            raise ValueError(f'expected a Python version like "3.11", got {value!r}')
        if isinstance(value, float) and text in ("3.1", "3.2"):
            raise ValueError(f'{value!r} was read as a number; quote it, e.g. "{value}0"')
        return text

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        # The same forms as a workflow's max_duration (Slurm's, and "2h", "1d12h"...);
        # kept as written, normalised when a job is resolved.
        from hpcrun.durations import DurationError, parse_duration

        try:
            parse_duration(value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None
        return value


class Site(_Strict):
    name: str
    scheduler: Literal["slurm", "local"]
    login: Login | None = None
    # Where runs/, envs/ and caches live on the cluster. The local site defaults to
    # $HPCRUN_HOME/local (see ops.session), a Slurm site to ~/hpcrun.
    remote_root: str | None = None
    modules: Modules = Field(default_factory=Modules)
    partitions: Partitions = Field(default_factory=Partitions)
    # interruptible work: its partition/QOS, requeue and warning (None: partitions.preemptible)
    interruptible: Interruptible | None = None
    gpus: dict[str, GpuType] = Field(default_factory=lambda: {})
    defaults: Defaults = Field(default_factory=Defaults)
    sbatch: list[str] = Field(default_factory=lambda: [])
    # A folder of templates that override the built-in ones (same file names).
    templates: str | None = None
    # Where the cached virtualenv is built: inside the job ("job"), or on the login node at
    # submit time ("login", for clusters whose compute nodes have no internet).
    env_build: Literal["job", "login"] = "job"
    # The login key runs only single allow-listed commands (an automation key bound to a
    # command wrapper): no shell, no sacct. See docs/ssh.md "Restricted automation keys".
    restricted_commands: bool = False
    # The cluster's MaxArraySize (sweeps split into arrays of at most this many points).
    # Unset: read from `scontrol show config` (a restricted key: Slurm's default, 1001).
    max_array_size: int | None = Field(default=None, ge=1)

    @field_validator("sbatch")
    @classmethod
    def _directives(cls, value: list[str]) -> list[str]:
        for directive in value:
            if not directive.startswith("-") or "\n" in directive:
                raise ValueError(
                    f"'{directive}' is not an sbatch option; write e.g. '--constraint=skylake'"
                )
        return value

    @model_validator(mode="after")
    def _local_has_no_login(self) -> Site:
        if self.scheduler == "local" and self.login is not None:
            raise ValueError("a 'local' site runs on this machine and takes no 'login'")
        return self

    @model_validator(mode="after")
    def _restricted_needs_no_shell(self) -> Site:
        if not self.restricted_commands:
            return self
        if self.scheduler != "slurm" or self.login is None:
            raise ValueError("restricted_commands is for a Slurm site reached with 'login'")
        if self.env_build == "login":
            raise ValueError(
                "env_build: login runs a shell script on the login node, which "
                "restricted_commands forbids; use env_build: job"
            )
        return self

    def default_python(self) -> str:
        """The Python version of a run that does not name one (project folders, bare
        files): ``defaults.python``; else, on the local site, the Python running hpcrun
        (which is installed here, so a first run needs nothing more); else dstack's 3.10."""
        if self.defaults.python:
            return self.defaults.python
        if self.scheduler == "local":
            import sys

            return f"{sys.version_info.major}.{sys.version_info.minor}"
        return "3.10"

    def interruptible_partition(self) -> str | None:
        """The partition interruptible runs go to: ``interruptible.partition``, else
        ``partitions.preemptible`` (None: a QOS alone makes them preemptible, or nothing)."""
        chosen = self.interruptible.partition if self.interruptible is not None else None
        return chosen or self.partitions.preemptible

    def gpu_type(self, name: str) -> tuple[str, GpuType] | None:
        """The site's GPU entry for a dstack name, case-insensitively."""
        for key, gpu in self.gpus.items():
            if key.lower() == name.lower():
                return key, gpu
        return None

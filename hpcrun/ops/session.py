"""One CLI invocation's resources: the store, loaded sites, and ONE open transport per
login, reused for every command the invocation runs and closed at the end.

Transports are keyed by what they connect to (the resolved login, or "this machine"), not
by the site's ``name:``: two site configs may share a name and still reach different
places, and two configs of the same login may share the connection."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any


class Session:
    def __init__(self, upload_feedback: Any = None) -> None:
        # where uploads warn and show progress (``ops.upload_feedback``); None: silently
        self.upload_feedback = upload_feedback
        self._store: Any = None
        self._sites: dict[str, tuple[Any, Path]] = {}
        self._transports: dict[tuple[Any, ...], Any] = {}
        self._snapshots: dict[str, Any] = {}  # recorded site config (JSON) -> Site

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def store(self) -> Any:
        if self._store is None:
            from hpcrun.store import default_store

            self._store = default_store()
        return self._store

    def site(self, name_or_path: str | None) -> tuple[Any, Path]:
        """A validated site config, loaded once per session."""
        key = name_or_path or ""
        if key not in self._sites:
            from hpcrun.site.load import load_site

            self._sites[key] = load_site(name_or_path)
        return self._sites[key]

    def use_site(self, key: str, site: Any, path: Path) -> None:
        """Make ``site(key)`` answer with this already loaded config (``rerun``: the run's
        recorded snapshot, not the YAML as it is now)."""
        self._sites[key] = (site, path)

    def site_of(self, record: Any) -> Any:
        """The site config a run was submitted with (or last pointed at with ``--site``):
        its recorded snapshot; for runs recorded before snapshots (or a snapshot this
        hpcrun cannot read), the YAML at the recorded path."""
        from hpcrun.errors import HpcrunError, UsageError

        snapshot = record.site_snapshot
        problem = None
        if snapshot:
            if snapshot not in self._snapshots:
                from hpcrun.site.snapshot import site_from_snapshot

                try:
                    self._snapshots[snapshot] = site_from_snapshot(snapshot)
                except UsageError as exc:
                    problem = exc.message
            if snapshot in self._snapshots:
                return self._snapshots[snapshot]
        try:
            return self.site(record.site_config)[0]
        except HpcrunError as exc:
            why = problem or "it was recorded without a copy of its site config"
            detail = exc.message
            if record.site_config not in detail:
                detail = f"{record.site_config}: {detail}"
            raise UsageError(
                f"cannot tell where {record.run} runs: {why}, and loading its site config "
                f"failed ({detail})",
                f"point it at the config of site '{record.site}' with --site SITE "
                f"(e.g. hpcrun logs {record.run} --site SITE; ps, artifacts and cancel "
                "take --site too)",
            ) from None

    def transport(self, site: Any) -> Any:
        key = transport_key(site)
        if key not in self._transports:
            from hpcrun.transport.factory import open_transport

            self._transports[key] = open_transport(site)
        return self._transports[key]

    def backend(self, site: Any) -> Any:
        from hpcrun.ops.backends import backend_for

        if getattr(site, "restricted_commands", False):
            from hpcrun.ops.backends.slurm_restricted import RestrictedSlurmBackend

            return RestrictedSlurmBackend()
        return backend_for(site.scheduler)

    def close(self) -> None:
        for transport in self._transports.values():
            transport.close()
        self._transports.clear()
        if self._store is not None:
            self._store.close()
            self._store = None


def transport_key(site: Any) -> tuple[Any, ...]:
    """What a site's transport connects to: this machine, or every field of its login (host,
    port, user, identity, known_hosts, proxy, transport kind), as open_transport uses them."""
    if site.scheduler == "local" or site.login is None:
        return ("local",)
    restricted = ("restricted",) if getattr(site, "restricted_commands", False) else ()
    return ("login", *sorted(site.login.model_dump().items()), *restricted)


def group_by_login(
    session: Session, records: Iterable[Any]
) -> tuple[list[tuple[Any, list[Any]]], dict[str, str]]:
    """Runs grouped by what their recorded site config reaches (scheduler and login), not
    by the YAML's path: each group shares one connection and one scheduler call, and runs
    of different logins never share one. Runs whose config cannot be loaded come back
    apart, run -> why, so that the others still go ahead."""
    from hpcrun.errors import HpcrunError

    groups: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}
    unloadable: dict[str, str] = {}
    for record in records:
        try:
            site = session.site_of(record)
        except HpcrunError as exc:
            unloadable[record.run] = exc.message
            continue
        groups.setdefault((site.scheduler, *transport_key(site)), (site, []))[1].append(record)
    return list(groups.values()), unloadable

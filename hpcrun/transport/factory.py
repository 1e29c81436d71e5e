"""Pick the transport for a site."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpcrun.site.models import Site
    from hpcrun.transport.base import Transport


def open_transport(site: Site) -> Transport:
    """This machine for the local site (or a site without ``login``); else SSH to the
    login node with paramiko, or with the ``ssh`` binary when ``login.transport`` is
    ``openssh``. Nothing connects yet: connections open on first use."""
    if site.scheduler == "local" or site.login is None:
        from hpcrun.transport.local import LocalTransport

        return LocalTransport()
    if site.login.transport == "openssh":
        from hpcrun.transport.openssh import OpenSshTransport

        remote: Transport = OpenSshTransport(site.login)
    else:
        from hpcrun.transport.ssh import SshTransport

        remote = SshTransport(site.login)
    if getattr(site, "restricted_commands", False):
        # only single allow-listed commands, no shell (docs/ssh.md)
        from hpcrun.transport.restricted import RestrictedTransport

        return RestrictedTransport(remote)  # type: ignore[return-value]
    return remote

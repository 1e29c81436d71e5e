"""The sweep points' own records (.array-task, .attempts) read on the real test cluster in
one round trip: by a shell loop over ssh (normal logins) and by one rsync (restricted
keys), both giving the same answer, a missing or odd folder included."""

from __future__ import annotations

import uuid
from pathlib import Path

from hpcrun.ops.backends import point_records
from hpcrun.ops.session import Session
from tests.integration.conftest import Cluster

ATTEMPTS = "1\tstarted\t2026-01-01T00:00:00Z\t13\n1\tended\tcompleted\t0\t2026-01-01T00:01:00Z\n"


def test_records_read_by_shell_and_by_rsync_agree(
    cluster: Cluster, tmp_path: Path, isolated_home: Path
) -> None:
    points = f"hpcrun-test-points-{uuid.uuid4().hex[:8]}"
    home = cluster.ssh_ok("echo $HOME").strip()
    folders = [f"{home}/{points}/{name}" for name in ("aaa", "b b'c", "missing")]
    cluster.ssh_ok(
        f"mkdir -p {points}/aaa \"{points}/b b'c\" && printf '12_0\\n' > {points}/aaa/.array-task"
        f" && printf '{ATTEMPTS}' > {points}/aaa/.attempts"
        f" && printf '12_1\\n' > \"{points}/b b'c/.array-task\""
    )
    try:
        with Session() as session:
            site, _ = session.site(str(cluster.site_config))
            transport = session.transport(site)
            by_shell = point_records.read_with_shell(transport, folders)
            by_rsync = point_records.read_with_rsync(transport, folders)
    finally:
        cluster.ssh(f"rm -rf {points}")
    assert (
        by_shell
        == by_rsync
        == {
            folders[0]: ("12_0", ATTEMPTS),
            folders[1]: ("12_1", ""),
            folders[2]: ("", ""),
        }
    )

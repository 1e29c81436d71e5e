"""Re-sync: re-uploading an unchanged tree and re-fetching unchanged artifacts, in bytes."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

from bench.fixtures import Context
from bench.report import Row, Section, verdict


def _tree(root: Path, total: int, files: int = 200) -> list[str]:
    size = total // files
    names = []
    for i in range(files):
        relative = f"pkg{i % 10}/data{i}.bin"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(os.urandom(size))
        names.append(relative)
    return names


def _kib(n: float) -> str:
    if n < 1024:
        return f"{n:,.0f} B"
    return f"{n / 1024:,.1f} KiB" if n < 1024**2 else f"{n / 1024**2:,.1f} MiB"


def _rsync_sent(source: str, dest: str, rsh: str | None) -> int:
    """Plain `rsync -a --stats` (what a user would type): total bytes it sent."""
    argv = ["rsync", "-a", "--stats", *(["-e", rsh] if rsh else []), source, dest]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^Total bytes sent: ([\d,.]+)", out, re.M)
    return int(re.sub(r"\D", "", match.group(1))) if match else -1


def run(ctx: Context) -> Section:
    from hpcrun.ops.session import Session

    total = 5 * 2**20 if ctx.smoke else 200 * 2**20
    tree = ctx.work / "resync-tree"
    files = _tree(tree, total)
    site = ctx.cluster.site_config if ctx.cluster else "local"
    base = f"~/hpcrun-bench-{uuid.uuid4().hex[:8]}"
    os.environ["HPCRUN_HOME"] = str(ctx.work / "resync-home")
    section = Section(
        "Re-sync",
        f"A tree of {len(files)} random files, {_kib(total)} in all, uploaded with hpcrun's "
        "transport to " + ("the test cluster over SSH (rsync)" if ctx.cluster else "the local "
        "site") + " the way `submit` does it (`sync_up` into a new run folder with "
        "`link_dest` = the previous upload), then uploaded again unchanged into a third "
        "folder; then fetched back twice with `sync_down` into the same local folder. hpcrun's "
        "figure: the literal file bytes the transport reports (rsync's `Literal data`). "
        "Beside it, plain `rsync -a --stats` of the same tree to the same place a second "
        "time: its `Total bytes sent` (protocol and file list included).",
    )  # fmt: skip
    with Session() as session:
        site_model, _ = session.site(site)
        transport = session.transport(site_model)
        try:
            first = transport.sync_up(tree, files, f"{base}/run1/code")
            again = transport.sync_up(
                tree, files, f"{base}/run2/code", link_dest=f"{base}/run1/code"
            )
            fetched = ctx.work / "resync-fetched"
            first_down = transport.sync_down(f"{base}/run1", ["code"], fetched).received
            again_down = transport.sync_down(f"{base}/run1", ["code"], fetched).received
            if shutil.which("rsync") is None:
                plain = -1  # the peer is missing, not hpcrun: leave its column out
            elif ctx.cluster:
                c = ctx.cluster
                rsh = shlex.join(c.ssh_argv("")[:-2])  # ssh and its options, no host/command
                dest = f"{c.user}@{c.host}:{base[2:]}/plain/"
                _rsync_sent(f"{tree}/", dest, rsh)
                plain = _rsync_sent(f"{tree}/", dest, rsh)
            else:
                dest = str(ctx.work / "resync-plain") + "/"
                _rsync_sent(f"{tree}/", dest, None)
                plain = _rsync_sent(f"{tree}/", dest, None)
        finally:
            transport.run(["rm", "-rf", transport_path(base, transport)])
    limit = total / 100
    peer = f"plain rsync: {_kib(plain)}" if plain >= 0 else "rsync: not installed"
    section.rows += [
        Row("first upload (literal bytes)", _kib(first)),
        Row("re-upload of the unchanged tree", _kib(again), peer,
            f"{again / total:.3%} of the tree", "< 1% of the tree",
            verdict(again < limit, ctx.smoke)),
        Row("first fetch (literal bytes)", _kib(first_down)),
        Row("re-fetch of unchanged artifacts", _kib(again_down), "", f"{again_down / total:.3%}"
            " of the tree", "< 1% of the tree", verdict(again_down < limit, ctx.smoke)),
    ]  # fmt: skip
    return section


def transport_path(path: str, transport: object) -> str:
    home = transport.home()  # type: ignore[attr-defined]
    return home + path[1:] if path.startswith("~") else path

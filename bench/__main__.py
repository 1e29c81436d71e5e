"""hpcrun's benchmarks against its peers: `python -m bench [--smoke | --cluster]`.

Prints a table and writes docs/benchmarks.md (with --smoke: only with --write)."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import envreuse, render, resync, startup, submit, tracking
from bench.fixtures import REPO, Context, find_cluster
from bench.report import NOT_RUN, Row, Section, print_table, write_markdown

BENCHMARKS: list[tuple[str, Callable[[Context], Section], bool]] = [
    # name, function, needs the cluster lock (submits to or tracks on the test cluster)
    ("Render", render.run, False),
    ("Start-up", startup.run, False),
    ("Submit", submit.run, True),
    ("Tracking load", tracking.run, True),
    ("Environment reuse", envreuse.run, True),
    ("Re-sync", resync.run, True),
]


# The test cluster is shared: integration test runs hold this lock (`flock`) while they use
# it, and so does every benchmark that submits to or tracks on it.
CLUSTER_LOCK = Path("/tmp/hpcrun-cluster.lock")


@contextlib.contextmanager
def cluster_lock(take: bool) -> Iterator[None]:
    if not take:
        yield
        return
    with CLUSTER_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, no cluster, no targets judged (< 60 s; CI)")  # fmt: skip
    parser.add_argument("--cluster", action="store_true",
                        help="require the test cluster (default: when it answers)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=None, help="alternating rounds")
    parser.add_argument("--only", action="append", default=[], help="run only these (by name)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the page (default docs/benchmarks.md; "
                        "--smoke writes nothing unless given)")  # fmt: skip
    options = parser.parse_args(argv)
    cluster = None if options.smoke else find_cluster()
    if options.cluster and cluster is None:
        parser.error("the test cluster does not answer (scripts/test-cluster status)")
    repeat = options.repeat or (3 if options.smoke else 7)
    work = Path(tempfile.mkdtemp(prefix="hpcrun-bench-"))
    # `python -m hpcrun` must find the hpcrun under test, not a folder named hpcrun here
    os.chdir(work)
    ctx = Context(options.smoke, repeat, work, cluster)
    sections: list[Section] = []
    failed = False
    try:
        for name, function, needs_lock in BENCHMARKS:
            if options.only and name.lower() not in {o.lower() for o in options.only}:
                continue
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            try:
                with cluster_lock(needs_lock and cluster is not None):
                    sections.append(function(ctx))
            except (Exception, subprocess.SubprocessError) as exc:  # one broken side: say so
                failed = True
                traceback.print_exc()
                sections.append(Section(name, "", [Row("(all)", f"{NOT_RUN}: {exc!r}")]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(sections)
    output = options.output or (None if options.smoke else REPO / "docs" / "benchmarks.md")
    if output is not None:
        raw = sys.argv[1:] if argv is None else argv
        write_markdown(output, sections, smoke=options.smoke, argv=raw)
        print(f"bench: wrote {output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

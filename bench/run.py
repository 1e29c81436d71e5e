"""hpcrun benchmarks: figures, not impressions.

    python bench/run.py              # no cluster: CLI start-up, render, local submit
    python bench/run.py --cluster    # also the test cluster (scripts/test-cluster up first)

Each figure is the median of several repetitions; the JSON of all figures is written to
bench/results.json (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "quickstart" / "workflows.yaml"
GOLDEN = REPO / "tests" / "data" / "golden" / "project" / ".dstack" / "workflows.yaml"
GPU_SITE = REPO / "tests" / "data" / "sites" / "gpu-cluster.yaml"


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hpcrun", *args], capture_output=True, text=True,
        env=env or os.environ.copy(), check=True,
    )  # fmt: skip


def bench_startup(results: dict[str, float]) -> None:
    results["cli --help (s)"] = median_seconds(lambda: cli("--help"), 10)
    results["python -c pass (s)"] = median_seconds(
        lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 10
    )
    imports = subprocess.run(
        [sys.executable, "-c", "import sys; from hpcrun.cli.main import main\n"
         "try: main(['--help'])\nexcept SystemExit: pass\nprint(len(sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    results["modules loaded by --help"] = float(imports.stdout.strip().splitlines()[-1])


def bench_render(results: dict[str, float]) -> None:
    from hpcrun.ops.prepare import prepare

    prepare(GOLDEN, "train", site=str(GPU_SITE), run="warm-up")
    results["render in-process (ms)"] = 1000 * median_seconds(
        lambda: prepare(GOLDEN, "train", site=str(GPU_SITE), run="r-1"), 50
    )
    results["hpcrun render CLI (s)"] = median_seconds(
        lambda: cli("render", str(GOLDEN), "train", "--site", str(GPU_SITE)), 5
    )


def bench_local(results: dict[str, float]) -> None:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HPCRUN_HOME": home}
        # the example sleeps 5 x 0.5 s: what is left is hpcrun's own overhead
        total = median_seconds(lambda: cli("submit", str(EXAMPLE), "hello", env=env), 3)
        results["local submit attached, example (s)"] = total
        results["local overhead beyond the job's 2.5 s (s)"] = total - 2.5
        results["local submit -d (s)"] = median_seconds(
            lambda: cli("submit", str(EXAMPLE), "hello", "-d", env=env), 3
        )


def bench_cluster(results: dict[str, float], site: str) -> None:
    from hpcrun.ops.session import Session
    from hpcrun.ops.submit import SubmitRequest, submit
    from hpcrun.ops.track import refresh

    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "tree"
        for i in range(200):  # 200 files, ~5 MB
            path = project / f"pkg{i % 10}" / f"file{i}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(25_000))
        (project / "nap.py").write_text("import time\ntime.sleep(60)\n")
        spec = "workflows:\n  - name: nap\n    provider: python\n    file: nap.py\n"
        (project / "workflows.yaml").write_text(spec + '    version: "3.11"\n')
        os.environ["HPCRUN_HOME"] = str(Path(folder) / "home")
        request = SubmitRequest(project / "workflows.yaml", "nap", site)
        with Session() as session:
            start = time.perf_counter()
            first = submit(session, request)
            results["cluster: first submit incl. connect (s)"] = time.perf_counter() - start
            results["cluster: first upload (KiB)"] = first.bytes_sent / 1024
            times, sizes = [], []
            for _ in range(19):
                start = time.perf_counter()
                again = submit(session, request)
                times.append(time.perf_counter() - start)
                sizes.append(again.bytes_sent)
            results["cluster: next submits, same connection (s)"] = statistics.median(times)
            results["cluster: unchanged re-upload (bytes)"] = statistics.median(sizes)
            transport = session.transport(session.site(site)[0])
            calls: list[str] = []
            real = transport.run

            def counting(command: object, **kwargs: object) -> object:
                calls.append(str(command))
                return real(command, **kwargs)  # type: ignore[arg-type]

            transport.run = counting  # type: ignore[method-assign]
            results["cluster: poll of 20 jobs (s)"] = median_seconds(lambda: refresh(session), 5)
            results["cluster: remote commands per poll of 20 jobs"] = len(calls) / 5
            transport.run = real  # type: ignore[method-assign]
            from hpcrun.ops.backends.slurm import SlurmBackend

            SlurmBackend().cancel(
                transport, {r.job_id: r.remote_dir for r in session.store.unfinished()}
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", action="store_true", help="also benchmark the test cluster")
    options = parser.parse_args()
    results: dict[str, float] = {}
    bench_startup(results)
    bench_render(results)
    bench_local(results)
    if options.cluster:
        env = subprocess.run([str(REPO / "scripts" / "test-cluster"), "env"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        site = next(line.split("=", 1)[1] for line in env.splitlines()
                    if line.startswith("export HPCRUN_TEST_SITE_CONFIG="))  # fmt: skip
        bench_cluster(results, site.strip("'\""))
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key.ljust(width)}  {value:10.3f}")
    (REPO / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Time limits and scheduler knobs through the real CLI: `render`/`submit --dry-run` flags,
the workflow's `slurm:` block, and the errors a user sees (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

from tests.cli import hpcrun
from tests.conftest import DATA, write

SITE = str(DATA / "sites" / "gpu-cluster.yaml")  # defaults.time 02:00:00, partition batch
WORKFLOWS = """workflows:
  - name: plain
    provider: bash
    commands: [echo hi]
  - name: tuned
    provider: bash
    commands: [echo hi]
    max_duration: 1d12h
    slurm:
      partition: long
      qos: high
      sbatch: [--mail-type=END]
"""


def sbatch_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("#SBATCH")]


def test_render_time_flag_and_its_alias(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    default = hpcrun("render", "plain", "--site", SITE, cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert "#SBATCH --time=02:00:00" in sbatch_lines(default.stdout)
    for flag, value, expected in [
        ("--time", "90m", "01:30:00"),
        ("--time", "90", "01:30:00"),
        ("--max-duration", "1d12h", "1-12:00:00"),
        ("--time", "2-00:00:00", "2-00:00:00"),
        ("--time", "45s", "00:00:45"),
    ]:
        result = hpcrun("render", "plain", "--site", SITE, flag, value, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert f"#SBATCH --time={expected}" in sbatch_lines(result.stdout), (flag, value)


def test_render_knob_flags_over_the_workflow_block(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    block = hpcrun("render", "tuned", "--site", SITE, cwd=tmp_path)
    assert block.returncode == 0, block.stderr
    lines = sbatch_lines(block.stdout)
    for line in ("--partition=long", "--time=1-12:00:00", "--account=proj42", "--qos=high",
                 "--constraint=ib", "--mail-type=END"):  # fmt: skip
        assert f"#SBATCH {line}" in lines, line
    flags = hpcrun(
        "render", "tuned", "--site", SITE, "--time", "30m", "--partition", "debug",
        "--account", "acct2", "--qos", "low", "--constraint", "skylake&ib",
        "--sbatch", "--mail-type=FAIL", "--sbatch=--exclusive", cwd=tmp_path,
    )  # fmt: skip
    assert flags.returncode == 0, flags.stderr
    lines = sbatch_lines(flags.stdout)
    for line in ("--partition=debug", "--time=00:30:00", "--account=acct2", "--qos=low",
                 "--constraint=skylake&ib", "--mail-type=FAIL", "--exclusive"):  # fmt: skip
        assert f"#SBATCH {line}" in lines, line
    assert "#SBATCH --mail-type=END" not in lines and "#SBATCH --constraint=ib" not in lines


def test_submit_dry_run_takes_the_same_flags(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    result = hpcrun(
        "submit", "plain", "--site", SITE, "--dry-run", "--time", "2h", "--qos", "big",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = sbatch_lines(result.stdout)
    assert "#SBATCH --time=02:00:00" in lines and "#SBATCH --qos=big" in lines


def test_bad_values_exit_2_with_the_accepted_forms(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    for value in ("0", "-5", "soon", "1:99"):
        result = hpcrun("render", "plain", "--site", SITE, "--time", value, cwd=tmp_path)
        assert result.returncode == 2, (value, result.stderr)
        assert f"--time: '{value}' is not a time limit" in result.stderr
        assert "Traceback" not in result.stderr
    owned = hpcrun("render", "plain", "--site", SITE, "--sbatch=--output=x", cwd=tmp_path)
    assert owned.returncode == 2
    assert "'--output' is set by hpcrun" in owned.stderr and "hpcrun logs RUN" in owned.stderr
    unsafe = hpcrun("render", "plain", "--site", SITE, "--sbatch=--comment=$(id)", cwd=tmp_path)
    assert unsafe.returncode == 2 and "has characters" in unsafe.stderr
    name = hpcrun("render", "plain", "--site", SITE, "--account", "a b", cwd=tmp_path)
    assert name.returncode == 2 and "--account: 'a b' is not a valid Slurm name" in name.stderr


def test_a_bad_block_in_the_file_is_located(tmp_path: Path) -> None:
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: w\n    provider: bash\n    commands: [true]\n"
        "    max_duration: 0\n    slurm: {sbatch: [--gres=gpu:2]}\n",
    )
    result = hpcrun("render", "w", "--site", SITE, cwd=tmp_path)
    assert result.returncode == 2
    assert "workflows.yaml:5:" in result.stderr and "max_duration" in result.stderr
    assert "workflows.yaml:6:" in result.stderr and "use --gpu/--gpu-name" in result.stderr


def test_run_python_takes_the_time_flag(tmp_path: Path) -> None:
    write(tmp_path / "train.py", "print('hi')\n")
    result = hpcrun(
        "run", "python", "train.py", "--time", "3h", "--site", SITE, "--dry-run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "#SBATCH --time=03:00:00" in sbatch_lines(result.stdout)

"""What rm/prune may remove: pure rules (sizes parsed, env names, env keys in job scripts,
whose artifacts folder is whose)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from hpcrun.ops.prune import _KEY_LINE, ENV_NAME, old_runs
from hpcrun.ops.remove import local_artifacts, parse_du
from tests.conftest import DATA


def test_du_lines_are_parsed_and_noise_ignored() -> None:
    text = "4096\t/h/hpcrun/runs/a-1\n123\t/h/hpcrun/runs/with space\ndu: cannot read x\n"
    assert parse_du(text) == {"/h/hpcrun/runs/a-1": 4096, "/h/hpcrun/runs/with space": 123}


def test_only_env_folders_by_their_exact_name() -> None:
    assert ENV_NAME.fullmatch("py3.11-e3ce94acdc167361")
    for name in ("py3.11-e3ce94acdc167361.lock", "py3.11-", "something", "py3-abc", "../x"):
        assert not ENV_NAME.fullmatch(name), name


def test_the_env_key_is_read_from_the_rendered_job_script() -> None:
    script = (DATA / "golden" / "train.gpu-cluster.sh").read_text()
    keys = [m.group(1) for line in script.splitlines() if (m := _KEY_LINE.match(line))]
    assert keys == ["87ac6c22400cb4d4"]
    assert 'touch "$hpcrun_env/.hpcrun-used"' in script  # what prune reads as "last used"


def test_a_user_chosen_artifacts_folder_is_kept(isolated_home: Path, tmp_path: Path) -> None:
    own = isolated_home / "artifacts" / "r-1"
    own.mkdir(parents=True)
    mine = SimpleNamespace(run="r-1", artifacts_dir=str(tmp_path / "mine"))
    assert local_artifacts(mine) == (own.resolve(), (tmp_path / "mine").resolve())
    default = SimpleNamespace(run="r-1", artifacts_dir=str(own))
    assert local_artifacts(default) == (own.resolve(), None)
    fetched_nowhere = SimpleNamespace(run="r-2", artifacts_dir=None)
    assert local_artifacts(fetched_nowhere) == (None, None)


def test_old_runs_are_finished_and_ended_before_the_cutoff() -> None:
    def run(name: str, final: bool, finished: str | None, site: str = "a") -> SimpleNamespace:
        return SimpleNamespace(run=name, final=final, finished_at=finished, site=site,
                               updated_at="2026-01-01T00:00:00Z")  # fmt: skip

    records = [
        run("old", True, "2020-01-01T00:00:00Z"),
        run("new", True, "2026-11-01T00:00:00Z"),
        run("going", False, None),
        run("elsewhere", True, "2020-01-01T00:00:00Z", site="b"),
    ]
    store = SimpleNamespace(list_runs=lambda: records)
    assert [r.run for r in old_runs(store, "2026-06-01T00:00:00Z", None)] == ["old", "elsewhere"]
    assert [r.run for r in old_runs(store, "2026-06-01T00:00:00Z", "a")] == ["old"]

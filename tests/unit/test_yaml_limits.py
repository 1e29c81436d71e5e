"""YAML from someone else's repository is bounded: aliases, nesting depth and file size
each stop with a clear error (exit 2) naming the file and line, within a second."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from hpcrun import yamlsource
from hpcrun.errors import SpecError
from hpcrun.yamlsource import MAX_YAML_BYTES, MAX_YAML_DEPTH, parse_yaml, read_yaml
from tests.cli import hpcrun
from tests.conftest import write

WORKFLOW = "workflows:\n  - {name: w, provider: bash, commands: [echo hi]}\n"


def billion_laughs() -> str:
    """The 1 KB alias bomb of issue 8: 9 levels of 9 aliases (9**9 strings if expanded)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    lines.append("workflows:\n  - {name: w, provider: bash, commands: [echo], env: *a9}")
    return "\n".join(lines) + "\n"


def nested(levels: int) -> str:
    return (
        "workflows:\n  - name: w\n    provider: bash\n    commands: "
        + "[" * levels
        + "]" * levels
        + "\n"
    )


def write_huge(path: Path, size: int) -> Path:
    line = "      - echo " + "x" * 60 + "\n"
    with path.open("w") as stream:
        stream.write("workflows:\n  - name: w\n    provider: bash\n    commands:\n")
        stream.write(line * (size // len(line)))
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> dict[str, Path]:
    assert len(billion_laughs()) < 1024
    return {
        "alias bomb": write(tmp_path / "bomb.yaml", billion_laughs()),
        "deep nesting": write(tmp_path / "deep.yaml", nested(800)),
        "huge file": write_huge(tmp_path / "huge.yaml", 50 * 1024 * 1024),
    }


EXPECTED = {
    "alias bomb": ("bomb.yaml:1:5:", "anchors (&a0) are not supported"),
    "deep nesting": ("deep.yaml:4:", f"deeper than the limit of {MAX_YAML_DEPTH} levels"),
    "huge file": ("huge.yaml:", "larger than the limit of 1 MiB"),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
@pytest.mark.parametrize(
    "command",
    [("validate", "{file}"), ("render", "{file}", "w"), ("submit", "--dry-run", "{file}", "w")],
)
def test_hostile_yaml_is_refused_quickly_by_the_cli(
    hostile: dict[str, Path], kind: str, command: tuple[str, ...]
) -> None:
    file = hostile[kind]
    started = time.monotonic()
    result = hpcrun(*(part.format(file=file) for part in command), timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    where, what = EXPECTED[kind]
    assert where in result.stderr and what in result.stderr, result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr
    # The limit itself bites in well under a second (see the in-process test below); the
    # margin here is the interpreter's start-up on a busy machine.
    assert elapsed < 3, f"{kind}: {elapsed:.1f} s"


@pytest.fixture(params=["libyaml events", "pure Python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The limits hold whether or not libyaml is installed."""
    if request.param == "pure Python":
        monkeypatch.setattr(yamlsource, "_loader_base", lambda: yaml.SafeLoader)
    return str(request.param)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_limit_bites_within_a_second(hostile: dict[str, Path], kind: str, loader: str) -> None:
    started = time.monotonic()
    with pytest.raises(SpecError) as info:
        read_yaml(hostile[kind])
    assert time.monotonic() - started < 1
    [problem] = info.value.problems
    assert problem.location is not None and problem.location.file == str(hostile[kind])
    assert problem.hint


def test_aliases_and_merge_keys_are_refused_where_they_appear(loader: str) -> None:
    text = "base: &base {provider: bash}\nworkflows:\n  - <<: *base\n    name: w\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, "w.yaml")
    assert str(info.value.problems[0].location) == "w.yaml:1:7"
    with pytest.raises(SpecError, match="aliases") as info:
        parse_yaml("a: *nowhere\n", "w.yaml")
    assert "aliases (*nowhere)" in info.value.problems[0].message


def test_depth_limit_is_exact(loader: str) -> None:
    ok = "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH
    assert parse_yaml(ok, "f.yaml").data is not None
    too_deep = "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1)
    with pytest.raises(SpecError) as info:
        parse_yaml(too_deep, "f.yaml")
    assert str(info.value.problems[0].location) == f"f.yaml:1:{MAX_YAML_DEPTH + 1}"
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(MAX_YAML_DEPTH + 5))
    with pytest.raises(SpecError, match="nested too deeply"):
        parse_yaml(block, "f.yaml")


def test_size_limit_is_exact(tmp_path: Path) -> None:
    padding = "#" * 79 + "\n"
    body = WORKFLOW + padding * ((MAX_YAML_BYTES - len(WORKFLOW)) // len(padding))
    body += "#" * (MAX_YAML_BYTES - len(body) - 1) + "\n"
    assert len(body.encode()) == MAX_YAML_BYTES
    assert read_yaml(write(tmp_path / "max.yaml", body)).data["workflows"]
    with pytest.raises(SpecError, match="too large"):
        read_yaml(write(tmp_path / "over.yaml", body + "\n"))


def test_a_device_is_not_read_forever() -> None:
    with pytest.raises(SpecError, match="too large"):
        read_yaml(Path("/dev/zero"))


def test_site_configs_and_variables_files_are_bounded_too(tmp_path: Path) -> None:
    site = write(tmp_path / "site.yaml", "name: &n x\nscheduler: local\n")
    write(tmp_path / "workflows.yaml", WORKFLOW)
    result = hpcrun("render", "w", "--site", str(site), cwd=tmp_path)
    assert result.returncode == 2 and "site.yaml:1:7" in result.stderr, result.stderr
    (tmp_path / ".dstack").mkdir()
    write(tmp_path / ".dstack" / "variables.yaml", "variables: &v {a: 1}\n")
    write(tmp_path / ".dstack" / "workflows.yaml", WORKFLOW)
    result = hpcrun("validate", cwd=tmp_path)
    assert result.returncode == 2 and "variables.yaml:1:12" in result.stderr, result.stderr


CORPUS = sorted(Path("/work/shared/corpus/dstack-workflows").glob("*.yaml")) + sorted(
    (Path(__file__).resolve().parents[1] / "data").rglob("*.yaml")
)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_libyaml_events_give_the_same_data_and_positions(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def outcome() -> object:
        try:
            document = read_yaml(path)
        except SpecError as exc:
            return exc.render()
        return document.data, document.source, [p.render() for p in document.problems]

    fast = outcome()
    monkeypatch.setattr(yamlsource, "_loader_base", lambda: yaml.SafeLoader)
    assert outcome() == fast

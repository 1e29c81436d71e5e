"""The 15 real dstack workflow files in tests/data/dstack-workflows/ (see SOURCES.md there).

Valid workflows load; invalid ones get a precise, located error; a broken workflow never
blocks the others in its file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcrun.errors import SpecError
from hpcrun.spec.load import load_workflows
from tests.conftest import DATA, write

CORPUS = DATA / "dstack-workflows"

# Variables from SOURCES.md, written as the project's .dstack/variables.yaml.
VARIABLES = {
    "OlegBEZb_Personalize-Expedia-Hotel-Searches__.dstack_workflows.yaml": "variables:\n  train-catboost:\n    gpu: 1\n",
    "armored-guitar_dewarp_master_abby__.dstack_workflows.yaml": 'variables:\n  train:\n    config: "configs/segformer.yaml"\n    overrides: ""\n',
    "rajeshai_ydata-dstack__.dstack_workflows.yaml": "variables:\n  train:\n    tgpu: 1\n",
    "recohut_dstack-examples__.dstack_workflows.yaml": "variables:\n  train-mnist:\n    gpu: 0\n  finetune-gluemrpc:\n    fgpu: 0\n    learning-rate: 2e-5\n",
    "smathews88_PyTorchLightning__.dstack_workflows.yaml": "variables:\n  train-mnist:\n    gpu: 0\n",
    "dstackai_dstack-examples__.dstack_workflows.yaml": "variables:\n  train:\n    batch-size: 64\n    epochs: 1\n",
}

# file -> {workflow: substring of its (first) problem}; every other workflow must load.
EXPECTED_PROBLEMS = {
    "OlegBEZb_Personalize-Expedia-Hotel-Searches__.dstack_workflows.yaml": {
        "preprocess-data": "undefined variable 'gpu'",
    },
    "armored-guitar_dewarp_master_abby__.dstack_workflows.yaml": {
        "train": "'provider' takes one word",
    },
    "rajeshai_ydata-dstack__.dstack_workflows.yaml": {
        "train": "the Python version goes in its own field",
    },
    "dstackai_dstack__README.md.yaml": {"app": "provider 'streamlit' is not supported by hpcrun"},
    # an artifact outside the project: refused where it is read (it never rendered)
    "kengz_lean-dl-example__.dstack_workflows.yaml": {
        "setup-conda": "artifact path '/opt/conda/envs/dl' is absolute",
    },
}


def corpus_files() -> list[str]:
    return sorted(p.name for p in CORPUS.glob("*.yaml"))


def load_with_variables(name: str, tmp_path: Path):
    workflows = write(tmp_path / ".dstack" / "workflows.yaml", (CORPUS / name).read_text())
    if name in VARIABLES:
        write(tmp_path / ".dstack" / "variables.yaml", VARIABLES[name])
    return load_workflows(workflows)


def test_the_corpus_is_complete() -> None:
    assert len(corpus_files()) == 15
    assert (CORPUS / "SOURCES.md").is_file()


@pytest.mark.parametrize("name", corpus_files())
def test_corpus_file(name: str, tmp_path: Path) -> None:
    loaded = load_with_variables(name, tmp_path)
    expected = EXPECTED_PROBLEMS.get(name, {})
    assert not loaded.file_problems
    for workflow in loaded.names:
        if workflow in expected:
            with pytest.raises(SpecError) as caught:
                loaded.get(workflow)
            problem = caught.value.problems[0]
            assert expected[workflow] in problem.message
            assert problem.location is not None and problem.location.line > 1
            assert problem.hint
        else:
            assert loaded.get(workflow).name == workflow
    assert set(expected) <= set(loaded.names)


def test_float_version_comes_out_as_written(tmp_path: Path) -> None:
    loaded = load_with_variables(
        "OlegBEZb_Personalize-Expedia-Hotel-Searches__.dstack_workflows.yaml", tmp_path
    )
    workflow = loaded.get("train-catboost")
    assert workflow.version == "3.8"
    assert workflow.file == "dstack_catboost_ranker.py"  # python_script alias
    assert workflow.resources.gpu.count == 1
    assert workflow.deps[0].workflow == "preprocess-data" and workflow.deps[0].tag == "downsampling"


def test_workflow_name_with_trailing_spaces_and_args_list(tmp_path: Path) -> None:
    loaded = load_with_variables("dstackai_dstack__providers_python_README.md.yaml", tmp_path)
    workflow = loaded.get("download-model")
    assert workflow.args == ["--model", "117M"]
    assert workflow.environment == {"PYTHONPATH": "src"}
    assert int(workflow.resources.memory) == 32 * 10**9


def test_python_eq_version_error_is_located(tmp_path: Path) -> None:
    loaded = load_with_variables("rajeshai_ydata-dstack__.dstack_workflows.yaml", tmp_path)
    with pytest.raises(SpecError) as caught:
        loaded.get("train")
    problem = caught.value.problems[0]
    assert (problem.location.line, problem.location.column) == (3, 15)
    assert problem.hint == "write 'provider: python' and 'version: \"3.8\"'"


def test_zero_gpu_variable_means_no_gpu(tmp_path: Path) -> None:
    loaded = load_with_variables("recohut_dstack-examples__.dstack_workflows.yaml", tmp_path)
    assert loaded.get("train-mnist").resources.gpu is None
    assert loaded.get("train-mnist").deps[0].tag == "v1"


def test_bash_resources_file(tmp_path: Path) -> None:
    loaded = load_with_variables(
        "dstackai_dstack-examples__.dstack_workflows_resources.yaml", tmp_path
    )
    assert loaded.get("gpu-i").resources.interruptible is True
    assert int(loaded.get("shm-size").resources.shm_size) == 16 * 10**9
    assert loaded.get("gpu-v100").resources.gpu.name == "V100"
    assert loaded.get("local-hello").resources.local is True


def test_new_style_deps_and_path_artifacts(tmp_path: Path) -> None:
    loaded = load_with_variables("kengz_lean-dl-example__.dstack_workflows.yaml", tmp_path)
    train = loaded.get("train")
    assert [d.workflow for d in train.deps] == ["setup-conda", "download"]
    with pytest.raises(SpecError) as caught:
        loaded.get("setup-conda")
    assert "/opt/conda/envs/dl" in caught.value.problems[0].message

"""resolve(workflow, site) -> JobPlan: pure mapping of requests onto a site."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hpcrun.errors import ResolveError
from hpcrun.requirements import Requirements
from hpcrun.site.load import load_site
from hpcrun.site.models import Site
from hpcrun.site.resolve import resolve
from hpcrun.spec.models import BashWorkflow, PythonWorkflow
from tests.conftest import DATA


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(str(DATA / "sites" / "gpu-cluster.yaml"))[0]


def workflow(**fields: Any) -> PythonWorkflow:
    return PythonWorkflow.model_validate(
        {"name": "w", "provider": "python", "file": "a.py", **fields}
    )


def plan(site: Site, **fields: Any):
    return resolve(workflow(**fields), site, run="w-1234", submit_env={"TOKEN": "s3cret"})


def test_plain_workflow_uses_site_defaults(site: Site) -> None:
    result = plan(site)
    assert result.partition == "batch"
    assert (result.gres, result.mem_mib, result.cpus_per_task) == (None, None, None)
    assert (result.time, result.account, result.qos) == ("02:00:00", "proj42", "normal")
    assert result.modules == ("gcc/12", "python/3.10")
    assert result.extra_directives == ("--constraint=ib",)
    assert result.requeue is False
    assert result.job_name == "w-1234"


def test_named_gpu_is_case_insensitive_and_uses_its_partition(site: Site) -> None:
    result = plan(site, resources={"gpu": {"name": "v100", "count": "2"}})
    assert result.gres == "gpu:v100:2"
    assert result.partition == "gpu-v100"


def test_unknown_gpu_lists_the_sites_names(site: Site) -> None:
    with pytest.raises(ResolveError, match="has no GPU named 'A10'") as caught:
        plan(site, resources={"gpu": {"name": "A10"}})
    assert "A100 (80GB)" in caught.value.hint and "V100 (32GB)" in caught.value.hint


def test_gpu_memory_picks_the_smallest_type_that_fits(site: Site) -> None:
    assert plan(site, resources={"gpu": {"memory": "40GB"}}).gres == "gpu:a40:1"
    assert plan(site, resources={"gpu": {"memory": "49GB"}}).gres == "gpu:a100:1"
    assert plan(site, resources={"gpu": {"memory": "16GB", "count": 3}}).gres == "gpu:v100:3"


def test_gpu_memory_that_no_type_has_is_rejected(site: Site) -> None:
    with pytest.raises(ResolveError, match="no GPU on site 'gpu-cluster' has 100GB"):
        plan(site, resources={"gpu": {"memory": "100GB"}})
    with pytest.raises(ResolveError, match="less than the gpu.memory 40GB"):
        plan(site, resources={"gpu": {"name": "V100", "memory": "40GB"}})
    with pytest.raises(ResolveError, match="does not record the memory of T4"):
        plan(site, resources={"gpu": {"name": "t4", "memory": "8GB"}})


def test_gpu_count_without_name_is_generic(site: Site) -> None:
    assert plan(site, resources={"gpu": "2"}).gres == "gpu:2"


def test_memory_in_mib_and_shm_added(site: Site) -> None:
    assert plan(site, resources={"memory": "16GiB"}).mem_mib == 16384
    assert plan(site, resources={"memory": "16GB"}).mem_mib == 15259
    both = plan(site, resources={"memory": "16GiB", "shm_size": "2GiB"})
    assert both.mem_mib == 18432
    assert any("shm_size" in note for note in both.notes)
    # shm alone is added to the site's defaults.mem (4GB)
    assert plan(site, resources={"shm_size": "1GiB"}).mem_mib == 3815 + 1024


def test_shm_without_any_memory_base_is_an_error() -> None:
    bare = Site.model_validate({"name": "s", "scheduler": "slurm"})
    with pytest.raises(ResolveError, match="shm_size needs a memory request"):
        resolve(workflow(resources={"shm_size": "1GB"}), bare, run="r")


def test_interruptible_goes_to_preemptible_partition_with_requeue(site: Site) -> None:
    result = plan(site, resources={"interruptible": "true", "gpu": {"name": "V100"}})
    assert (result.partition, result.requeue) == ("preempt", True)
    assert any("instead of the GPU's own partition" in note for note in result.notes)


def test_interruptible_without_preemptible_partition_is_an_error() -> None:
    bare = Site.model_validate({"name": "s", "scheduler": "slurm"})
    with pytest.raises(ResolveError, match="no preemptible partition"):
        resolve(workflow(resources={"interruptible": True}), bare, run="r")


def test_python_version_module_and_unknown_versions(site: Site) -> None:
    assert plan(site, version="3.8").modules[-1] == "python/3.8"
    with pytest.raises(ResolveError, match="unknown Python version '3.99'"):
        plan(site, version="3.99")
    table = Site.model_validate(
        {"name": "t", "scheduler": "slurm", "modules": {"python": {"3.10": "python/3.10.12"}}}
    )
    assert resolve(workflow(), table, run="r").modules == ("python/3.10.12",)
    with pytest.raises(ResolveError, match="has no Python 3.9") as caught:
        resolve(workflow(version="3.9"), table, run="r")
    assert "3.10" in caught.value.hint


def test_environment_merges_and_takes_bare_names_from_submitter(site: Site) -> None:
    result = plan(site, environment={"A": "1"}, env=["B=2", "TOKEN"])
    assert result.env == (("A", "1"), ("B", "2"), ("TOKEN", "s3cret"))
    with pytest.raises(ResolveError, match="env 'MISSING' takes its value from your environment"):
        plan(site, env=["MISSING"])


def test_requirements_key_the_env(site: Site) -> None:
    def key(*lines: str, version: str = "3.10", own: tuple[str, ...] = ()) -> str | None:
        requirements = Requirements(requirements=lines, python_path=own)
        return resolve(
            workflow(requirements="r.txt", version=version), site, run="r",
            requirements=requirements,
        ).env_key  # fmt: skip

    assert key("numpy") == key("numpy") == key("numpy", own=("src",))
    assert key("numpy") != key("numpy==2")
    # the Python asked for is part of the key (the job script also prefixes the one that runs)
    assert key("numpy") != key("numpy", version="3.11")
    assert key() is None  # only the run's own code, or nothing: no environment at all
    assert resolve(workflow(), site, run="r").env_key is None


@pytest.mark.parametrize("field", ["file", "working_dir", "requirements"])
@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.py", "a/../../b"])
def test_paths_stay_inside_the_project(site: Site, field: str, path: str) -> None:
    # refused where the file is read ...
    with pytest.raises(ValidationError, match="must be a relative path inside the project"):
        plan(site, **{field: path})
    # ... and still by resolve, for a workflow that skipped validation
    unchecked = workflow().model_copy(update={field: path})
    with pytest.raises(ResolveError, match="must be a path inside the project"):
        resolve(unchecked, site, run="w-1234")


def test_absolute_artifact_is_rejected(site: Site) -> None:
    with pytest.raises(ValidationError, match="artifact path '/opt/conda' is absolute"):
        plan(site, artifacts=["/opt/conda"])


def test_local_site_warns_about_what_it_cannot_honour() -> None:
    local = load_site("local")[0]
    result = resolve(
        workflow(resources={"gpu": {"name": "A100", "count": 2}, "interruptible": True}),
        local,
        run="r",
    )
    assert result.gres is None and result.requeue is False
    assert any("does not reserve GPUs" in w for w in result.warnings)
    assert any("interruptible has no effect" in w for w in result.warnings)


def test_bash_workflow_commands(site: Site) -> None:
    bash = BashWorkflow.model_validate({"name": "b", "provider": "bash", "commands": ["echo 1"]})
    result = resolve(bash, site, run="b-1")
    assert (result.commands, result.file) == (("echo 1",), None)


def test_resolve_is_pure(site: Site) -> None:
    assert plan(site, resources={"gpu": "1"}) == plan(site, resources={"gpu": "1"})

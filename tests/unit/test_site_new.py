"""The pure parts of `hpcrun site new`: the name rule, the `name:` line replacement (text,
comments kept) and the one-line summary of a shipped config."""

from __future__ import annotations

import pytest

from hpcrun.ops.site_new import shipped_sites, site_name_problem, summary, with_name
from hpcrun.yamlsource import read_yaml

CONFIG = """# A test site: it models nothing.
# More about it.
name: old-name   # the name --site finds
scheduler: slurm
login:
  name: nested-not-touched
  host: h
"""


def test_with_name_replaces_only_the_top_level_name_line_and_keeps_comments() -> None:
    text = with_name(CONFIG, "mycluster")
    assert text == CONFIG.replace("name: old-name   #", "name: mycluster   #")
    assert "  name: nested-not-touched\n" in text


@pytest.mark.parametrize("name", ["null", "NULL", "true", "no", "123", "1.5", "2e5"])
def test_a_name_yaml_would_not_read_as_text_is_quoted(tmp_path, name: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(with_name(CONFIG, name))
    assert read_yaml(path).data["name"] == name
    assert f"name: '{name}'" in path.read_text()


def test_a_config_without_a_name_line_gets_one_after_its_leading_comment() -> None:
    text = with_name("# about\nscheduler: local\n", "here")
    assert text == "# about\nname: here\nscheduler: local\n"


def test_summary_is_the_first_clause_of_the_leading_comment() -> None:
    assert summary(CONFIG) == "A test site"
    assert summary("# A site modelled on CSC's Puhti (Finland). It follows\n# pages\n") == (
        "A site modelled on CSC's Puhti (Finland)"
    )
    assert summary("#\n# after an empty line\n#\n# not this\nname: x\n") == "after an empty line"
    assert summary("name: x\n# late comment\n") == ""


def test_every_shipped_config_has_a_summary() -> None:
    shipped = shipped_sites()
    assert {"local", "slurm-generic"} <= {site.name for site in shipped}
    for site in shipped:
        assert len(site.summary) > 10, site.name


@pytest.mark.parametrize("name", ["mycluster", "a", "cluster_2.gpu", "9lives", "x" * 64])
def test_good_site_names(name: str) -> None:
    assert site_name_problem(name) is None


@pytest.mark.parametrize(
    "name", ["", "a/b", "../x", ".hidden", "-x", "my cluster", "x" * 65, "x.yaml", "x.yml",
             "tab\t", "new\nline"],
)  # fmt: skip
def test_bad_site_names(name: str) -> None:
    problem = site_name_problem(name)
    assert problem is not None and "site name" in problem

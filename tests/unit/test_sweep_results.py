"""Sweep results: reading metrics.json defensively, sorting, JSON/CSV export, and the HTML
report's escaping and structure (pure; the browser test is tests/local)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from hpcrun.errors import UsageError
from hpcrun.sweep import report, results
from hpcrun.sweep.results import PointRow, SweepView, read_metrics, sort_rows
from tests.conftest import write
from tests.sweep_results import sample_view


def _read(folder: Path) -> tuple[dict | None, list[str]]:
    warnings: list[str] = []
    return read_metrics(folder, "lr=0.1", warnings.append), warnings


# --------------------------------------------------------------------- metrics.json


@pytest.mark.parametrize("place", ["output/metrics.json", "metrics.json"])
def test_metrics_are_read_from_the_fetched_folder(tmp_path: Path, place: str) -> None:
    write(tmp_path / place, '{"loss": 0.25, "epochs": 3, "ok": true, "opt": "adam"}')
    metrics, warnings = _read(tmp_path)
    assert metrics == {"loss": 0.25, "epochs": 3, "ok": True, "opt": "adam"}
    assert warnings == []


def test_no_metrics_file_is_not_a_warning(tmp_path: Path) -> None:
    assert _read(tmp_path) == (None, [])


@pytest.mark.parametrize(
    ("text", "kept", "problem"),
    [
        ('{"loss": 0.1, "hist": [1, 2]}', {"loss": 0.1}, "'hist': a list values are not allowed"),
        ('{"loss": 0.1, "cfg": {"a": 1}}', {"loss": 0.1}, "'cfg': an object values"),
        ('{"loss": NaN, "acc": 0.5}', {"acc": 0.5}, "'loss': NaN is not a number"),
        ('{"loss": -Infinity}', {}, "'loss': -Infinity is not a number"),
        ('{"big": 1e999}', {}, "'big': not a finite number"),
        ('{"none": null, "a": 1}', {"a": 1}, "'none': null values"),
        ('{"": 1}', {}, "a metric name must be"),
        ('{"x": "' + "y" * 300 + '"}', {}, "text longer than"),
    ],
)
def test_bad_values_are_dropped_with_a_warning_naming_the_point(
    tmp_path: Path, text: str, kept: dict, problem: str
) -> None:
    write(tmp_path / "output" / "metrics.json", text)
    metrics, warnings = _read(tmp_path)
    assert metrics == kept
    assert len(warnings) == 1
    assert warnings[0].startswith("point lr=0.1: ") and problem in warnings[0], warnings


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"loss=0.1", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, found a list"),
        (b'"text"', "found text"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"a": "' + b"x" * (1024 * 1024) + b'"}', "larger than 1024 KiB"),
    ],
)
def test_unusable_files_are_ignored_with_a_warning(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    (tmp_path / "metrics.json").write_bytes(content)
    metrics, warnings = _read(tmp_path)
    assert metrics is None
    assert len(warnings) == 1 and problem in warnings[0] and "lr=0.1" in warnings[0]


def test_symlinks_and_fifos_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"password": "hunter2"}')
    folder = tmp_path / "point"
    (folder / "output").mkdir(parents=True)
    (folder / "output" / "metrics.json").symlink_to(secret)
    assert _read(folder)[0] is None
    assert "not a regular file" in _read(folder)[1][0]
    fifo_folder = tmp_path / "fifo"
    fifo_folder.mkdir()
    os.mkfifo(fifo_folder / "metrics.json")  # reading it would block forever
    assert _read(fifo_folder)[0] is None


def test_too_many_metrics_keeps_the_first(tmp_path: Path) -> None:
    many = {f"m{i:03d}": i for i in range(results.MAX_METRICS + 5)}
    write(tmp_path / "metrics.json", json.dumps(many))
    metrics, warnings = _read(tmp_path)
    assert metrics is not None and len(metrics) == results.MAX_METRICS
    assert len(warnings) == 5


# --------------------------------------------------------------------- rows, sorting


def test_state_text_says_the_retries_used() -> None:
    view = sample_view()
    failed = next(row for row in view.rows if row.state == "failed")
    assert failed.state_text == "failed (retry 2/2)"
    assert view.rows[0].state_text == "completed"
    assert view.rows[0].label == "lr=0.1,opt=adam"


def test_sort_by_metric_ascending_descending_missing_last() -> None:
    view = sample_view()
    up = sort_rows(view, "loss")
    down = sort_rows(view, "-loss")
    losses_up = [row.metrics.get("loss") for row in up]
    losses_down = [row.metrics.get("loss") for row in down]
    assert losses_up[:4] == sorted(losses_up[:4]) and losses_up[4:] == [None, None]
    assert losses_down[:4] == sorted(losses_down[:4], reverse=True)
    assert losses_down[4:] == [None, None]
    # ties and missing values keep the sweep's order
    assert [r.id for r in up[4:]] == [r.id for r in view.rows if "loss" not in r.metrics]
    assert sort_rows(view, None) == list(view.rows)


def test_sort_by_parameter_is_numeric_when_all_values_are_numbers() -> None:
    view = sample_view()
    assert [dict(r.params)["lr"] for r in sort_rows(view, "lr")] == [
        "0.001", "0.001", "0.01", "0.01", "0.1", "0.1"]  # fmt: skip
    assert [dict(r.params)["opt"] for r in sort_rows(view, "-opt")][:3] == ["sgd"] * 3
    assert sort_rows(view, "run_seconds")[-1].state == "running"


def test_sort_mixes_numbers_text_and_booleans() -> None:
    rows = tuple(PointRow(str(i), (("p", str(i)),), "completed", metrics=m) for i, m in
                 enumerate([{"v": "b"}, {"v": 2}, {}, {"v": True}, {"v": "a"}, {"v": 0.5}]))  # fmt: skip
    view = SweepView("s", "w", ("p",), rows)
    assert [r.metrics.get("v") for r in sort_rows(view, "v")] == [0.5, True, 2, "a", "b", None]
    assert [r.metrics.get("v") for r in sort_rows(view, "-v")] == [2, True, 0.5, "b", "a", None]


def test_unknown_sort_key_is_a_usage_error_with_a_hint() -> None:
    with pytest.raises(UsageError) as caught:
        sort_rows(sample_view(), "los")
    assert "--sort los" in caught.value.message
    assert caught.value.hint == "did you mean 'loss'?"
    with pytest.raises(UsageError) as caught:
        sort_rows(sample_view(), "zzz")
    assert "lr, opt, run_seconds, attempts, exit_code, state, acc" in (caught.value.hint or "")


# --------------------------------------------------------------------- export


def test_csv_columns_are_stable_params_fixed_then_metrics_by_name() -> None:
    view = sample_view()
    rows = list(csv.reader(io.StringIO(results.to_csv(view, view.rows))))
    assert rows[0] == ["lr", "opt", "point", "state", "attempts", "retries_used", "exit_code",
                       "run_seconds", "acc", "converged", "epochs", "loss", "note"]  # fmt: skip
    assert rows[1] == ["0.1", "adam", view.rows[0].id, "completed", "1", "0", "0", "30.0",
                       "0.6", "false", "10", "0.9", "opt adam"]  # fmt: skip
    running = rows[4]
    assert running[3] == "running" and running[6:] == ["", "", "", "", "", "", ""]
    assert rows[6][3:6] == ["failed", "3", "2"]


def test_csv_metric_named_like_a_column_is_prefixed_and_quoted() -> None:
    row = PointRow("p1", (("state", 'a,"b"'),), "completed",
                   metrics={"state": 1, "point": 2, "x": "new\nline"})  # fmt: skip
    view = SweepView("s", "w", ("state",), (row,))
    header, *body = list(csv.reader(io.StringIO(results.to_csv(view, [row]))))
    assert header[-3:] == ["metric:point", "metric:state", "x"]
    assert body == [['a,"b"', "p1", "completed", "0", "0", "", "", "2", "1", "new\nline"]]


def test_json_has_every_documented_field() -> None:
    view = sample_view()
    document = json.loads(results.to_json(view, sort_rows(view, "-acc")))
    assert document["sweep"] == view.name and document["parameters"] == ["lr", "opt"]
    assert document["counts"] == {"completed": 4, "running": 1, "failed": 1}
    first = document["points"][0]
    assert set(first) == {"point", "label", "params", "state", "attempts", "retries",
                          "retries_used", "exit_code", "job_id", "run_seconds", "metrics",
                          "log", "artifacts_dir"}  # fmt: skip
    assert first["params"] == {"lr": "0.001", "opt": "adam"}
    assert first["metrics"]["acc"] == 0.8


def test_view_from_store_state_keeps_spec_order_and_drops_removed_points() -> None:
    from hpcrun.store import PointRecord, SweepRecord, SweepState

    sweep = SweepRecord("grid-abc", "grid", "local", "/s.yaml", "/p", parameters=("lr", "bs"),
                        retries=2, remote_dir="/nowhere")  # fmt: skip
    point = PointRecord("grid-abc", "grid", "local", "p1", "lr=1,bs=2", {"bs": "2", "lr": "1"},
                        0, "failed", final=True, attempt=3, retries_used=2, retries_allowed=2,
                        array_job_id="7", task_index=1, started_at="2026-01-01T00:00:00Z",
                        finished_at="2026-01-01T00:01:30Z", metrics={"loss": 1.5},
                        local_log="/d/p1/job.log", artifacts_dir="/d/p1")  # fmt: skip
    dropped = replace(point, point="p2", in_spec=False)
    view = results.view_from_state(SweepState(sweep, (point, dropped), ()))
    (row,) = view.rows
    assert row.params == (("lr", "1"), ("bs", "2"))
    assert (row.state_text, row.job_id, row.run_seconds) == ("failed (retry 2/2)", "7_1", 90.0)
    assert (row.log_path, row.artifacts_dir, dict(row.metrics)) == (
        "/d/p1/job.log", "/d/p1", {"loss": 1.5})  # fmt: skip


# --------------------------------------------------------------------- the HTML report

HOSTILE = '<script>alert("x")</script>'


def test_report_escapes_every_value_from_the_sweep(tmp_path: Path) -> None:
    rows = (
        PointRow("a1", (("opt", HOSTILE), ("lr", "1")), "completed",
                 metrics={'<img src=x onerror="alert(1)">': 1.0, "note": "</td><b>bold</b>"},
                 log_path=str(tmp_path / 'javascript:alert(1)"' / "job.log"),
                 artifacts_dir=str(tmp_path / "a&b")),
        PointRow("a2", (("opt", "adam"), ("lr", "2")), '"><svg onload=alert(1)>',
                 metrics={'<img src=x onerror="alert(1)">': 2.0}),
    )  # fmt: skip
    view = SweepView('sw<eep>"', "w<f>", ("opt", "lr"), rows, site="<site>")
    html = report.render_report(view, rows, tmp_path / "report.html")
    assert html.count("<script") == 1  # only the report's own sorting code
    for raw in ("<img", "<b>bold", "<svg onload", "<site>", "<eep>", 'href="javascript:'):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'href="javascript%3Aalert%281%29%22/job.log"' in html
    assert 'href="a%26b/"' in html
    assert 'class="cell st-svgonloadalert1"' in html  # a state never escapes its class


def test_report_grid_is_two_dimensional_for_two_parameters(tmp_path: Path) -> None:
    view = sample_view(tmp_path / "dest")
    html = report.render_report(view, view.rows, tmp_path / "dest" / "report.html")
    grid = html[html.index('<section id="grid">') : html.index("</section>")]
    assert grid.count("<tr>") == 1 + 3  # header + one row per lr
    assert re.findall(r"<th>(\w+)</th>", grid) == ["adam", "sgd"]
    assert grid.count('class="cell st-completed"') == 4
    assert grid.count('class="cell st-failed"') == 1 and "failed (retry 2/2)" in grid
    point = view.rows[0].id
    assert f'href="{point}/job.log"' in grid and f'href="{point}/"' in grid


def test_report_groups_points_by_the_first_parameter_beyond_two(tmp_path: Path) -> None:
    rows = tuple(PointRow(f"p{a}{b}{c}", (("a", a), ("b", b), ("c", c)), "pending")
                 for a in "12" for b in "xy" for c in "uv")  # fmt: skip
    grid = report.build_grid(SweepView("s", "w", ("a", "b", "c"), rows), tmp_path, None)
    assert grid.kind == "groups"
    assert [(name, len(cells)) for name, cells in grid.groups] == [("a=1", 4), ("a=2", 4)]
    assert grid.groups[0][1][0].title == "b=x, c=u"


def test_charts_one_per_numeric_metric_and_parameter() -> None:
    view = sample_view()
    charts, left_out = report.build_charts(view)
    assert left_out == 0
    # 'note' is text and 'converged' boolean: no chart; acc, epochs, loss x lr, opt
    assert [(c.metric, c.param) for c in charts] == [
        (m, p) for m in ("acc", "epochs", "loss") for p in ("lr", "opt")]  # fmt: skip
    lr_chart = charts[0]
    assert lr_chart.scale == "log"  # 0.001..0.1 spans two decades
    assert [t.text for t in lr_chart.x_ticks] == ["0.1", "0.01", "0.001"]
    assert charts[1].scale == "categories"
    assert sum(len(s.dots) for s in lr_chart.series) == 4  # points with an acc
    for chart in charts:
        for series in chart.series:
            for dot in series.dots:
                assert chart.left <= dot.x <= chart.right and chart.top <= dot.y <= chart.bottom


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert report.nice_ticks(0.3, 0.95) == [0.4, 0.6, 0.8]
    assert report.nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    assert report.nice_ticks(5, 5) == [5]


def test_large_sweeps_get_a_compact_grid_with_details_on_hover(tmp_path: Path) -> None:
    rows = tuple(PointRow(f"p{a}-{b}", (("a", str(a)), ("b", str(b))), "failed",
                          run_seconds=5.0, metrics={"loss": 0.5})
                 for a in range(20) for b in range(10))  # fmt: skip
    html = report.render_report(SweepView("s", "w", ("a", "b"), rows), rows, tmp_path / "r.html")
    assert html.count('class="cell mini st-failed"') == 200
    assert 'title="a=3,b=4: failed, 5s, loss=0.5"' in html
    assert '<table class="grid compact">' in html

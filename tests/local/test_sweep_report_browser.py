"""The sweep's HTML report opened in a real browser (Debian's headless Chromium, installed
by scripts/test): the grid and the charts are there after the page's own JS ran, the
screenshot is not blank, and clicking a column header sorts the table."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from hpcrun.sweep.report import render_report
from hpcrun.sweep.results import sort_rows
from tests.sweep_results import sample_view

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/test installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _browse(tmp_path: Path, page: Path, *mode: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,900",
         *mode, page.as_uri()],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, header = 8, b"", None
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + best) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, [bytes(r[i] for i in range(len(r)) if i % channels < 3) for r in rows]


def _colours(rows: list[bytes]) -> set[tuple[int, int, int]]:
    return {tuple(row[i : i + 3]) for row in rows for i in range(0, len(row), 3)}


@pytest.fixture(scope="module")
def report_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("dest") / "grid-1a2b"
    view = sample_view(dest)
    page = dest / "report.html"
    page.write_text(render_report(view, sort_rows(view, None), page), encoding="utf-8")
    return page


def test_report_renders_grid_and_charts_in_chromium(report_page: Path, tmp_path: Path) -> None:
    dom = _browse(tmp_path, report_page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-ready="1"' in html  # the page's script ran to its end
    assert len(re.findall(r'class="cell st-completed"', html)) == 4
    assert len(re.findall(r'class="cell st-failed"', html)) == 1
    assert len(re.findall(r'class="cell st-running"', html)) == 1
    assert len(re.findall(r"<figure class=\"chart\"", html)) == 6
    assert len(re.findall(r"<circle class=\"dot", html)) == 6 * 4  # 4 points with metrics

    shot = tmp_path / "report.png"
    run = _browse(tmp_path, report_page, f"--screenshot={shot}")
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    width, height, rows = read_png(shot)
    assert (width, height) == (1200, 900)
    colours = _colours(rows)
    assert len(colours) > 50, "the screenshot is (nearly) blank"
    # the grid's state colours, as the stylesheet gives them, are on screen
    assert (0xDC, 0xF5, 0xE4) in colours, "no completed (green) cell visible"
    assert (0xFF, 0xE3, 0xE1) in colours, "no failed (red) cell visible"


def test_clicking_a_column_header_sorts_the_table(report_page: Path, tmp_path: Path) -> None:
    clicking = tmp_path / "report.html"
    text = report_page.read_text(encoding="utf-8")
    click_twice = """<script>
var th = Array.prototype.filter.call(document.querySelectorAll('#results th'),
  function (h) { return h.textContent.trim() === 'loss'; })[0];
th.click(); th.click();
</script></body>"""
    clicking.write_text(text.replace("</body>", click_twice), encoding="utf-8")
    dom = _browse(tmp_path, clicking, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    table = dom.stdout[dom.stdout.index('id="results"') :]
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    rows = re.findall(r"<tr id=\"p-\w+\" data-pos=\"(\d)\"", body)
    # descending loss: 0.95 (pos 1), 0.9 (0), 0.45 (2), 0.3 (4); no loss last, in order: 3, 5
    assert rows == ["1", "0", "2", "4", "3", "5"]
    assert 'aria-sort="descending">loss' in table

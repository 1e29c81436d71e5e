from __future__ import annotations

import pytest

from hpcrun.units import Size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("16GB", 16 * 10**9),
        ("16G", 16 * 10**9),
        ("512MB", 512 * 10**6),
        ("512M", 512 * 10**6),
        ("2TB", 2 * 10**12),
        ("16GiB", 16 * 2**30),
        ("16Gi", 16 * 2**30),
        ("512MiB", 512 * 2**20),
        ("512Mi", 512 * 2**20),
        ("1.5GB", 1_500_000_000),
        (" 8 GB ", 8 * 10**9),
        ("64gb", 64 * 10**9),
    ],
)
def test_sizes_parse_like_dstack(text: str, expected: int) -> None:
    assert int(Size.parse(text)) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("16", "has no unit"),
        ("16XB", "unknown unit"),
        ("GB", "not a size"),
        ("1e3GB", "not a size"),
    ],
)
def test_bad_sizes_are_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        Size.parse(text)


def test_a_bare_number_is_not_bytes() -> None:
    with pytest.raises(ValueError, match="16GB"):
        Size.parse(16)


def test_mib_rounds_up_and_text_is_kept() -> None:
    size = Size.parse("16GB")
    assert size.mib == 15259  # 16e9 / 2**20 = 15258.79
    assert str(size) == "16GB"
    assert Size.parse("1GiB").mib == 1024

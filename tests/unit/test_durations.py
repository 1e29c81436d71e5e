"""Time limits (hpcrun.durations): dstack's max_duration and Slurm's --time forms, parsed to
seconds and written back as Slurm's D-HH:MM:SS / HH:MM:SS."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpcrun.durations import (
    DurationError,
    normalise,
    parse_duration,
    parse_limit,
    slurm_time,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        # dstack's units
        ("45s", 45), ("90m", 5400), ("2h", 7200), ("1d", 86400), ("1w", 604800),
        ("1d12h", 129600), ("2h30m", 9000), ("1H", 3600),
        # Slurm: a bare number is minutes; MM:SS; HH:MM:SS; D-HH; D-HH:MM; D-HH:MM:SS
        ("90", 5400), ("1", 60), (90, 5400), ("5:30", 330), ("1:30:00", 5400),
        ("2-0", 172800), ("1-12", 129600), ("1-12:30", 131400), ("2-00:00:00", 172800),
        ("00:00:01", 1),
    ],
)  # fmt: skip
def test_accepted_forms(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "0", 0, "0s", "00:00:00", "0-0", "-5", "-1h", "", " ", "2 h", "1h ", "2h\n",
        "1.5h", "h", "1x", "30m2h", "1h1h", "1:60", "1:00:60", "1-24", "1-00:60",
        "infinite", "UNLIMITED", None, True, 1.5, [], "1;rm -rf /",
    ],
)  # fmt: skip
def test_refused_forms_say_what_works(text: object) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert "greater than zero" in message or "90m, 2h" in message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "00:00:01"), (5400, "01:30:00"), (86399, "23:59:59"), (86400, "1-00:00:00"),
     (129600, "1-12:00:00"), (40 * 86400 + 61, "40-00:01:01")],
)  # fmt: skip
def test_slurm_time(seconds: int, text: str) -> None:
    assert slurm_time(seconds) == text
    assert normalise(text) == text  # already normal


def test_normalise_examples() -> None:
    assert normalise("90m") == "01:30:00"
    assert normalise("1") == "00:01:00"
    assert normalise("1d12h") == "1-12:00:00"
    assert normalise("36:00:00") == "1-12:00:00"  # hours past a day move into the day part


@given(st.integers(min_value=1, max_value=10_000 * 86400))
def test_round_trip_through_slurm_form(seconds: int) -> None:
    assert parse_duration(slurm_time(seconds)) == seconds


@given(st.integers(0, 30), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_units_and_slurm_forms_agree(days: int, hours: int, minutes: int, secs: int) -> None:
    total = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    units = "".join(
        f"{n}{u}" for n, u in zip((days, hours, minutes, secs), "dhms", strict=True) if n
    )
    if total == 0:
        return
    assert parse_duration(units) == total
    assert parse_duration(f"{days}-{hours}:{minutes:02d}:{secs:02d}") == total
    assert normalise(units) == slurm_time(total)


@given(st.text(max_size=12))
def test_anything_else_is_a_duration_error_not_a_crash(text: str) -> None:
    with contextlib.suppress(DurationError):  # anything else (ValueError, ...) fails
        assert parse_duration(text) > 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("infinite", None), ("UNLIMITED", None), ("", None), ("n/a", None), ("5:00", 300),
     ("1:00:00", 3600), ("1-00:00:00", 86400), ("30", 1800), ("5m", None)],
)  # fmt: skip
def test_partition_limits_as_sinfo_prints_them(text: str, seconds: int | None) -> None:
    assert parse_limit(text) == seconds

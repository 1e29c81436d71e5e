"""Sizes as dstack wrote them: ``16GB`` (decimal) or ``16GiB`` (binary)."""

from __future__ import annotations

import re
from typing import Any

_DECIMAL = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BINARY = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_UNITS = "MB, GB, TB (or M, G, T) for decimal, MiB, GiB, TiB (or Mi, Gi, Ti) for binary"


def _multiplier(unit: str) -> int | None:
    """Bytes per unit, or None for an unknown unit. ``B`` is optional; case-insensitive."""
    upper = unit.upper()
    if upper.endswith("IB"):
        prefix, table = upper[:-2], _BINARY
    elif upper.endswith("I"):
        prefix, table = upper[:-1], _BINARY
    elif upper.endswith("B") and len(upper) == 2:
        prefix, table = upper[:-1], _DECIMAL
    else:
        prefix, table = upper, _DECIMAL
    return table.get(prefix) if len(prefix) == 1 else None


class Size(int):
    """A number of bytes that remembers how the user wrote it."""

    text: str

    def __new__(cls, num_bytes: int, text: str | None = None) -> Size:
        size = super().__new__(cls, num_bytes)
        size.text = text if text is not None else f"{num_bytes}B"
        return size

    @classmethod
    def parse(cls, value: Any) -> Size:
        if isinstance(value, Size):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"expected a size like '16GB', got {value!r}")
        text = str(value)
        match = _SIZE_RE.match(text)
        if not match:
            raise ValueError(f"'{text}' is not a size; write it like '16GB' or '512MiB'")
        number, unit = match.groups()
        if not unit:
            raise ValueError(
                f"'{text}' has no unit; write e.g. '{number}GB' (decimal) or '{number}GiB' (binary)"
            )
        multiplier = _multiplier(unit)
        if multiplier is None:
            raise ValueError(f"'{text}' has an unknown unit '{unit}'; use {_UNITS}")
        return cls(int(float(number) * multiplier), text.strip())

    @property
    def mib(self) -> int:
        """Whole MiB, rounded up (Slurm's ``--mem`` unit)."""
        return -(-int(self) // 2**20)

    def __repr__(self) -> str:
        return f"Size({int(self)}, {self.text!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls.parse, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    def __str__(self) -> str:
        return self.text

"""Argparse types of the client commands' numbers: each refuses a value out of its range
(NaN and infinities too) at parse time, so a bad flag exits 2 with one line naming it."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

INT32 = 2**31 - 1
INT64 = 2**63 - 1
MAX_VERSION = 10**18 - 1
"""Largest version number a store holds (18 digits)."""
MAX_SECONDS = 1e7
"""Largest deadline or duration a flag takes (about 115 days)."""


def integer(low: int = -INT64 - 1, high: int = INT64) -> Callable[[str], int]:
    """Argparse type of an integer from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {_span(low, high)}, got {text}")
        return value

    return parse


def number(
    low: float = -math.inf,
    high: float = math.inf,
    *,
    above: float | None = None,
    below: float | None = None,
) -> Callable[[str], float]:
    """Argparse type of a finite number from `low` to `high`, or strictly between `above`
    and `below` where those are given."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (
            math.isfinite(value)
            and low <= value <= high
            and (above is None or value > above)
            and (below is None or value < below)
        ):
            raise argparse.ArgumentTypeError(
                f"expected {_range(low, high, above, below)}, got {text}"
            )
        return value

    return parse


def _span(low: int, high: int) -> str:
    if low <= -INT64 - 1:
        return f"an integer <= {high}"
    return f"an integer >= {low}" if high >= INT64 else f"an integer from {low} to {high}"


def _range(low: float, high: float, above: float | None, below: float | None) -> str:
    parts = ["a finite number"]
    if above is not None:
        parts.append(f"> {above:g}")
    elif low > -math.inf:
        parts.append(f">= {low:g}")
    if below is not None:
        parts.append(f"< {below:g}")
    elif high < math.inf:
        parts.append(f"<= {high:g}")
    return " ".join(parts[:1]) + (" " + " and ".join(parts[1:]) if parts[1:] else "")


count32 = integer(1, INT32)
"""A count >= 1 that fits the int32 fields of the requests (epochs, k, ...)."""
size32 = integer(0, INT32)
"""A number >= 0 that fits an int32 field (0 often meaning the default)."""
raw_id = integer()
"""A raw user or item id: any int64."""
version = integer(1, MAX_VERSION)
"""A version number."""
seed = integer(0, INT64)
"""A random seed."""
seconds = number(above=0, high=MAX_SECONDS)
"""A deadline or duration in seconds: finite and > 0."""
fraction = number(0, below=1)
"""A share in [0, 1)."""
positive = number(above=0)
"""A finite number > 0."""
non_negative = number(0)
"""A finite number >= 0."""
finite = number()
"""Any finite number."""

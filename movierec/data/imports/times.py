"""Times of an import, as integer unix seconds or ISO-8601 text, made int64 unix seconds."""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FORMS = "integer unix seconds or ISO-8601 (e.g. 2024-05-01T12:30:00Z)"
"""The forms a time may take; ISO-8601 times without an offset are taken as UTC."""
_INTEGER = re.compile(r"[+-]?[0-9]+")
_EPOCH = pd.Timestamp(0, tz="UTC")
_NS_PER_SECOND = 1_000_000_000
_BLOCK_ROWS = 1_000_000
"""Times pandas parses at a time (as Python strings: about 70 bytes each)."""


def time_problem(value: str) -> str | None:
    """Why `value` is not a time (FORMS), or None when it is one."""
    value = value.strip()
    if _INTEGER.fullmatch(value):
        if -(2**63) <= int(value) < 2**63:
            return None
        return f"{value} is out of the 64-bit range of unix seconds"
    try:
        datetime.datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a time: give {FORMS}"
    return None


def parse_times(text: pa.ChunkedArray) -> tuple[np.ndarray, int | None]:
    """Unix seconds, int64 [n], of a column of times as text [n] (FORMS, each value in
    either form), and the row of the first value that is neither (None: all read).

    Vectorised: pyarrow casts a column of integers, or of ISO-8601 times all with an
    offset or all without; any other mix goes value by value through pyarrow for the
    integers and pandas' ISO-8601 parser for the rest, a block of rows at a time.
    """
    for kind in (pa.int64(), pa.timestamp("ns", tz="UTC"), pa.timestamp("ns")):
        try:
            values = pc.cast(text, kind).cast(pa.int64()).to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return (values if kind == pa.int64() else values // _NS_PER_SECOND), None
    text = pc.utf8_trim_whitespace(text)
    integer = pc.match_substring_regex(text, r"^[+-]?[0-9]+$").to_numpy(zero_copy_only=False)
    seconds = np.zeros(len(text), dtype=np.int64)
    rows = np.flatnonzero(integer)
    if len(rows):
        try:
            seconds[rows] = pc.cast(pc.filter(text, integer), pa.int64()).to_numpy()
        except pa.ArrowInvalid:  # a value outside int64, or a form pyarrow does not take
            for row in rows.tolist():
                value = text[row].as_py()
                if time_problem(value):
                    return seconds, row
                seconds[row] = int(value)
    others = np.flatnonzero(~integer)
    for start in range(0, len(others), _BLOCK_ROWS):
        block = others[start : start + _BLOCK_ROWS]
        parsed = pd.to_datetime(
            text.take(pa.array(block)).to_pandas(), format="ISO8601", utc=True, errors="coerce"
        )
        bad = parsed.isna().to_numpy()
        if bad.any():
            return seconds, int(block[np.argmax(bad)])
        seconds[block] = ((parsed - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    return seconds, None

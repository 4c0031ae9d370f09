"""Columns of a Parquet file for an import, checked as delimited text's are; a problem is
named by row (from 1), as Parquet has no lines."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from movierec.data.imports.lines import ID, TEXT, TIME, WEIGHT, Column, ImportRefused
from movierec.data.imports.times import parse_times

_MAGIC = b"PAR1"
_INT64_MAX = 2**63 - 1


def is_parquet(path: pathlib.Path) -> bool:
    """Whether `path` starts with Parquet's magic bytes.

    Raises:
        ImportRefused: the file cannot be read.
    """
    try:
        with open(path, "rb") as raw:
            return raw.read(4) == _MAGIC
    except OSError as error:
        raise ImportRefused(f"cannot read {path}: {error.strerror or error}") from None


def read_parquet_columns(
    path: pathlib.Path, columns: list[Column]
) -> tuple[dict[str, np.ndarray], int]:
    """({column flag: values}, rows) of `columns`, typed as movierec.data.imports.files
    reads delimited text.

    Raises:
        ImportRefused: unreadable, a column missing, of a type it cannot hold, or a value
            missing or bad (naming the row).
    """
    try:
        names = pq.read_schema(path).names
    except (OSError, pa.ArrowException) as error:
        raise ImportRefused(f"cannot read {path} as Parquet: {error}") from None
    for column in columns:
        if column.name not in names:
            raise ImportRefused(
                f"{path}: column {column.name!r} ({column.flag}) is not in the file; its"
                f" columns are: {', '.join(names)}"
            )
    try:
        table = pq.read_table(path, columns=list(dict.fromkeys(c.name for c in columns)))
    except (OSError, pa.ArrowException) as error:
        raise ImportRefused(f"cannot read {path} as Parquet: {error}") from None
    if table.num_rows == 0:
        raise ImportRefused(f"{path} has no rows")
    values = {}
    for column in columns:
        data = table.column(column.name)
        if data.null_count:
            row = int(np.argmax(data.is_null().to_numpy(zero_copy_only=False)))
            raise ImportRefused(f"{_at(path, row, column)}: the value is missing")
        typed, bad = _typed(path, data, column)
        if bad is not None:
            value = data[bad].as_py()
            problem = column.problem(str(value)) or f"{value!r} cannot be read"
            raise ImportRefused(f"{_at(path, bad, column)}: {problem}")
        values[column.flag] = typed
    return values, table.num_rows


def _at(path: pathlib.Path, row: int, column: Column) -> str:
    return f"{path} row {row + 1} column {column.name!r}"


def _first(bad: np.ndarray) -> int | None:
    return int(np.argmax(bad)) if bad.any() else None


def _typed(
    path: pathlib.Path, data: pa.ChunkedArray, column: Column
) -> tuple[np.ndarray, int | None]:
    kind = data.type
    if column.holds == TEXT:
        return np.asarray([str(v) for v in data.to_pylist()], dtype=object), None
    if column.holds == TIME:
        if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            seconds = pc.cast(data, pa.timestamp("s"), safe=False)
            return pc.cast(seconds, pa.int64()).to_numpy(), None
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return parse_times(data)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = data.to_pandas()
        if column.holds == ID:
            return _text_ids(data, text.str.fullmatch(r"[+-]?[0-9]+").to_numpy(dtype=bool))
        numbers = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
        return numbers, _first(~np.isfinite(numbers) | ((numbers < 0) & (column.holds == WEIGHT)))
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        raise ImportRefused(
            f"{path} column {column.name!r} ({column.flag}) holds {kind}, not numbers"
        )
    numbers = data.to_numpy()
    if column.holds in (ID, TIME):
        if numbers.dtype.kind == "f":
            bad = ~np.isfinite(numbers) | (numbers != np.floor(numbers)) | (abs(numbers) > 2**62)
        else:
            bad = (
                numbers > _INT64_MAX if numbers.dtype == np.uint64 else np.zeros(len(numbers), bool)
            )
        return np.where(bad, 0, numbers).astype(np.int64), _first(bad)
    numbers = numbers.astype(np.float64)
    bad = ~np.isfinite(numbers)
    if column.holds == WEIGHT:
        bad |= numbers < 0
    return numbers, _first(bad)


def _text_ids(data: pa.ChunkedArray, whole: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Ids written as text: (int64 ids, the first row that is not a 64-bit integer)."""
    if not whole.all():
        return np.zeros(len(data), np.int64), _first(~whole)
    try:
        return pc.cast(data, pa.int64()).to_numpy(), None
    except pa.ArrowInvalid:  # beyond int64: find it (only on the way to an error)
        out_of_range = [not -(2**63) <= int(v) <= _INT64_MAX for v in data.to_pylist()]
        return np.zeros(len(data), np.int64), _first(np.asarray(out_of_range))

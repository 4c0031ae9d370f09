"""Reads the columns an import needs from a delimited text file (CSV, TSV or any
one-character separator, with a header; UTF-8; LF or CRLF; gzip or not) or a Parquet
file, refusing bad input with a message naming the file, line and column.

The interactions are read by pyarrow's multi-threaded CSV reader with explicit types; a
file it refuses, and a value the vectorised checks refuse, is then located by a plain
line-by-line pass (movierec.data.imports.lines), which runs only on the way to an error.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from movierec.data.imports.lines import (
    ID,
    RATING,
    TEXT,
    TIME,
    WEIGHT,
    Column,
    ImportRefused,
    TextFormat,
    first_problem,
    item_rows,
    line_of_row,
    read_header,
    where,
)
from movierec.data.imports.parquet import is_parquet, read_parquet_columns
from movierec.data.imports.times import parse_times

_ARROW_TYPES = {
    ID: pa.int64(),
    RATING: pa.float64(),
    WEIGHT: pa.float64(),
    TIME: pa.string(),
    TEXT: pa.string(),
}
_BLOCK_BYTES = 1 << 24
"""Bytes pyarrow parses per block (and per thread)."""


@dataclasses.dataclass(frozen=True)
class Columns:
    """Typed columns read from a file.

    Attributes:
        values: Column flag -> values [n]: int64 ids, float64 ratings and weights, int64
            unix seconds, or str (object) text.
        rows: n.
    """

    values: dict[str, np.ndarray]
    rows: int


def read_columns(path: pathlib.Path, columns: list[Column], separator: str | None) -> Columns:
    """Reads `columns` of every row of an interactions file, each checked (ids integers,
    ratings finite, weights finite and >= 0, times integer seconds or ISO-8601) and every
    line checked to hold as many fields as the header.

    Args:
        path: A .csv/.tsv/... file, gzip-compressed or not, or a Parquet file.
        columns: The columns to read.
        separator: One character; None: a tab when the header holds one, else a comma.

    Raises:
        ImportRefused: naming the file, line (Parquet: row) and column of the first problem.
    """
    if is_parquet(path):
        return Columns(*read_parquet_columns(path, columns))
    text = read_header(path, separator, columns)
    try:
        table = _read_arrow(path, text, columns)
    except pa.ArrowInvalid as error:
        raise ImportRefused(first_problem(path, text, columns) or f"{path}: {error}") from None
    if table.num_rows == 0:
        raise ImportRefused(f"{path} has a header (line 1) but no rows")
    values: dict[str, np.ndarray] = {}
    for column in columns:
        data = table.column(column.name)
        values[column.flag], bad = _typed(data, column)
        if bad is not None:
            value = _text_of(data, bad)
            problem = column.problem(value) or f"{value!r} cannot be read"
            raise ImportRefused(f"{where(path, line_of_row(path, text, bad), column)}: {problem}")
    rows = table.num_rows
    del table, data
    pa.default_memory_pool().release_unused()  # else the pool keeps the table's memory
    return Columns(values, rows)


def read_items(path: pathlib.Path, columns: list[Column], separator: str | None) -> Columns:
    """Reads an items file's `columns` (an ID column, then TEXT columns): every line must
    hold no more fields than the header, and at least up to the last column read.

    Raises:
        ImportRefused: naming the file, line and column of the first problem.
    """
    if is_parquet(path):
        return Columns(*read_parquet_columns(path, columns))
    text = read_header(path, separator, columns)
    values = item_rows(path, text, columns)
    rows = len(next(iter(values.values())))
    if rows == 0:
        raise ImportRefused(f"{path} has a header (line 1) but no rows")
    return Columns(values, rows)


def _text_of(data: pa.ChunkedArray, row: int) -> str:
    value = data[row].as_py()
    return value if isinstance(value, str) else str(value)


def _read_arrow(path: pathlib.Path, text: TextFormat, columns: list[Column]) -> pa.Table:
    names = list(dict.fromkeys(column.name for column in columns))
    holds = {column.name: column.holds for column in columns}
    stream = pa.input_stream(str(path), compression="gzip" if text.gzip else None)
    with stream:
        return pacsv.read_csv(
            stream,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(
                delimiter=text.separator,
                quote_char='"' if text.quoted else False,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=names,
                column_types={name: _ARROW_TYPES[holds[name]] for name in names},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )


def _typed(data: pa.ChunkedArray, column: Column) -> tuple[np.ndarray, int | None]:
    """(values, row of the first bad value or None) of an arrow column read as
    _ARROW_TYPES says."""
    if column.holds == ID:
        return data.to_numpy(), None
    if column.holds == TIME:
        return parse_times(data)
    if column.holds == TEXT:
        return np.asarray(data.to_pylist(), dtype=object), None
    values = data.to_numpy()
    bad = ~np.isfinite(values)
    if column.holds == WEIGHT:
        bad |= values < 0
    first = int(np.argmax(bad)) if bad.any() else None
    return values, first

"""Delimited text read line by line (Python's csv module): the header, the exact line of a
problem, and small files such as an items file."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import math
import pathlib
import re
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

import numpy as np

from movierec.data.imports.times import time_problem
from movierec.errors import DatasetError

ID, RATING, WEIGHT, TIME, TEXT = "id", "rating", "weight", "time", "text"
"""What a column holds: a 64-bit integer id, a rating, a weight (>= 0), a time (integer
unix seconds or ISO-8601), or text."""
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GZIP_MAGIC = b"\x1f\x8b"
_INT64 = (-(2**63), 2**63 - 1)


class ImportRefused(DatasetError):
    """Input an import cannot take; the message names the file, line and column."""


@dataclasses.dataclass(frozen=True)
class Column:
    """A column an import reads.

    Attributes:
        name: Its name in the file's header.
        flag: The command-line flag that named it (also its key in what is read).
        holds: ID, RATING, WEIGHT, TIME or TEXT.
    """

    name: str
    flag: str
    holds: str

    def problem(self, value: str) -> str | None:
        """Why `value` (a field's text) cannot be this column's, or None when it can."""
        if self.holds == ID:
            return _id_problem(value)
        if self.holds in (RATING, WEIGHT):
            return _number_problem(value, self.holds)
        if self.holds == TIME:
            return time_problem(value)
        return None


@dataclasses.dataclass(frozen=True)
class TextFormat:
    """How a delimited text file is read.

    Attributes:
        separator: One character.
        quoted: Whether double quotes quote fields (RFC 4180); not for tab-separated
            files, where a quote is an ordinary character.
        gzip: Whether the file is gzip-compressed.
        names: The header's column names.
    """

    separator: str
    quoted: bool
    gzip: bool
    names: tuple[str, ...]


def _id_problem(value: str) -> str | None:
    why = "ids must be 64-bit integers, because the contract's ids are int64"
    if not _INTEGER.fullmatch(value.strip()):  # pyarrow too takes spaces around a number
        return f"{value!r} is not an integer: {why}"
    if not _INT64[0] <= int(value) <= _INT64[1]:
        return f"{value} is out of the 64-bit range: {why}"
    return None


def _number_problem(value: str, holds: str) -> str | None:
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None and not math.isfinite(number):
        return f"the {holds} {value!r} is not a finite number"
    if number is None or not _NUMBER.fullmatch(value.strip()):
        return f"the {holds} {value!r} is not a number"
    if holds == WEIGHT and number < 0:
        return f"the weight {value} is negative: weights must be >= 0"
    return None


def where(path: pathlib.Path, line: int, column: Column) -> str:
    """'FILE line N column NAME', the start of a message."""
    return f"{path} line {line} column {column.name!r}"


def is_gzip(path: pathlib.Path) -> bool:
    """Whether `path` starts with gzip's magic bytes."""
    with open(path, "rb") as raw:
        return raw.read(2) == _GZIP_MAGIC


def open_binary(path: pathlib.Path, compressed: bool) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip."""
    if compressed:
        return io.BufferedReader(gzip.GzipFile(path, "rb"))
    return open(path, "rb")


def separator_of(text: str | None) -> str | None:
    r"""The one-character separator a --separator value names ("\t" and "tab": a tab);
    None stays None.

    Raises:
        ImportRefused: more or less than one character, or a quote or line break.
    """
    if text is None:
        return None
    text = {"\\t": "\t", "tab": "\t"}.get(text, text)
    if len(text) != 1 or text in '"\r\n':
        raise ImportRefused(
            f"--separator must be one character other than a quote or a line break, got {text!r}"
        )
    return text


def read_header(path: pathlib.Path, separator: str | None, columns: list[Column]) -> TextFormat:
    """The format of a delimited text file, from its first line, which must be a header
    holding each of `columns` once.

    Args:
        path: The file.
        separator: As --separator gives it; None: a tab when the header holds one, else
            a comma.
        columns: The columns the import reads.

    Raises:
        ImportRefused: unreadable, empty, or a column missing or repeated (the message
            lists the header's columns).
    """
    chosen = separator_of(separator)
    try:
        compressed = is_gzip(path)
        with open_binary(path, compressed) as raw:
            first = raw.readline()
    except OSError as error:
        raise ImportRefused(f"cannot read {path}: {error.strerror or error}") from None
    if not first:
        raise ImportRefused(f"{path} is empty: line 1 must be a header naming its columns")
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ImportRefused(f"{path} line 1 is not UTF-8 text") from None
    if not line.strip():
        raise ImportRefused(f"{path} line 1 is blank: it must be a header naming its columns")
    sep = chosen or ("\t" if "\t" in line else ",")
    text = TextFormat(sep, sep != "\t", compressed, ())
    names = tuple(next(csv.reader([line], **_dialect(text))))
    for column in columns:
        count = names.count(column.name)
        if count != 1:
            problem = f"appears {count} times in" if count else "is not in"
            shown = ", ".join(repr(n) if not n or n != n.strip() else n for n in names)
            raise ImportRefused(
                f"{path} line 1: column {column.name!r} ({column.flag}) {problem} the header;"
                f" the header's columns, split at {sep!r}, are: {shown}"
            )
    return dataclasses.replace(text, names=names)


def _dialect(text: TextFormat) -> dict[str, Any]:
    quoting = csv.QUOTE_MINIMAL if text.quoted else csv.QUOTE_NONE
    return {"delimiter": text.separator, "quoting": quoting, "doublequote": True}


def records(
    path: pathlib.Path, text: TextFormat, errors: str = "strict"
) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank record after the header; the number is
    the record's last line (a quoted field may span lines).

    Args:
        path: The file.
        text: Its format (read_header).
        errors: How bytes that are not UTF-8 are decoded: "strict" refuses them,
            "replace" puts U+FFFD in their place.

    Raises:
        ImportRefused: a line that is not UTF-8 (strict), or that csv cannot split.
    """
    with open_binary(path, text.gzip) as raw:
        reader = csv.reader(_decoded(raw, path, text, errors), **_dialect(text))
        try:
            next(reader, None)
            for fields in reader:
                if fields:
                    yield reader.line_num, fields
        except csv.Error as error:
            raise ImportRefused(f"{path} line {reader.line_num}: {error}") from None


def _decoded(raw: IO[bytes], path: pathlib.Path, text: TextFormat, errors: str) -> Iterator[str]:
    for number, data in enumerate(raw, 1):
        try:
            yield data.decode("utf-8-sig" if number == 1 else "utf-8", errors)
        except UnicodeDecodeError as error:
            field = data[: error.start].count(text.separator.encode())
            column = f" column {text.names[field]!r}" if field < len(text.names) else ""
            raise ImportRefused(
                f"{path} line {number}{column}: byte {error.start + 1} of the line is not"
                " UTF-8 text"
            ) from None


def first_problem(path: pathlib.Path, text: TextFormat, columns: list[Column]) -> str | None:
    """The message of the first line with other than the header's number of fields or a
    value one of `columns` cannot hold; None when every line is good."""
    positions = [(column, text.names.index(column.name)) for column in columns]
    width = len(text.names)
    for line, fields in records(path, text):
        if len(fields) != width:
            return _width_problem(path, line, len(fields), width, text)
        for column, position in positions:
            problem = column.problem(fields[position])
            if problem:
                return f"{where(path, line, column)}: {problem}"
    return None


def _width_problem(path: pathlib.Path, line: int, count: int, width: int, text: TextFormat) -> str:
    much = "many" if count > width else "few"
    return (
        f"{path} line {line} has {count} fields, too {much}: the header (line 1) has {width},"
        f" split at {text.separator!r}"
    )


def line_of_row(path: pathlib.Path, text: TextFormat, row: int) -> int:
    """The line number of data row `row` (0 is the first after the header; blank lines
    are not rows)."""
    for index, (line, _) in enumerate(records(path, text, errors="replace")):
        if index == row:
            return line
    raise ValueError(f"{path} has no row {row}")


def item_rows(path: pathlib.Path, text: TextFormat, columns: list[Column]) -> dict[str, np.ndarray]:
    """Every row's `columns` of a small file (an items file): int64 ids, str text (bytes
    that are not UTF-8 become U+FFFD). A line may end before fields no column reads, but
    may not hold more fields than the header.

    Raises:
        ImportRefused: naming the first bad line (and column).
    """
    positions = [(column, text.names.index(column.name)) for column in columns]
    needed = max(position for _, position in positions) + 1
    width = len(text.names)
    values: dict[str, list] = {column.flag: [] for column in columns}
    for line, fields in records(path, text, errors="replace"):
        if not needed <= len(fields) <= width:
            raise ImportRefused(_width_problem(path, line, len(fields), width, text))
        for column, position in positions:
            value = fields[position]
            problem = column.problem(value)
            if problem:
                raise ImportRefused(f"{where(path, line, column)}: {problem}")
            values[column.flag].append(int(value) if column.holds == ID else value)
    return {
        column.flag: np.asarray(
            values[column.flag], dtype=np.int64 if column.holds == ID else object
        )
        for column in columns
    }

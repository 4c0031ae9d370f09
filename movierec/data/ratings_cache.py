"""A columnar cache of a ratings file (CSV, or `::`-separated .dat): parsed once, then read
back as typed numpy columns.

Parsing a large CSV with pandas costs far more time and memory than reading typed columns
back (bench/RESULTS.md, "Training at MovieLens-25M sizes"). The cache lives
under `$MOVIEREC_CACHE_DIR/columns` (default `~/.cache/movierec/columns`), never beside the
data (which may be read-only or shared), in one folder per source file named by a hash of
its absolute path, and is rebuilt when the source's size or modification time changes.
A cache folder is written under a temporary name and renamed into place, so a reader sees
a whole cache or none.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable

import numpy as np
import pandas as pd

CACHE_FORMAT = 1
COLUMNS = {"user_id": "int64", "item_id": "int64", "rating": "float32", "timestamp": "int64"}
"""The columns of a cache and their dtypes (movierec.data.datasets.Dataset.ratings)."""
CSV_NAMES = {
    "userId": "user_id",
    "movieId": "item_id",
    "rating": "rating",
    "timestamp": "timestamp",
}
"""MovieLens CSV header to column name."""


def cache_root() -> pathlib.Path:
    """Where column caches live: $MOVIEREC_CACHE_DIR/columns, else ~/.cache/movierec/columns."""
    base = os.environ.get("MOVIEREC_CACHE_DIR") or "~/.cache/movierec"
    return pathlib.Path(base).expanduser() / "columns"


def _signature(source: pathlib.Path) -> dict[str, int | str | float]:
    info = source.stat()
    return {
        "format": CACHE_FORMAT,
        "source": str(source),
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
    }


def cache_folder(source: pathlib.Path, root: pathlib.Path | None = None) -> pathlib.Path:
    """The cache folder of a source file (which need not exist yet)."""
    key = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:24]
    return (root or cache_root()) / f"{source.name}-{key}"


def read_cached(source: pathlib.Path, root: pathlib.Path | None = None) -> pd.DataFrame | None:
    """The cached columns of `source` as a DataFrame, or None when there is no cache or it
    is stale (the source changed) or unreadable."""
    folder = cache_folder(source, root)
    try:
        recorded = json.loads((folder / "cache.json").read_text())
        if recorded.get("signature") != _signature(source.resolve()):
            return None
        columns = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in COLUMNS}
    except (OSError, ValueError):
        return None
    lengths = {len(values) for values in columns.values()}
    dtypes_ok = all(columns[name].dtype == np.dtype(dtype) for name, dtype in COLUMNS.items())
    if len(lengths) != 1 or lengths != {recorded.get("rows")} or not dtypes_ok:
        return None
    return pd.DataFrame(columns, copy=False)


def write_cache(
    source: pathlib.Path, ratings: pd.DataFrame, root: pathlib.Path | None = None
) -> pathlib.Path | None:
    """Writes `ratings` (typed as COLUMNS) as the cache of `source`; returns its folder, or
    None when the cache root cannot be written (the caller goes on without a cache)."""
    folder = cache_folder(source, root)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=".writing-", dir=folder.parent))
    except OSError:
        return None
    try:
        for name, dtype in COLUMNS.items():
            np.save(staging / f"{name}.npy", ratings[name].to_numpy(dtype=dtype))
        record = {"signature": _signature(source.resolve()), "rows": len(ratings)}
        (staging / "cache.json").write_text(json.dumps(record))
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        return None
    return folder


def read_ratings_csv(source: pathlib.Path, root: pathlib.Path | None = None) -> pd.DataFrame:
    """The ratings of a MovieLens ratings CSV (userId,movieId,rating,timestamp) as typed
    columns (COLUMNS), from the cache when it is current, else parsed and then cached.

    Raises:
        ValueError: a column is missing or a field is empty or not a number.
        OSError: the source cannot be read.
    """
    return _read_through_cache(pathlib.Path(source), root, _parse_csv)


def read_ratings_dat(source: pathlib.Path, root: pathlib.Path | None = None) -> pd.DataFrame:
    """The ratings of a `::`-separated ratings.dat (ml-1m, ml-10m:
    UserID::MovieID::Rating::Timestamp, no header) as typed columns (COLUMNS), from the
    cache when it is current, else parsed by pandas' C parser and then cached.

    Raises:
        ValueError: a line has other than four fields, or a field is empty or not a number.
        OSError: the source cannot be read.
    """
    return _read_through_cache(pathlib.Path(source), root, _parse_dat)


def _read_through_cache(
    source: pathlib.Path, root: pathlib.Path | None, parse: Callable[[pathlib.Path], pd.DataFrame]
) -> pd.DataFrame:
    cached = read_cached(source, root)
    if cached is not None:
        return cached
    raw = parse(source)
    if raw.isna().any().any():
        raise ValueError("ratings have missing fields")
    ratings = pd.DataFrame(
        {name: raw[name].to_numpy(dtype=dtype) for name, dtype in COLUMNS.items()}, copy=False
    )
    del raw
    write_cache(source, ratings, root)
    return ratings


def _parse_csv(source: pathlib.Path) -> pd.DataFrame:
    raw = pd.read_csv(source, usecols=lambda name: name in CSV_NAMES, engine="c")
    missing = sorted(set(CSV_NAMES) - set(raw.columns))
    if missing:
        raise ValueError(f"{source.name} lacks columns: {', '.join(missing)}")
    return raw.rename(columns=CSV_NAMES)


def _parse_dat(source: pathlib.Path) -> pd.DataFrame:
    # The C parser takes one-character separators only; "::" becomes a tab (ratings.dat
    # has no tabs), which costs one copy of the file's bytes.
    text = source.read_bytes().replace(b"::", b"\t")
    names = list(COLUMNS)
    try:
        raw = pd.read_csv(io.BytesIO(text), sep="\t", header=None, names=names, engine="c")
    except pd.errors.ParserError as error:  # a line with too many fields
        raise ValueError(f"{source.name}: {error}") from None
    if raw.isna().any().any():
        raise ValueError(f"{source.name} {_first_incomplete_line(text)}")
    return raw


def _first_incomplete_line(text: bytes) -> str:
    """Where `text` (ratings.dat with tabs for "::") first lacks a field, for the error."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip(b" \r"):
            continue  # blank: the parser skips it
        fields = line.rstrip(b"\r").split(b"\t")
        if len(fields) != 4:
            return f"line {number} has {len(fields)} fields, not 4"
        if not all(field.strip() for field in fields):
            return f"line {number} has an empty field"
    return "has missing fields"

"""`movierec dataset import`: reads a team's interactions (and optionally its items), merges
duplicate pairs and writes a dataset folder training reads (movierec.data.imported_datasets),
atomically: a failed import leaves nothing behind."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import hashlib
import os
import pathlib
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from movierec import __version__
from movierec.data.datasets import DATASET_NAME, LAYOUTS, data_root
from movierec.data.imported_datasets import (
    FORMAT,
    FORMAT_VERSION,
    IMPLICIT,
    IMPLICIT_RATING,
    RATINGS,
    WEIGHT_COLUMN,
    is_imported,
)
from movierec.data.imports.files import read_columns, read_items
from movierec.data.imports.folder import write_dataset
from movierec.data.imports.lines import ID, RATING, TEXT, TIME, WEIGHT, Column, ImportRefused
from movierec.data.imports.merge import Merged, merge_duplicates

RESERVED_NAME = "columns"
"""Not a dataset's name: the ratings caches' folder in the default data folder
(movierec.data.ratings_cache.cache_root)."""
NO_GENRES = ("", "(no genres listed)")
"""Genre names that mean none (MovieLens writes the second)."""
_HASH_BLOCK = 1 << 22


@dataclasses.dataclass(frozen=True)
class ImportSpec:
    """What `movierec dataset import` was asked to do (the flags, one field each).

    Attributes:
        name: The dataset's name (a folder name; not a MovieLens name).
        interactions: The interactions file: delimited text with a header (gzip or not)
            or Parquet.
        user_column: Its column of user ids (64-bit integers).
        item_column: Its column of item ids (64-bit integers).
        rating_column: Its column of ratings (explicit feedback); None: implicit.
        weight_column: Its column of weights >= 0 (implicit feedback, e.g. play counts);
            not with rating_column.
        time_column: Its column of times (integer unix seconds or ISO-8601); None: no
            times (the splits by time are then refused).
        separator: One character, for both files; None: a tab when a file's header holds
            one, else a comma.
        items: An items file (same formats), or None (titles are then the ids).
        items_id_column: Its column of item ids.
        title_column: Its column of titles.
        genres_column: Its column of genres, several in a field split at
            genre_separator; None: no genres (genre cold start is then refused).
        genre_separator: What separates genres within a field.
        replace: Replace a dataset imported before under the same name.
    """

    name: str
    interactions: pathlib.Path
    user_column: str
    item_column: str
    rating_column: str | None = None
    weight_column: str | None = None
    time_column: str | None = None
    separator: str | None = None
    items: pathlib.Path | None = None
    items_id_column: str | None = None
    title_column: str | None = None
    genres_column: str | None = None
    genre_separator: str = "|"
    replace: bool = False

    @property
    def implicit(self) -> bool:
        """Whether the import is of implicit feedback (no rating column)."""
        return self.rating_column is None

    def check(self) -> None:
        """Raises ImportRefused naming the first flag that is missing or does not fit."""
        checks = [
            (
                bool(DATASET_NAME.fullmatch(self.name)),
                f"dataset name {self.name!r} must be 1 to 64 letters, digits, '.', '_' or"
                " '-', starting with a letter or digit",
            ),
            (
                self.name not in LAYOUTS,
                f"{self.name} is a MovieLens dataset's name; choose another",
            ),
            (
                self.name != RESERVED_NAME,
                f"{RESERVED_NAME!r} is the name of the ratings caches' folder; choose another",
            ),
            (
                self.rating_column is None or self.weight_column is None,
                "--rating-column and --weight-column exclude each other: ratings are"
                " explicit feedback, weights implicit",
            ),
            (
                self.items is None or bool(self.items_id_column and self.title_column),
                "--items needs --items-id-column and --title-column",
            ),
            (
                self.items is not None
                or not (self.items_id_column or self.title_column or self.genres_column),
                "--items-id-column, --title-column and --genres-column need --items",
            ),
            (bool(self.genre_separator), "--genre-separator must not be empty"),
        ]
        for ok, message in checks:
            if not ok:
                raise ImportRefused(message)

    def interaction_columns(self) -> list[Column]:
        """The columns read from the interactions file."""
        columns = [
            Column(self.user_column, "--user-column", ID),
            Column(self.item_column, "--item-column", ID),
        ]
        if self.rating_column is not None:
            columns.append(Column(self.rating_column, "--rating-column", RATING))
        if self.weight_column is not None:
            columns.append(Column(self.weight_column, "--weight-column", WEIGHT))
        if self.time_column is not None:
            columns.append(Column(self.time_column, "--time-column", TIME))
        return columns

    def item_columns(self) -> list[Column]:
        """The columns read from the items file."""
        assert self.items_id_column and self.title_column  # check() holds it
        columns = [
            Column(self.items_id_column, "--items-id-column", ID),
            Column(self.title_column, "--title-column", TEXT),
        ]
        if self.genres_column is not None:
            columns.append(Column(self.genres_column, "--genres-column", TEXT))
        return columns


def import_dataset(spec: ImportSpec, data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Imports `spec`'s files as dataset `spec.name` into the data folder.

    Every file is read and checked before anything is written; the dataset folder is
    written under a hidden name in the data folder, fsynced, then renamed into place.

    Args:
        spec: What to import.
        data_dir: The data folder; None: $MOVIEREC_DATA_DIR, else the cache folder
            (movierec.data.datasets.data_root), where the trainer looks for datasets.

    Returns:
        The dataset's manifest (counts, schema, sources' sha256, ...).

    Raises:
        ImportRefused: bad input, naming the file, line and column; nothing is written.
        DatasetError: the data folder cannot be written; nothing is left behind.
    """
    started = time.perf_counter()
    spec.check()
    root = data_root(data_dir)
    target = root / spec.name
    if target.exists() and not is_imported(target):
        raise ImportRefused(f"{target} exists and is not an imported dataset; choose another name")
    if target.exists() and not spec.replace:
        raise ImportRefused(
            f"dataset {spec.name} already exists in {root}; pass --replace to replace it"
        )
    sources = [spec.interactions] + ([spec.items] if spec.items is not None else [])
    with concurrent.futures.ThreadPoolExecutor(len(sources)) as pool:
        digests = [pool.submit(_sha256, path) for path in sources]  # beside the parsing
        read = read_columns(spec.interactions, spec.interaction_columns(), spec.separator)
        values, rows_read = read.values, read.rows
        del read
        users, items = values["--user-column"], values["--item-column"]
        times = values.get("--time-column")
        if spec.implicit:
            amounts = values.get("--weight-column", np.ones(rows_read))
        else:
            amounts = values["--rating-column"]
        scale = _rating_scale(spec, amounts)
        merged = merge_duplicates(users, items, times, amounts, summed=spec.implicit)
        del values, users, items, times, amounts
        titles, genres, named = _item_metadata(spec, merged.item_ids)
        manifest = _manifest(spec, rows_read, scale, merged, genres, named)
        columns = _columns(spec, merged)
        manifest["sources"] = {
            role: {"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": d.result()}
            for role, path, d in zip(("interactions", "items"), sources, digests, strict=False)
        }
    manifest["read_seconds"] = round(time.perf_counter() - started, 3)  # to read, check, merge
    items_table = pa.table(
        {
            "item_id": pa.array(merged.item_ids, pa.int64()),
            "title": pa.array(titles, pa.string()),
            "genres": pa.array(genres, pa.list_(pa.string())),
        }
    )
    write_dataset(root, spec.name, columns, items_table, manifest)
    return manifest


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        while block := raw.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _columns(spec: ImportSpec, merged: Merged) -> dict[str, np.ndarray]:
    """The files of the dataset folder: movierec.data.imported_datasets.COLUMNS (+ weight)."""
    count = len(merged.users)
    times = merged.times if merged.times is not None else np.zeros(count, dtype=np.int64)
    columns: dict[str, np.ndarray] = {
        "user_id": merged.users.astype(np.int64, copy=False),
        "item_id": merged.items.astype(np.int64, copy=False),
        "rating": (
            np.full(count, IMPLICIT_RATING, dtype=np.float32)
            if spec.implicit
            else merged.amounts.astype(np.float32)
        ),
        "timestamp": times.astype(np.int64, copy=False),
    }
    if spec.implicit:
        columns[WEIGHT_COLUMN] = merged.amounts.astype(np.float64, copy=False)
    return columns


def _rating_scale(spec: ImportSpec, ratings: np.ndarray) -> list[float]:
    """[lowest, highest] rating read; IMPLICIT_RATING twice for implicit feedback."""
    if spec.implicit:
        return [IMPLICIT_RATING, IMPLICIT_RATING]
    low, high = float(ratings.min()), float(ratings.max())
    if high <= low:
        raise ImportRefused(
            f"{spec.interactions} column {spec.rating_column!r} (--rating-column): every rating"
            f" is {low:g}, which ranks nothing; import it as implicit feedback (no"
            " --rating-column)"
        )
    return [low, high]


def _item_metadata(
    spec: ImportSpec, item_ids: np.ndarray
) -> tuple[list[str], list[list[str]], int]:
    """Titles and genre lists of `item_ids` [I] (sorted), and how many the items file
    titled: from its line naming the item (the first, for an id given twice), else the
    id as text and no genres."""
    titles = pd.Series(item_ids.astype(str), index=item_ids)
    genres = pd.Series([[] for _ in item_ids], index=item_ids, dtype=object)
    if spec.items is None:
        return titles.tolist(), genres.tolist(), 0
    read = read_items(spec.items, spec.item_columns(), spec.separator)
    frame = pd.DataFrame(read.values).drop_duplicates("--items-id-column")
    frame = frame[frame["--items-id-column"].isin(item_ids)].set_index("--items-id-column")
    named = frame["--title-column"].astype(str).str.strip()
    named = named[named != ""]
    titles.loc[named.index] = named
    if spec.genres_column is not None:
        split = frame["--genres-column"].astype(str).str.split(spec.genre_separator, regex=False)
        genres.loc[split.index] = split.map(
            lambda names: sorted({g.strip() for g in names} - set(NO_GENRES))
        )
    return titles.tolist(), genres.tolist(), len(named)


def _manifest(
    spec: ImportSpec,
    rows_read: int,
    scale: list[float],
    merged: Merged,
    genres: list[list[str]],
    named: int,
) -> dict[str, Any]:
    amounts = merged.amounts
    names = sorted({name for item in genres for name in item})
    schema: dict[str, Any] = {
        "user_id": {"dtype": "int64", "from": spec.user_column},
        "item_id": {"dtype": "int64", "from": spec.item_column},
        "rating": {
            "dtype": "float32",
            "from": spec.rating_column if not spec.implicit else None,
        },
        "timestamp": {"dtype": "int64", "unit": "unix seconds", "from": spec.time_column},
    }
    if spec.implicit:
        schema[WEIGHT_COLUMN] = {"dtype": "float64", "from": spec.weight_column}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": spec.name,
        "feedback": IMPLICIT if spec.implicit else RATINGS,
        "rating_scale": scale,
        "has_timestamps": spec.time_column is not None,
        "genres": names,
        "rows": len(merged.users),
        "rows_read": rows_read,
        "duplicates_merged": merged.duplicates,
        "duplicates_rule": "weights summed" if spec.implicit else "latest rating kept",
        "users": len(merged.user_ids),
        "items": len(merged.item_ids),
        "items_titled": named,
        "items_with_genres": sum(1 for item in genres if item),
        "schema": schema,
        "imported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "movierec_version": __version__,
    }
    if merged.times is not None:
        manifest["time_range"] = [int(merged.times.min()), int(merged.times.max())]
    if spec.weight_column is not None:
        manifest["weight_range"] = [float(amounts.min()), float(amounts.max())]
    return manifest

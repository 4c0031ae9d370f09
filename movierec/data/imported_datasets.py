"""The folder of an imported dataset (written by movierec.dataset_import), read back.

`<data folder>/<name>/` holds manifest.json, one .npy per interaction column (COLUMNS,
the columnar form ratings caches use, plus the implicit weights) and items.parquet.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pandas as pd

from movierec.errors import DatasetError

MANIFEST_FILE = "manifest.json"
ITEMS_FILE = "items.parquet"
FORMAT = "movierec-imported-dataset"
FORMAT_VERSION = 1
RATINGS = "ratings"
IMPLICIT = "implicit"
"""The two kinds of feedback: explicit ratings, or interactions (optionally weighted)."""
IMPLICIT_RATING = 1.0
"""The `rating` of every interaction of an implicit dataset, whose rating scale is
(1, 1): a degenerate scale, which every consumer reads as "no ratings"."""
COLUMNS = {"user_id": "int64", "item_id": "int64", "rating": "float32", "timestamp": "int64"}
"""Interaction columns, one .npy each, as movierec.data.datasets.Dataset.ratings holds them."""
WEIGHT_COLUMN = "weight"
"""Implicit datasets only: float64 weight.npy, each interaction's (summed) weight."""


def is_imported(folder: pathlib.Path) -> bool:
    """Whether `folder` holds an imported dataset (its manifest)."""
    return (folder / MANIFEST_FILE).is_file()


def read_manifest(folder: pathlib.Path) -> dict[str, Any]:
    """The manifest of the imported dataset in `folder`.

    Raises:
        DatasetError: missing, unreadable, or not an imported dataset's manifest.
    """
    path = folder / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DatasetError(f"{path} is not the manifest of an imported dataset")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DatasetError(
            f"{path} has format version {manifest.get('format_version')}; this movierec reads"
            f" version {FORMAT_VERSION}: import the data again"
        )
    return manifest


def list_imported(root: pathlib.Path) -> list[tuple[str, dict[str, Any]]]:
    """(name, manifest) of every imported dataset in data folder `root`, by name; folders
    whose manifest cannot be read are left out."""
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not is_imported(folder):
            continue
        try:
            found.append((folder.name, read_manifest(folder)))
        except DatasetError:
            continue
    return found


def read_interactions(folder: pathlib.Path, manifest: dict[str, Any]) -> pd.DataFrame:
    """The interactions as typed COLUMNS (raw ids), in the order they were imported.

    Raises:
        DatasetError: a column is missing, mistyped or of the wrong length.
    """
    columns = {}
    for name, dtype in COLUMNS.items():
        path = folder / f"{name}.npy"
        try:
            values = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DatasetError(f"cannot read {path}: {error}") from error
        if values.dtype != np.dtype(dtype) or values.shape != (manifest["rows"],):
            raise DatasetError(
                f"{path} holds {values.dtype} {values.shape}, expected {dtype}"
                f" ({manifest['rows']},) as its manifest says"
            )
        columns[name] = values
    return pd.DataFrame(columns, copy=False)


def read_items(folder: pathlib.Path) -> pd.DataFrame:
    """The items: item_id (int64), title (str), year (int32, 0: unknown), genres (tuple of
    genre names), one row per item of the interactions.

    Raises:
        DatasetError: the items file is missing or unreadable.
    """
    import pyarrow.parquet as pq  # trainer side only; serving never reads datasets

    path = folder / ITEMS_FILE
    try:
        table = pq.read_table(path, columns=["item_id", "title", "genres"])
    except (OSError, ValueError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from error
    genres = table.column("genres").to_pylist()
    return pd.DataFrame(
        {
            "item_id": table.column("item_id").to_numpy().astype(np.int64),
            "title": table.column("title").to_pandas().astype(str),
            "year": np.zeros(table.num_rows, dtype=np.int32),
            "genres": [tuple(names) for names in genres],
        }
    )

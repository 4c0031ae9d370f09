"""Writes an imported dataset's folder atomically: under a hidden name in the data folder,
fsynced, then renamed into place."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from movierec.data.imported_datasets import ITEMS_FILE, MANIFEST_FILE
from movierec.errors import DatasetError


def write_dataset(
    root: pathlib.Path,
    name: str,
    columns: dict[str, np.ndarray],
    items: pa.Table,
    manifest: dict[str, Any],
) -> pathlib.Path:
    """Writes dataset `name` into data folder `root` (created if need be) and returns its
    folder. A dataset already there is replaced: renamed aside, then removed once the new
    one is in place (a reader sees the old dataset or the new one, or for the moment
    between the two renames neither). On failure nothing new is left behind, and a
    replaced dataset is put back.

    Args:
        root: The data folder.
        name: The dataset's folder name.
        columns: Column name -> values, one .npy each.
        items: The items table (movierec.data.imported_datasets.read_items).
        manifest: Written last, as manifest.json.

    Raises:
        DatasetError: the folder cannot be written.
    """
    made_root = not root.exists()
    target = root / name
    aside: pathlib.Path | None = None
    staging: pathlib.Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}.importing-", dir=root))
        staging.chmod(0o755)  # mkdtemp's 0700 would hide it from a trainer run by another user
        for column, values in columns.items():
            np.save(staging / f"{column}.npy", values, allow_pickle=False)
        pq.write_table(items, staging / ITEMS_FILE)
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
        for path in staging.iterdir():
            _fsync(path)
        _fsync(staging)
        if target.exists():
            aside = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}.replaced-", dir=root))
            os.replace(target, aside)
        os.rename(staging, target)
        staging = None
        _fsync(root)
    except BaseException as error:  # an interrupt too: nothing half-written stays
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if aside is not None and not target.exists():
            os.replace(aside, target)
            aside = None
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        if isinstance(error, OSError):
            raise DatasetError(f"cannot write dataset {name} into {root}: {error}") from error
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)
    return target


def _fsync(path: pathlib.Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

"""What the client CLI's store and data commands run on this machine, without a service:
synthetic versions and ratings, downloads, and the users of a stored version.

The client package reaches the library only through this module, and only inside those
commands, so that every other command loads no numpy, pandas or store code.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

from movierec.data.archives import BASE_URL, progress_bar
from movierec.data.datasets import DEFAULT_CACHE, data_root, download_dataset
from movierec.data.imported_datasets import is_imported, list_imported, read_manifest
from movierec.data.imports.importer import ImportSpec, import_dataset
from movierec.data.synthetic import SynthSpec, publish_synthetic
from movierec.data.synthetic_ratings import RatingsSpec, write_ratings
from movierec.errors import DatasetError, MovierecError
from movierec.store.catalog import CATALOG_FILE, load_catalog
from movierec.store.model_store import ModelStore


def publish_synthetic_version(
    store_root: str,
    model: str,
    *,
    users: int,
    items: int,
    dim: int,
    skew: float,
    ratings_per_user: int,
    objective: str,
    seed: int,
) -> int:
    """Writes a synthetic dot version straight into a store (movierec.data.synthetic).

    Returns:
        The version number published.

    Raises:
        InvalidRequest: a bad value (a ValueError).
    """
    spec = SynthSpec(
        users=users,
        items=items,
        dim=dim,
        skew=skew,
        ratings_per_user=ratings_per_user,
        objective=objective,
        seed=seed,
    )
    return publish_synthetic(ModelStore(store_root), model, spec)


def write_synthetic_ratings(
    out: str, *, users: int, items: int, ratings: int, skew: float, seed: int
) -> pathlib.Path:
    """Writes a synthetic ratings dataset in the ml-25m layout under `out`
    (movierec.data.synthetic_ratings).

    Returns:
        The dataset's folder.

    Raises:
        InvalidRequest: a bad value (a ValueError).
    """
    spec = RatingsSpec(users=users, items=items, ratings=ratings, skew=skew, seed=seed)
    return write_ratings(spec, out)


def download(name: str, cache: str | None, base_url: str | None) -> pathlib.Path:
    """Downloads, verifies and unpacks a MovieLens dataset into the cache (default
    ~/.cache/movierec), drawing a progress bar on a terminal (elsewhere its redrawn line
    would be printed once per percent).

    Returns:
        The dataset's folder.

    Raises:
        ValueError: the download or its check failed (the message says why).
    """
    folder = pathlib.Path(cache).expanduser() if cache else DEFAULT_CACHE.expanduser()
    try:
        progress = progress_bar(name) if sys.stderr.isatty() else None
        return download_dataset(name, folder, base_url or BASE_URL, progress=progress)
    except DatasetError as error:
        raise ValueError(str(error)) from error


def catalog_users(store_root: str, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user ids, their training rating counts, item ids) of a model's newest version, read
    from a store this machine can see (numpy only).

    Raises:
        ValueError: the store lacks the model, or its newest version cannot be read (the
            message says why).
    """
    store = ModelStore(store_root)
    try:
        version = store.latest_version(model)
        manifest = store.check_version_files(model, version)
        with store.open_version_file(model, version, CATALOG_FILE, manifest) as handle:
            catalog = load_catalog(handle)
    except (MovierecError, OSError, ValueError) as error:
        raise ValueError(f"--users-from-store {store_root}: {error}") from None
    counts = np.diff(catalog.seen_indptr)[1:]
    return catalog.user_ids, counts.astype(np.float64), catalog.item_ids


# What the client's admin commands use, re-exported so that this module is their one door.
__all__ = [
    "DatasetError",
    "ImportSpec",
    "catalog_users",
    "data_root",
    "download",
    "import_dataset",
    "is_imported",
    "list_imported",
    "publish_synthetic_version",
    "read_manifest",
    "write_synthetic_ratings",
]

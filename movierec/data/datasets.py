"""MovieLens readers for every published layout, and where a dataset's files are found."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pathlib
import re
import shutil
import sys

import numpy as np
import pandas as pd

from movierec.data.archives import (
    ARCHIVES,
    BASE_URL,
    Archive,
    Progress,
    download_archive,
    progress_bar,
)
from movierec.data.imported_datasets import (
    IMPLICIT,
    is_imported,
    list_imported,
    read_interactions,
    read_items,
    read_manifest,
)
from movierec.data.ratings_cache import read_ratings_csv, read_ratings_dat
from movierec.errors import DatasetError

logger = logging.getLogger(__name__)

DEFAULT_CACHE = pathlib.Path("~/.cache/movierec")

# sha256 of the ml-100k files movierec reads, as published in the official archive; a
# download (or a local copy found through the cache) must match them.
ML_100K_SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
    "u1.base": "ce253ec86c448b44fb3ba9a30d12dcfc2e9210cbde71efada3730c22e9ac212a",
    "u1.test": "18c6014a4b2c7324f250a63f8904a7b16b2b19f911129e346141507b0cbac950",
    "u2.base": "6c06f0b5df4b256da1a994f3ac66edc8da4d3f09bc9282df6b14d893366d703e",
    "u2.test": "4de658d1e04ed9104629509a2e2528fce833ac8e048280183f1df167632038c3",
    "u3.base": "afdc155c291c6edc41c0407e39d7462eb98d341e064f0b0a12175b80b3c4af5d",
    "u3.test": "0f548b51c78327de4c156461d3e430b7e5579fe2b5681586a59416e48fd35f6d",
    "u4.base": "219f0f4d40dfe9c5141d425f53fa91ee23ed275f14e280bbf1b50117afb064ca",
    "u4.test": "7c02ad0a1e7ab1083c8b9d4b627203a051dd7b5eab46d99fa44de33470de8db9",
    "u5.base": "a9574e59ce961eec2121627760b6e9b0974ce1637b3fe69ac32cb14a4bfab485",
    "u5.test": "351cc52e0d15b6c721466276fc24671d40936899e3d01fadeaf312915b8c5634",
    "ua.base": "67b5bcdb380c29f85d56a012ecd88612ae020f30a6730d117a334ee8203b91f2",
    "ua.test": "d0497e202417720f57a184ec8c66be2d1afa4ff41bb53787c57b28d6bf79bc42",
    "ub.base": "237254d253b6ad7de84f919d041055428646254f34ed8f562703c899430cd881",
    "ub.test": "d54a72d05730d5892062734b2bec73e976f9b713d18c828a18b968d6cce442da",
}

_YEAR_IN_TITLE = re.compile(r"\((\d{4})\)\s*$")
DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What an imported dataset may be called: a folder name, safe on every filesystem."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A MovieLens dataset in one normalised shape, whatever layout it was read from.

    Attributes:
        name: Dataset name, e.g. "ml-100k".
        ratings: Columns user_id (int64), item_id (int64), rating (float32), timestamp
            (int64), one row per rating, raw ids.
        items: Columns item_id (int64), title (str), year (int32, 0 when unknown), genres
            (tuple of genre names), one row per item.
        users: Columns user_id, age, gender, occupation, zip where the layout has them,
            else None.
        genres: Genre names in the dataset's own order.
        rating_scale: (lowest, highest) possible rating; (1, 1) for implicit feedback,
            whose interactions all have rating 1 (movierec.data.imported_datasets).
        path: Folder the files were read from.
        has_timestamps: Whether `timestamp` holds real times (else zeros): the splits by
            time need them.
    """

    name: str
    ratings: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame | None
    genres: tuple[str, ...]
    rating_scale: tuple[float, float]
    path: pathlib.Path
    has_timestamps: bool = True

    @property
    def implicit(self) -> bool:
        """Whether the dataset holds interactions without ratings (a degenerate scale)."""
        return self.rating_scale[1] <= self.rating_scale[0]

    def without_ratings(self) -> Dataset:
        """The dataset with no ratings (same columns, no rows): its metadata, for a job
        that has split the ratings and need not hold a second copy of them."""
        return dataclasses.replace(self, ratings=self.ratings.head(0).copy())


LAYOUTS = {
    "ml-100k": "100k",
    "ml-1m": "dat",
    "ml-10m": "dat",
    "ml-latest-small": "csv",
    "ml-latest": "csv",
    "ml-25m": "csv",
    "ml-32m": "csv",
}
"""Every dataset name movierec knows, with the layout its files use."""


@dataclasses.dataclass(frozen=True)
class DatasetTraits:
    """What a dataset offers, known without reading its interactions.

    Attributes:
        implicit: Interactions without ratings: the rating objective cannot train.
        has_timestamps: Real times: the splits by time can be made.
    """

    implicit: bool = False
    has_timestamps: bool = True


def data_root(data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """The data folder: `data_dir`, else $MOVIEREC_DATA_DIR, else the cache folder."""
    return pathlib.Path(
        data_dir or os.environ.get("MOVIEREC_DATA_DIR") or DEFAULT_CACHE
    ).expanduser()


def check_dataset_name(name: str, data_dir: str | os.PathLike | None = None) -> None:
    """Raises DatasetError naming the known datasets when `name` is neither a MovieLens
    dataset (LAYOUTS) nor one imported into the data folder (data_root(data_dir))."""
    if name in LAYOUTS or _is_imported_name(name, data_dir):
        return
    known = ", ".join(sorted(LAYOUTS))
    root = data_root(data_dir)
    imported = ", ".join(found for found, _ in list_imported(root)) or "none"
    raise DatasetError(
        f"unknown dataset {name!r}; known datasets: {known}; imported into {root}: {imported}"
    )


def _is_imported_name(name: str, data_dir: str | os.PathLike | None) -> bool:
    return bool(DATASET_NAME.fullmatch(name)) and is_imported(data_root(data_dir) / name)


def dataset_traits(name: str, data_dir: str | os.PathLike | None = None) -> DatasetTraits:
    """The traits of dataset `name` (MovieLens: rated and timed), from an imported
    dataset's manifest without reading its interactions.

    Raises:
        DatasetError: unknown name, or an unreadable manifest.
    """
    check_dataset_name(name, data_dir)
    if name in LAYOUTS:
        return DatasetTraits()
    manifest = read_manifest(data_root(data_dir) / name)
    return DatasetTraits(manifest["feedback"] == IMPLICIT, bool(manifest["has_timestamps"]))


def load_dataset(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """Finds (downloading if need be) and reads a MovieLens dataset, or reads one imported
    into the data folder (movierec dataset import).

    Args:
        name: One of LAYOUTS, e.g. "ml-100k", or an imported dataset's name.
        data_dir: Folder holding `<name>/`; default MOVIEREC_DATA_DIR, else the cache.

    Returns:
        The dataset with raw ids.

    Raises:
        DatasetError: unknown name, files missing and not downloadable, or unparseable.
    """
    check_dataset_name(name, data_dir)
    if name not in LAYOUTS:
        return read_imported(name, data_root(data_dir) / name)
    folder = locate_dataset(name, data_dir)
    return read_dataset(name, folder)


def read_imported(name: str, folder: pathlib.Path) -> Dataset:
    """Reads the imported dataset in `folder` (movierec.data.imported_datasets).

    Raises:
        DatasetError: a file is missing or does not match the manifest.
    """
    manifest = read_manifest(folder)
    low, high = (float(x) for x in manifest["rating_scale"])
    return Dataset(
        name,
        read_interactions(folder, manifest),
        read_items(folder),
        None,
        tuple(manifest["genres"]),
        (low, high),
        folder,
        bool(manifest["has_timestamps"]),
    )


def read_dataset(name: str, folder: pathlib.Path) -> Dataset:
    """Reads the files of dataset `name` from `folder` with the reader for its layout
    (an imported dataset's when the folder holds one)."""
    if name not in LAYOUTS and is_imported(folder):
        return read_imported(name, folder)
    check_dataset_name(name)
    readers = {"100k": read_ml_100k, "dat": read_ml_dat, "csv": read_ml_csv}
    try:
        return readers[LAYOUTS[name]](folder, name=name)
    except (OSError, ValueError, KeyError) as error:
        raise DatasetError(f"cannot read {name} from {folder}: {error}") from error


def locate_dataset(name: str, data_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Returns the folder holding dataset `name`, downloading it into the cache if absent.

    Looks in `data_dir`, else $MOVIEREC_DATA_DIR, else ~/.cache/movierec; a folder named by
    the caller or the environment that lacks the dataset is an error, not a download.
    """
    check_dataset_name(name)
    explicit = data_dir or os.environ.get("MOVIEREC_DATA_DIR")
    if explicit:
        folder = pathlib.Path(explicit).expanduser() / name
        if not _has_files(name, folder):
            raise DatasetError(
                f"dataset {name} not found in {folder} (the data folder comes from the"
                " trainer's --data-dir, else MOVIEREC_DATA_DIR; it must hold"
                f" {name}/{_marker(name)})"
            )
        return folder
    cache = DEFAULT_CACHE.expanduser()
    folder = cache / name
    if not _has_files(name, folder):
        try:
            download_dataset(
                name, cache, progress=progress_bar(name) if sys.stderr.isatty() else None
            )
        except DatasetError as error:
            raise DatasetError(
                f"{error}. No data folder was given (the trainer's --data-dir, or"
                f" MOVIEREC_DATA_DIR) and {cache} has no {name}: give the trainer a folder"
                f" holding {name}/ with --data-dir DIR or MOVIEREC_DATA_DIR=DIR, or fetch it"
                f" first with `movierec download {name}`"
            ) from error
    return folder


def _marker(name: str) -> str:
    return {"100k": "u.data", "dat": "ratings.dat", "csv": "ratings.csv"}[LAYOUTS[name]]


def _has_files(name: str, folder: pathlib.Path) -> bool:
    return (folder / _marker(name)).is_file()


def download_dataset(
    name: str,
    cache: pathlib.Path,
    base_url: str = BASE_URL,
    progress: Progress | None = None,
    archives: dict[str, Archive] | None = None,
) -> pathlib.Path:
    """Downloads the official archive of `name` into `cache/<name>/` (movierec.data.archives:
    verified against its pinned sha256 or the publisher's md5, unpacked atomically), and
    for ml-100k checks every file movierec reads against its published sha256 too.

    Args:
        name: A dataset of `archives`.
        cache: The cache folder.
        base_url: Where the archives are (tests serve their own on loopback).
        progress: Called as bytes arrive (movierec.data.archives.progress_bar draws a bar).
        archives: The registry (default movierec.data.archives.ARCHIVES).

    Raises:
        DatasetError: unknown, unreachable, or a file that does not match its checksum;
            nothing is left in the cache then.
    """
    known = ARCHIVES if archives is None else archives
    if name not in known:
        raise DatasetError(f"no download is known for {name}; known: {', '.join(sorted(known))}")
    logger.info("downloading %s from %s", name, base_url)
    target = download_archive(known[name], cache, base_url, progress)
    if name == "ml-100k":
        try:
            verify_checksums(target, ML_100K_SHA256)
        except DatasetError:
            shutil.rmtree(target, ignore_errors=True)
            raise
    return target


def verify_checksums(folder: pathlib.Path, expected: dict[str, str]) -> None:
    """Raises DatasetError naming the first file in `expected` missing or not matching."""
    for filename, digest in expected.items():
        path = folder / filename
        if not path.is_file():
            raise DatasetError(f"{path} is missing")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise DatasetError(f"{path} has sha256 {actual}, expected {digest}")


def read_ml_100k(folder: pathlib.Path, name: str = "ml-100k") -> Dataset:
    """Reads ml-100k: u.data, u.item (titles, release years, genres), u.user and u.genre."""
    folder = pathlib.Path(folder)
    ratings = read_ml_100k_ratings(folder / "u.data")
    genre_table = pd.read_csv(
        folder / "u.genre", sep="|", header=None, names=["genre", "index"], encoding="latin-1"
    ).dropna()
    genres = tuple(genre_table.sort_values("index")["genre"])
    columns = ["item_id", "title", "release_date", "video_release_date", "url", *genres]
    raw = pd.read_csv(folder / "u.item", sep="|", header=None, names=columns, encoding="latin-1")
    flags = raw[list(genres)].to_numpy(dtype=bool)
    release_year = pd.to_datetime(raw["release_date"], format="%d-%b-%Y", errors="coerce").dt.year
    title_year = raw["title"].map(_year_from_title)
    year = release_year.fillna(title_year).fillna(0).astype("int32")
    items = pd.DataFrame(
        {
            "item_id": raw["item_id"].astype("int64"),
            "title": raw["title"].fillna("").astype(str),
            "year": year,
            "genres": [tuple(g for g, on in zip(genres, row, strict=True) if on) for row in flags],
        }
    )
    users = pd.read_csv(
        folder / "u.user",
        sep="|",
        header=None,
        names=["user_id", "age", "gender", "occupation", "zip"],
        encoding="latin-1",
    )
    return Dataset(name, ratings, items, users, genres, (1.0, 5.0), folder)


def read_ml_100k_ratings(path: pathlib.Path) -> pd.DataFrame:
    """Reads a tab-separated ml-100k ratings file (u.data, uN.base, uN.test)."""
    frame = pd.read_csv(
        path, sep="\t", header=None, names=["user_id", "item_id", "rating", "timestamp"]
    )
    return _typed_ratings(frame)


def read_ml_dat(folder: pathlib.Path, name: str = "ml-1m") -> Dataset:
    """Reads the `::`-separated layout of ml-1m and ml-10m (ratings.dat, movies.dat,
    users.dat); the ratings through a columnar cache (movierec.data.ratings_cache)."""
    folder = pathlib.Path(folder)
    ratings = read_ratings_dat(folder / "ratings.dat")  # parsed once, then from its cache
    movies = _read_double_colon(folder / "movies.dat", ["item_id", "title", "genres"])
    users = None
    if (folder / "users.dat").is_file():
        users = _read_double_colon(
            folder / "users.dat", ["user_id", "gender", "age", "occupation", "zip"]
        )
    return _with_pipe_genres(name, ratings, movies, users, folder)


def read_ml_csv(folder: pathlib.Path, name: str = "ml-latest-small") -> Dataset:
    """Reads the CSV layout of ml-latest(-small), ml-25m and ml-32m (ratings.csv, movies.csv);
    the ratings through a columnar cache (movierec.data.ratings_cache)."""
    folder = pathlib.Path(folder)
    ratings = read_ratings_csv(folder / "ratings.csv")  # parsed once, then from its cache
    movies = pd.read_csv(folder / "movies.csv").rename(columns={"movieId": "item_id"})
    return _with_pipe_genres(name, ratings, movies, None, folder)


def _read_double_colon(path: pathlib.Path, names: list[str]) -> pd.DataFrame:
    lines = path.read_text(encoding="latin-1").splitlines()
    rows = [line.split("::") for line in lines if line.strip()]
    bad = next((i for i, row in enumerate(rows) if len(row) != len(names)), None)
    if bad is not None:
        raise ValueError(
            f"{path.name} line {bad + 1} has {len(rows[bad])} fields, not {len(names)}"
        )
    frame = pd.DataFrame(rows, columns=names)
    for column in ("user_id", "item_id", "rating", "timestamp", "age", "occupation"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column])
    return frame


def _with_pipe_genres(
    name: str,
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    users: pd.DataFrame | None,
    folder: pathlib.Path,
) -> Dataset:
    per_item = [
        tuple(g for g in str(value).split("|") if g and g != "(no genres listed)")
        for value in movies["genres"].fillna("")
    ]
    genres = tuple(sorted({g for item in per_item for g in item}))
    title = movies["title"].fillna("").astype(str)
    items = pd.DataFrame(
        {
            "item_id": movies["item_id"].astype("int64"),
            "title": title,
            "year": title.map(_year_from_title).fillna(0).astype("int32"),
            "genres": per_item,
        }
    )
    low = 0.5 if (ratings["rating"] % 1 != 0).any() or ratings["rating"].min() < 1 else 1.0
    return Dataset(name, ratings, items, users, genres, (low, 5.0), folder)


def _typed_ratings(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[["user_id", "item_id", "rating", "timestamp"]]
    if frame.isna().any().any():
        raise ValueError("ratings have missing fields")
    return pd.DataFrame(
        {
            "user_id": frame["user_id"].astype("int64"),
            "item_id": frame["item_id"].astype("int64"),
            "rating": frame["rating"].astype("float32"),
            "timestamp": frame["timestamp"].astype("int64"),
        }
    ).reset_index(drop=True)


def _year_from_title(title: object) -> float:
    match = _YEAR_IN_TITLE.search(str(title))
    return float(match.group(1)) if match else np.nan

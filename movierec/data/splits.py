"""Train/test splits: ml-100k's official folds, seeded random splits, splits by time
(a global time cut, each user's last interaction), validation carve-outs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from movierec.data.datasets import Dataset, read_ml_100k_ratings
from movierec.errors import DatasetError

OFFICIAL_FOLDS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
MIN_SPLIT_RATINGS = 100
"""Fewest ratings a split's training or test part may hold."""
RANDOM = "random"
TEMPORAL = "temporal"
"""A global time cut: the latest test_fraction of the interactions are held out."""
LAST = "last"
"""Leave-last-out: each user's latest interaction is held out (a user with one keeps it)."""
TIMED = (TEMPORAL, LAST)
"""The splits by time, which need a dataset with timestamps."""
FRACTION_SPLITS = (RANDOM, TEMPORAL)
"""The splits that hold out test_fraction of the interactions."""


@dataclasses.dataclass(frozen=True)
class Split:
    """Ratings divided into a training and a test part (same columns as Dataset.ratings).

    Attributes:
        name: "<dataset>/<split>", e.g. "ml-100k/u1".
        train: Ratings to fit on.
        test: Held-out ratings, never seen by fitting or model selection.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame


def check_split_name(dataset_name: str, split: str, has_timestamps: bool = True) -> None:
    """Raises DatasetError when `split` is not "random", a fold the dataset has, or (for a
    dataset with timestamps) a split by time."""
    if split == RANDOM or (dataset_name == "ml-100k" and split in OFFICIAL_FOLDS):
        return
    if split in TIMED:
        if has_timestamps:
            return
        raise DatasetError(
            f"split {split!r} holds out by time, and dataset {dataset_name} has no timestamps"
            " (import it with --time-column); choose random"
        )
    folds = ", ".join(OFFICIAL_FOLDS) + ", " if dataset_name == "ml-100k" else ""
    timed = ", " + ", ".join(TIMED) if has_timestamps else ""
    raise DatasetError(f"unknown split {split!r} for {dataset_name}; choose {folds}random{timed}")


def make_split(dataset: Dataset, split: str, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Builds the named split of a dataset.

    Args:
        dataset: The dataset.
        split: An official ml-100k fold ("u1".."u5", "ua", "ub"), "random", or where the
            dataset has timestamps "temporal" or "last".
        test_fraction: Held-out share of ratings for "random" and "temporal".
        seed: Seed for "random".

    Raises:
        DatasetError: unknown split, a split by time of a dataset without times, or fold
            files missing.
    """
    check_split_name(dataset.name, split, dataset.has_timestamps)
    ratings = dataset.ratings
    if split == RANDOM:
        train, test = random_split(ratings, test_fraction, seed)
    elif split in TIMED:
        times = ratings["timestamp"].to_numpy()
        if split == TEMPORAL:
            kept, held_out = temporal_split_rows(times, test_fraction)
        else:
            kept, held_out = last_split_rows(ratings["user_id"].to_numpy(), times)
        train = ratings.iloc[kept].reset_index(drop=True)
        test = ratings.iloc[held_out].reset_index(drop=True)
    else:
        try:
            train = read_ml_100k_ratings(dataset.path / f"{split}.base")
            test = read_ml_100k_ratings(dataset.path / f"{split}.test")
        except OSError as error:
            raise DatasetError(f"fold {split} is missing from {dataset.path}: {error}") from error
    for part, frame in (("training", train), ("test", test)):
        if len(frame) < MIN_SPLIT_RATINGS:
            raise DatasetError(
                f"split {split} of {dataset.name} leaves {len(frame)} ratings in its {part}"
                f" part; at least {MIN_SPLIT_RATINGS} are needed"
            )
    return Split(f"{dataset.name}/{split}", train, test)


def random_split(
    ratings: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffles ratings with `seed` and holds out `fraction` of them.

    Returns:
        (kept, held_out), each with a fresh index; together they are exactly `ratings`.
    """
    kept, held_out = random_split_rows(len(ratings), fraction, seed)
    return (
        ratings.iloc[kept].reset_index(drop=True),
        ratings.iloc[held_out].reset_index(drop=True),
    )


def random_split_rows(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The row positions random_split keeps and holds out of `count` rows, in its order:
    for splitting columns without copying a frame.

    Raises:
        DatasetError: `fraction` is not in (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"held-out fraction must be in (0, 1), got {fraction}")
    order = np.random.default_rng(seed).permutation(count)
    cut = count - int(round(count * fraction))
    return order[:cut], order[cut:]


def temporal_split_rows(timestamps: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Row positions kept and held out by a global time cut: the round(n * fraction)
    latest rows are held out (at a tie in time, the later row in the data), each part in
    the data's order.

    Args:
        timestamps: Unix seconds [n].
        fraction: Held-out share, in (0, 1).

    Raises:
        DatasetError: `fraction` is not in (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"held-out fraction must be in (0, 1), got {fraction}")
    order = np.argsort(timestamps, kind="stable")
    cut = len(order) - int(round(len(order) * fraction))
    return np.sort(order[:cut]), np.sort(order[cut:])


def last_split_rows(users: np.ndarray, timestamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions kept and held out by leave-last-out: each user's latest row (at a tie
    in time, the later row in the data) is held out, unless it is the user's only one.

    Args:
        users: Raw user ids [n].
        timestamps: Unix seconds [n].

    Returns:
        (kept, held_out), each in the data's order.
    """
    rows = np.arange(len(users))
    order = np.lexsort((rows, timestamps, users))
    owner = users[order]
    last = np.r_[owner[1:] != owner[:-1], True]
    first = np.r_[True, owner[1:] != owner[:-1]]
    held = np.zeros(len(users), dtype=bool)
    held[order[last & ~first]] = True
    return rows[~held], rows[held]

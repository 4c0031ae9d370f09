"""Train/test splits: ml-100k's official folds, seeded random splits, validation carve-outs."""

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


def check_split_name(dataset_name: str, split: str) -> None:
    """Raises DatasetError when `split` is neither "random" nor a fold the dataset has."""
    if split == RANDOM or (dataset_name == "ml-100k" and split in OFFICIAL_FOLDS):
        return
    folds = ", ".join(OFFICIAL_FOLDS) + ", " if dataset_name == "ml-100k" else ""
    raise DatasetError(f"unknown split {split!r} for {dataset_name}; choose {folds}random")


def make_split(dataset: Dataset, split: str, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Builds the named split of a dataset.

    Args:
        dataset: The dataset.
        split: An official ml-100k fold ("u1".."u5", "ua", "ub") or "random".
        test_fraction: Held-out share of ratings for "random".
        seed: Seed for "random".

    Raises:
        DatasetError: unknown split, or fold files missing.
    """
    check_split_name(dataset.name, split)
    if split == RANDOM:
        train, test = random_split(dataset.ratings, test_fraction, seed)
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

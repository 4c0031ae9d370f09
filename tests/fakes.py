"""Small hand-made model versions for tests that must not import TensorFlow.

The fake catalog: users 10, 20, 30 and items 100..104, embedding width 2, linear output.
"""

from __future__ import annotations

import pathlib

import numpy as np

from movierec.bundle import BUNDLE_FILE, Bundle, save_bundle
from movierec.model_store import ModelStore

USERS = np.array([10, 20, 30], dtype=np.int64)
ITEMS = np.array([100, 101, 102, 103, 104], dtype=np.int64)
TITLES = np.array(["Alpha (1990)", "Beta (1991)", "Gamma (1992)", "Delta (1993)", "Eps (1994)"])
GENRES = np.array(["Action", "Comedy", "Drama"])


def make_bundle(shift: float = 0.0) -> Bundle:
    """A bundle whose scores are easy to work out by hand.

    Row 0 of every table is the zero OOV row. User 10 = [1, 0], 20 = [0, 1], 30 = [1, 1];
    items 100..104 = [1, 0], [0, 1], [0.5, 0.5], [-1, 0], [2, 2]; item biases 0, 0.1, 0.2,
    0.3, -3; user biases 0.5, 0, -0.5; global bias 3 + shift. User 10 rated 100 and 104 in
    training, user 20 rated 101, user 30 nothing.
    """
    return Bundle(
        user_ids=USERS,
        item_ids=ITEMS,
        user_embeddings=np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32),
        item_embeddings=np.array(
            [[0, 0], [1, 0], [0, 1], [0.5, 0.5], [-1, 0], [2, 2]], dtype=np.float32
        ),
        user_bias=np.array([0, 0.5, 0, -0.5], dtype=np.float32),
        item_bias=np.array([0, 0, 0.1, 0.2, 0.3, -3], dtype=np.float32),
        global_bias=np.array(3.0 + shift, dtype=np.float32),
        output="linear",
        rating_scale=np.array([1, 5], dtype=np.float32),
        item_titles=TITLES,
        item_years=np.array([1990, 1991, 1992, 1993, 1994], dtype=np.int32),
        genre_names=GENRES,
        item_genre_flags=np.array(
            [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=bool
        ),
        popularity=np.array([0, 1, 1, 0, 0, 1], dtype=np.int64),
        seen_indptr=np.array([0, 0, 2, 3, 3], dtype=np.int64),
        seen_items=np.array([1, 5, 2], dtype=np.int64),
        test_user_ids=np.array([10, 20, 30, 99], dtype=np.int64),
        test_item_ids=np.array([101, 100, 102, 100], dtype=np.int64),
        test_ratings=np.array([4, 3, 5, 3], dtype=np.float32),
    )


def publish_fake(store: ModelStore, name: str = "fake", shift: float = 0.0) -> int:
    """Publishes make_bundle(shift) as a new version of `name`; returns the version."""

    def write(folder: pathlib.Path) -> None:
        save_bundle(folder / BUNDLE_FILE, make_bundle(shift))

    manifest = {"kind": "dot", "split": "fake/test", "metrics": {"rmse": 1.0, "mae": 1.0}}
    return store.publish_version(name, manifest, write)

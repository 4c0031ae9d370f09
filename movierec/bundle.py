"""The serving bundle: every array serving needs, in one .npz read without pickle."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from movierec.datasets import Dataset
from movierec.splits import Split
from movierec.vocab import IdVocabulary

BUNDLE_FILE = "bundle.npz"


@dataclasses.dataclass(frozen=True)
class Bundle:
    """Arrays of a dot-product model and its catalog. U users and I items known from
    training, D embedding width, G genres; row 0 of every per-user or per-item table is the
    zero out-of-vocabulary row.

    Attributes:
        user_ids: Raw user ids of rows 1..U, int64 [U], sorted.
        item_ids: Raw item ids of rows 1..I, int64 [I], sorted.
        user_embeddings: float32 [U + 1, D].
        item_embeddings: float32 [I + 1, D].
        user_bias: float32 [U + 1].
        item_bias: float32 [I + 1].
        global_bias: float32 scalar added to every raw score.
        output: "linear" or "sigmoid".
        rating_scale: float32 [2], lowest and highest rating.
        item_titles: str [I].
        item_years: int32 [I], 0 when unknown.
        genre_names: str [G].
        item_genre_flags: bool [I, G].
        popularity: int64 [I + 1], training ratings per item.
        seen_indptr: int64 [U + 2]; items user row u rated in training are
            seen_items[seen_indptr[u]:seen_indptr[u + 1]].
        seen_items: int64 [number of training ratings], inner item indices.
        test_user_ids: int64 [T], raw ids of the held-out split.
        test_item_ids: int64 [T].
        test_ratings: float32 [T].
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_embeddings: np.ndarray
    item_embeddings: np.ndarray
    user_bias: np.ndarray
    item_bias: np.ndarray
    global_bias: np.ndarray
    output: str
    rating_scale: np.ndarray
    item_titles: np.ndarray
    item_years: np.ndarray
    genre_names: np.ndarray
    item_genre_flags: np.ndarray
    popularity: np.ndarray
    seen_indptr: np.ndarray
    seen_items: np.ndarray
    test_user_ids: np.ndarray
    test_item_ids: np.ndarray
    test_ratings: np.ndarray


def save_bundle(path: pathlib.Path, bundle: Bundle) -> None:
    """Writes the bundle as an uncompressed .npz (fast to load, no pickled objects)."""
    arrays = {
        field.name: np.asarray(getattr(bundle, field.name)) for field in dataclasses.fields(bundle)
    }
    with open(path, "wb") as out:
        np.savez(out, allow_pickle=False, **arrays)


def load_bundle(path: pathlib.Path) -> Bundle:
    """Reads a bundle written by save_bundle, refusing pickled objects.

    Raises:
        ValueError: a field is missing or the file is not an npz.
        OSError: the file cannot be read.
    """
    with np.load(path, allow_pickle=False) as data:
        names = [field.name for field in dataclasses.fields(Bundle)]
        missing = [name for name in names if name not in data.files]
        if missing:
            raise ValueError(f"{path.name} lacks arrays: {', '.join(missing)}")
        values = {name: data[name] for name in names}
    values["output"] = str(values["output"])
    for name in ("user_embeddings", "item_embeddings", "user_bias", "item_bias"):
        values[name] = np.ascontiguousarray(values[name], dtype=np.float32)
    return Bundle(**values)


def build_dot_bundle(
    weights: dict[str, np.ndarray],
    output: str,
    dataset: Dataset,
    split: Split,
    users: IdVocabulary,
    items: IdVocabulary,
) -> Bundle:
    """Assembles a bundle from trained dot-model weights and the data it was trained on.

    Args:
        weights: "user_embeddings" [U + 1, D], "item_embeddings" [I + 1, D], "user_bias"
            [U + 1], "item_bias" [I + 1], "global_bias" scalar.
        output: "linear" or "sigmoid".
        dataset: The dataset (catalog metadata, rating scale).
        split: The split trained on; its test part becomes the bundle's held-out split.
        users: Vocabulary of training users.
        items: Vocabulary of training items.
    """
    catalog = dataset.items.set_index("item_id").reindex(items.ids)
    genre_names = np.asarray(dataset.genres, dtype=str)
    flags = np.array(
        [
            [genre in (row if isinstance(row, tuple) else ()) for genre in dataset.genres]
            for row in catalog["genres"]
        ],
        dtype=bool,
    ).reshape(len(items.ids), len(genre_names))
    train = split.train
    user_index, _ = users.lookup(train["user_id"].to_numpy())
    item_index, _ = items.lookup(train["item_id"].to_numpy())
    order = np.lexsort((item_index, user_index))
    seen_indptr = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_index, minlength=len(users)), out=seen_indptr[1:])
    return Bundle(
        user_ids=users.ids,
        item_ids=items.ids,
        user_embeddings=np.asarray(weights["user_embeddings"], dtype=np.float32),
        item_embeddings=np.asarray(weights["item_embeddings"], dtype=np.float32),
        user_bias=np.asarray(weights["user_bias"], dtype=np.float32).reshape(-1),
        item_bias=np.asarray(weights["item_bias"], dtype=np.float32).reshape(-1),
        global_bias=np.asarray(weights["global_bias"], dtype=np.float32).reshape(()),
        output=output,
        rating_scale=np.asarray(dataset.rating_scale, dtype=np.float32),
        item_titles=catalog["title"].fillna("").to_numpy(dtype=str),
        item_years=catalog["year"].fillna(0).to_numpy(dtype=np.int32),
        genre_names=genre_names,
        item_genre_flags=flags,
        popularity=np.bincount(item_index, minlength=len(items)).astype(np.int64),
        seen_indptr=seen_indptr,
        seen_items=item_index[order].astype(np.int64),
        test_user_ids=split.test["user_id"].to_numpy(dtype=np.int64),
        test_item_ids=split.test["item_id"].to_numpy(dtype=np.int64),
        test_ratings=split.test["rating"].to_numpy(dtype=np.float32),
    )

"""Builds a version's Catalog from a dataset and its split (trainer side: uses pandas)."""

from __future__ import annotations

import dataclasses

import numpy as np

from movierec.data.datasets import Dataset
from movierec.data.splits import Split
from movierec.store.catalog import Catalog
from movierec.store.vocab import IdVocabulary


def build_catalog(dataset: Dataset, split: Split) -> Catalog:
    """The catalogue of a model trained on `split`: every user and item of its whole
    training part (validation carve-outs included), metadata, popularity, each user's
    training ratings and the held-out part.

    Args:
        dataset: The dataset (metadata, demographics, rating scale); its ratings may have
            been dropped (Dataset.without_ratings), as the split's users are its users.
        split: The split; its training part defines the vocabularies.
    """
    train = split.train
    users = IdVocabulary(train["user_id"].to_numpy())
    items = IdVocabulary(train["item_id"].to_numpy())
    user_index, _ = users.lookup(train["user_id"].to_numpy())
    item_index, _ = items.lookup(train["item_id"].to_numpy())
    ratings = train["rating"].to_numpy(dtype=np.float64)

    meta = dataset.items.set_index("item_id").reindex(items.ids)
    genres = tuple(dataset.genres)
    flags = np.array(
        [[g in (row if isinstance(row, tuple) else ()) for g in genres] for row in meta["genres"]],
        dtype=bool,
    ).reshape(len(items.ids), len(genres))

    popularity = np.bincount(item_index, minlength=len(items)).astype(np.int64)
    sums = np.bincount(item_index, weights=ratings, minlength=len(items))
    mean = np.divide(sums, popularity, out=np.zeros(len(items)), where=popularity > 0)
    mean[0] = ratings.mean()

    order = np.lexsort((item_index, user_index))
    seen_indptr = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_index, minlength=len(users)), out=seen_indptr[1:])

    dataset_users = np.unique(
        np.concatenate(
            [part["user_id"].to_numpy(np.int64) for part in (dataset.ratings, train, split.test)]
        )
    )
    ages = np.zeros(0, np.int32)
    genders = occupations = occupation_names = np.zeros(0, dtype=str)
    if dataset.users is not None:
        dataset_users = np.union1d(dataset_users, dataset.users["user_id"].to_numpy(np.int64))
        known = dataset.users.drop_duplicates("user_id").set_index("user_id").reindex(users.ids)
        ages = np.concatenate([[0], known["age"].fillna(0).to_numpy(dtype=np.int32)])
        genders = np.concatenate([[""], known["gender"].fillna("").astype(str).to_numpy(str)])
        occupation = known["occupation"].map(lambda v: "" if v != v else str(v))
        occupations = np.concatenate([[""], occupation.to_numpy(dtype=str)])
        occupation_names = np.asarray(
            sorted({str(v) for v in dataset.users["occupation"].dropna()}), dtype=str
        )
    return Catalog(
        rating_scale=np.asarray(dataset.rating_scale, dtype=np.float32),
        user_ids=users.ids,
        item_ids=items.ids,
        dataset_user_ids=dataset_users,
        item_titles=meta["title"].fillna("").to_numpy(dtype=str),
        item_years=meta["year"].fillna(0).to_numpy(dtype=np.int32),
        genre_names=np.asarray(genres, dtype=str),
        item_genre_flags=flags,
        popularity=popularity,
        item_mean_rating=mean.astype(np.float32),
        seen_indptr=seen_indptr,
        seen_items=item_index[order].astype(np.int64),
        seen_ratings=ratings[order].astype(np.float32),
        user_ages=ages,
        user_genders=genders,
        user_occupations=occupations,
        occupation_names=occupation_names,
        test_user_ids=split.test["user_id"].to_numpy(dtype=np.int64),
        test_item_ids=split.test["item_id"].to_numpy(dtype=np.int64),
        test_ratings=split.test["rating"].to_numpy(dtype=np.float32),
        test_timestamps=split.test["timestamp"].to_numpy(dtype=np.int64),
    )


def with_held_out(
    catalog: Catalog,
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray,
    held_out,
) -> Catalog:
    """The catalogue as seen by model selection: seen items are only the ratings fitted on
    (users [n], items [n] inner rows, ratings [n]) and the held-out part is `held_out` (a
    ratings frame carved from the training part, e.g. the validation share).
    """
    order = np.lexsort((items, users))
    indptr = np.zeros(catalog.num_users + 2, dtype=np.int64)
    np.cumsum(np.bincount(users, minlength=catalog.num_users + 1), out=indptr[1:])
    return dataclasses.replace(
        catalog,
        seen_indptr=indptr,
        seen_items=np.asarray(items, dtype=np.int64)[order],
        seen_ratings=np.asarray(ratings, dtype=np.float32)[order],
        test_user_ids=held_out["user_id"].to_numpy(dtype=np.int64),
        test_item_ids=held_out["item_id"].to_numpy(dtype=np.int64),
        test_ratings=held_out["rating"].to_numpy(dtype=np.float32),
        test_timestamps=held_out["timestamp"].to_numpy(dtype=np.int64),
    )

import pytest

from movierec.data.datasets import load_dataset
from movierec.data.splits import make_split, random_split
from movierec.errors import DatasetError


@pytest.fixture(scope="module")
def ml100k(data_dir):
    return load_dataset("ml-100k", data_dir)


@pytest.mark.parametrize(("fold", "test_size"), [("u1", 20_000), ("u5", 20_000), ("ua", 9_430)])
def test_official_folds(ml100k, fold, test_size):
    split = make_split(ml100k, fold)
    assert split.name == f"ml-100k/{fold}"
    assert len(split.test) == test_size
    assert len(split.train) + len(split.test) == 100_000


def test_random_split_partitions_and_is_seeded(ml100k):
    first = make_split(ml100k, "random", test_fraction=0.1, seed=7)
    again = make_split(ml100k, "random", test_fraction=0.1, seed=7)
    other = make_split(ml100k, "random", test_fraction=0.1, seed=8)
    assert len(first.test) == 10_000 and len(first.train) == 90_000
    assert first.test.equals(again.test)
    assert not first.test.equals(other.test)
    together = first.train.merge(first.test, how="outer", indicator=True)
    assert (together["_merge"] != "both").all()


def test_unknown_split_lists_the_choices(ml100k):
    with pytest.raises(DatasetError, match="unknown split 'u9'.*u1.*random"):
        make_split(ml100k, "u9")


def test_held_out_fraction_must_be_a_fraction(ml100k):
    with pytest.raises(DatasetError, match="fraction"):
        random_split(ml100k.ratings, 1.0, 0)


def test_a_split_leaving_too_few_ratings_on_a_side_is_refused(ml100k):
    import dataclasses

    small = dataclasses.replace(ml100k, ratings=ml100k.ratings.iloc[:150])
    with pytest.raises(DatasetError, match="leaves 30 ratings in its test part; at least 100"):
        make_split(small, "random", test_fraction=0.2, seed=1)


def test_random_split_rows_are_the_positions_random_split_takes(ml100k):
    from movierec.data.splits import random_split_rows

    kept, held_out = random_split(ml100k.ratings, 0.25, 3)
    kept_rows, held_rows = random_split_rows(len(ml100k.ratings), 0.25, 3)
    assert kept.equals(ml100k.ratings.iloc[kept_rows].reset_index(drop=True))
    assert held_out.equals(ml100k.ratings.iloc[held_rows].reset_index(drop=True))
    with pytest.raises(DatasetError, match="fraction"):
        random_split_rows(10, 0.0, 0)


@pytest.mark.parametrize("split_name", ["u1", "random"])
@pytest.mark.parametrize("users_file", [True, False], ids=["users-file", "no-users-file"])
def test_the_catalogue_needs_no_dataset_ratings_once_split(ml100k, split_name, users_file):
    import dataclasses

    import numpy as np

    from movierec.data.catalog_builder import build_catalog

    # Without a users file (the CSV layouts), the dataset's users come from its ratings.
    dataset = ml100k if users_file else dataclasses.replace(ml100k, users=None)
    split = make_split(dataset, split_name, seed=4)
    metadata = dataset.without_ratings()
    assert len(metadata.ratings) == 0 and len(dataset.ratings) == 100_000
    assert dict(metadata.ratings.dtypes) == dict(dataset.ratings.dtypes)
    full, lean = build_catalog(dataset, split), build_catalog(metadata, split)
    for field in dataclasses.fields(full):
        np.testing.assert_array_equal(getattr(lean, field.name), getattr(full, field.name))
    assert len(full.dataset_user_ids) == 943


def test_a_temporal_split_holds_out_the_latest_share_in_data_order():
    import numpy as np

    from movierec.data.splits import temporal_split_rows

    # times by row: the two latest of 5 (fraction 0.4) are rows 1 (t=50) and, of the two
    # at t=40, the later row 4
    kept, held_out = temporal_split_rows(np.array([10, 50, 40, 20, 40]), 0.4)
    assert kept.tolist() == [0, 2, 3] and held_out.tolist() == [1, 4]


def test_leave_last_out_holds_out_each_users_latest_unless_it_is_their_only_one():
    import numpy as np

    from movierec.data.splits import last_split_rows

    users = np.array([7, 8, 7, 9, 7, 8])
    times = np.array([30, 5, 10, 1, 30, 6])
    # user 7: rows 0, 2, 4 with t 30, 10, 30 -> the later of the t=30 rows, 4; user 8:
    # rows 1, 5 -> 5; user 9 has one row, kept for training
    kept, held_out = last_split_rows(users, times)
    assert held_out.tolist() == [4, 5] and kept.tolist() == [0, 1, 2, 3]


def test_ml_100k_splits_by_time(ml100k):
    temporal = make_split(ml100k, "temporal", test_fraction=0.1)
    assert temporal.name == "ml-100k/temporal" and len(temporal.test) == 10_000
    assert temporal.train["timestamp"].max() <= temporal.test["timestamp"].min()
    last = make_split(ml100k, "last")
    # every ml-100k user rated at least 20 films: each gives exactly one
    assert len(last.test) == 943 and last.test["user_id"].is_unique
    latest = ml100k.ratings.groupby("user_id")["timestamp"].max()
    assert last.test.set_index("user_id")["timestamp"].sort_index().equals(latest)


def test_splits_by_time_are_refused_without_timestamps(ml100k):
    import dataclasses

    untimed = dataclasses.replace(ml100k, has_timestamps=False)
    for split in ("temporal", "last"):
        with pytest.raises(DatasetError, match=f"split '{split}' holds out by time.*--time-column"):
            make_split(untimed, split)
    with pytest.raises(DatasetError, match="choose u1.*random, temporal, last"):
        make_split(ml100k, "u9")

"""The columnar cache of ratings files (CSV and .dat): same data as parsing, rebuilt when the source
changes, never trusted when damaged, and never written beside the data."""

import os

import numpy as np
import pandas as pd
import pytest

from movierec.data.ratings_cache import cache_folder, read_cached, read_ratings_csv

CSV = "userId,movieId,rating,timestamp\n1,10,4.5,100\n1,20,3.0,101\n2,10,0.5,102\n"


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "data" / "ratings.csv"
    path.parent.mkdir()
    path.write_text(CSV)
    return path


def test_first_read_parses_and_caches_then_reads_the_cache(source, tmp_path):
    root = tmp_path / "cache"
    first = read_ratings_csv(source, root)
    assert first["user_id"].tolist() == [1, 1, 2] and first["item_id"].tolist() == [10, 20, 10]
    assert first["rating"].tolist() == [4.5, 3.0, 0.5] and first["timestamp"].dtype == np.int64
    assert first["rating"].dtype == np.float32
    assert sorted(p.name for p in cache_folder(source, root).iterdir()) == [
        "cache.json",
        "item_id.npy",
        "rating.npy",
        "timestamp.npy",
        "user_id.npy",
    ]
    assert os.listdir(source.parent) == ["ratings.csv"]  # nothing beside the data
    cached = read_cached(source, root)
    assert cached is not None
    pd.testing.assert_frame_equal(cached, first)


def test_a_changed_source_is_parsed_again(source, tmp_path):
    root = tmp_path / "cache"
    read_ratings_csv(source, root)
    source.write_text(CSV + "3,30,5.0,103\n")
    assert read_cached(source, root) is None
    assert read_ratings_csv(source, root)["user_id"].tolist() == [1, 1, 2, 3]
    assert len(read_cached(source, root)) == 4


def test_a_damaged_cache_is_ignored_and_replaced(source, tmp_path):
    root = tmp_path / "cache"
    read_ratings_csv(source, root)
    np.save(cache_folder(source, root) / "rating.npy", np.zeros(2, np.float32))  # wrong length
    assert read_cached(source, root) is None
    assert read_ratings_csv(source, root)["rating"].tolist() == [4.5, 3.0, 0.5]
    assert read_cached(source, root) is not None


def test_an_unwritable_cache_root_only_costs_the_cache(source, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert read_ratings_csv(source, blocker / "cache")["item_id"].tolist() == [10, 20, 10]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("userId,movieId,rating\n1,2,3\n", "lacks columns: timestamp"),
        ("userId,movieId,rating,timestamp\n1,,3,4\n", "missing fields"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "ratings.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_ratings_csv(path, tmp_path / "cache")


def test_a_dat_file_is_parsed_once_then_read_from_its_cache(tmp_path):
    from movierec.data.ratings_cache import read_ratings_dat

    source = tmp_path / "ratings.dat"
    source.write_text("1::10::4.5::100\n\n1::20::3::101\n2::10::0.5::102\n")
    root = tmp_path / "cache"
    first = read_ratings_dat(source, root)
    assert first["user_id"].tolist() == [1, 1, 2] and first["item_id"].tolist() == [10, 20, 10]
    assert first["rating"].tolist() == [4.5, 3.0, 0.5] and first["timestamp"].tolist() == [
        100,
        101,
        102,
    ]
    assert [str(t) for t in first.dtypes] == ["int64", "int64", "float32", "int64"]
    cached = read_cached(source, root)
    assert cached is not None
    pd.testing.assert_frame_equal(cached, first)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("1::10::4::100\n2::20::3\n", "ratings.dat line 2 has 3 fields, not 4"),
        ("1::10::4::100\n\n2::::3::101\n", "ratings.dat line 3 has an empty field"),
        ("1::10::4::100\n2::20::3::101::9\n", "Expected 4 fields in line 2, saw 5"),
        ("1::10::4::100\n2::x::3::101\n", "invalid literal|could not convert|Unable to parse"),
    ],
)
def test_a_malformed_dat_file_is_refused_and_not_cached(tmp_path, lines, message):
    from movierec.data.ratings_cache import read_ratings_dat

    source = tmp_path / "ratings.dat"
    source.write_text(lines)
    with pytest.raises(ValueError, match=message):
        read_ratings_dat(source, tmp_path / "cache")
    assert read_cached(source, tmp_path / "cache") is None

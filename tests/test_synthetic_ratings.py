"""Synthetic ratings in the ml-25m layout, read by the ml-25m reader."""

import numpy as np
import pytest

from movierec.data.datasets import read_dataset
from movierec.data.synthetic_ratings import MIN_RATINGS_PER_USER, RatingsSpec, write_ratings
from movierec.errors import InvalidRequest
from movierec_client.cli import main


def test_written_ratings_read_as_ml_25m_with_a_realistic_shape(tmp_path):
    spec = RatingsSpec(users=400, items=900, ratings=30_000, seed=2)
    folder = write_ratings(spec, tmp_path)
    assert folder.name == "ml-25m" and not list(folder.glob("*.partial"))
    dataset = read_dataset("ml-25m", folder)
    ratings = dataset.ratings
    assert 0.95 * spec.ratings <= len(ratings) <= spec.ratings
    per_user = ratings.groupby("user_id").size()
    assert len(per_user) == spec.users and per_user.min() >= MIN_RATINGS_PER_USER
    assert not ratings.duplicated(["user_id", "item_id"]).any()
    assert set(np.unique(ratings["rating"] * 2)) <= set(range(1, 11))
    popularity = np.sort(ratings.groupby("item_id").size().to_numpy())[::-1]
    top_share = popularity[:9].sum() / len(ratings)  # the top 1% of movies
    assert top_share > 5 * 0.01, "popular movies get far more than a uniform share"
    assert per_user.max() > 4 * per_user.median(), "some users are far more active"
    assert len(dataset.items) == spec.items and dataset.genres


def test_bad_ratings_specs_are_refused(tmp_path):
    with pytest.raises(InvalidRequest, match="ratings must be 20 per user"):
        write_ratings(RatingsSpec(users=100, items=50, ratings=100), tmp_path)
    assert not (tmp_path / "ml-25m").exists()


def test_movierec_synth_ratings(tmp_path, capsys):
    argv = ["synth-ratings", "--out", str(tmp_path), "--users", "30", "--items", "80"]
    assert main([*argv, "--ratings", "1200"]) == 0
    assert "ratings of 30 users and 80 movies" in capsys.readouterr().out

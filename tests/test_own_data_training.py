"""Training on imported data: implicit play counts without times, and ratings with ISO
times split by time; fitted, evaluated and published as a trainer job does."""

import numpy as np
import pandas as pd
import pytest

from movierec.data.datasets import load_dataset
from movierec.data.imports.importer import ImportSpec, import_dataset
from movierec.kinds.evaluation import evaluate_ranking
from movierec.store.catalog import load_catalog
from movierec.store.model_store import ModelStore
from movierec.training.spec import build_train_spec

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_data(tmp_path_factory, data_dir):
    """A data folder with "plays": ml-100k's ratings as implicit play counts (the rating
    as the count), a TSV with CRLF line endings and each 50th line given twice; and
    "timed": the same ratings as a CSV of explicit ratings with ISO-8601 times."""
    folder = tmp_path_factory.mktemp("own")
    ratings = load_dataset("ml-100k", data_dir).ratings
    plays = ratings.rename(columns={"user_id": "user", "item_id": "artist", "rating": "plays"})
    plays = pd.concat([plays, plays.iloc[::50]])[["user", "artist", "plays"]]
    plays.to_csv(folder / "plays.tsv", sep="\t", index=False, lineterminator="\r\n")
    timed = ratings.assign(
        when=pd.to_datetime(ratings["timestamp"], unit="s").dt.strftime("%FT%TZ")
    )
    timed.drop(columns="timestamp").to_csv(folder / "timed.csv", index=False)
    data = folder / "data"
    import_dataset(
        ImportSpec("plays", folder / "plays.tsv", "user", "artist", weight_column="plays"), data
    )
    import_dataset(
        ImportSpec(
            "timed", folder / "timed.csv", "user_id", "item_id", "rating", time_column="when"
        ),
        data,
    )
    return data


def test_the_import_merged_the_repeated_lines(own_data, data_dir):
    manifest = load_dataset("plays", own_data).path / "manifest.json"
    assert '"duplicates_merged": 2000' in manifest.read_text()
    plays = load_dataset("plays", own_data)
    assert len(plays.ratings) == 100_000 and plays.implicit
    # each 50th line counted twice: its plays are summed
    stars = load_dataset("ml-100k", data_dir).ratings["rating"].to_numpy(np.float64)
    weights = np.load(own_data / "plays" / "weight.npy")
    assert weights.sum() == stars.sum() + stars[::50].sum()


def test_ease_on_implicit_play_counts_beats_most_popular_and_is_published(own_data, tmp_path):
    from movierec.training.job import run_training

    store = ModelStore(tmp_path / "store")
    spec = build_train_spec("own", dataset="plays", split="random", seed=1, data_dir=own_data)
    assert spec.kind == "ease" and spec.test_fraction == 0.2
    result = run_training(spec, store, own_data)
    catalog = load_catalog(store.version_path("own", result.version) / "catalog.npz")
    assert catalog.implicit and len(catalog.test_ratings) == 20_000
    # every held-out interaction is relevant: most users of ml-100k have one
    counts = catalog.popularity.astype(np.float32)
    popular = evaluate_ranking(lambda users: np.tile(counts, (len(users), 1)), catalog, 10)
    assert result.metrics["ndcg@10"] > 1.5 * popular["ndcg@10"]
    assert store.read_manifest("own", result.version)["split"] == "plays/random"


def test_dot_retrieval_trains_on_every_implicit_interaction(own_data):
    from movierec.data.catalog_builder import build_catalog
    from movierec.data.splits import make_split
    from movierec.training import job as training

    spec = build_train_spec(
        "dot", kind="dot", dataset="plays", hyperparameters={"epochs": 2}, data_dir=own_data
    )
    dataset = load_dataset("plays", own_data)
    split = make_split(dataset, spec.split, spec.test_fraction, spec.seed)
    catalog = build_catalog(dataset, split)
    with training.rows_folder() as folder:
        data = training.training_data(spec, catalog, split, folder)
        # the validation carve-out aside, every training interaction is a positive
        assert data.rows.count == len(split.train) - round(0.1 * len(split.train))
        fitted = training.fit_data(data)
    assert fitted.scorer.objective == "retrieval"


def test_ratings_with_iso_times_split_by_time(own_data, data_dir, tmp_path):
    from movierec.training.job import run_training

    times = load_dataset("timed", own_data).ratings["timestamp"].to_numpy()
    assert (times == load_dataset("ml-100k", data_dir).ratings["timestamp"].to_numpy()).all()
    store = ModelStore(tmp_path / "store")
    spec = build_train_spec(
        "timed", dataset="timed", split="temporal", test_fraction=0.1, data_dir=own_data
    )
    result = run_training(spec, store, own_data)
    catalog = load_catalog(store.version_path("timed", result.version) / "catalog.npz")
    assert not catalog.implicit and len(catalog.test_ratings) == 10_000
    # the held-out tenth is the latest: from the 90,001st time on
    assert catalog.test_timestamps.min() == np.sort(times)[90_000]
    assert result.metrics["ndcg@10"] > 0 and "rmse" not in result.metrics
    spec = build_train_spec("last", dataset="timed", split="last", data_dir=own_data)
    last = run_training(spec, store, own_data)
    assert store.read_manifest("last", last.version)["num_test_ratings"] == 943

"""Training the dot model for real on ml-100k u1 (imports TensorFlow)."""

import json

import numpy as np
import pytest

from movierec.bundle import load_bundle
from movierec.datasets import load_dataset
from movierec.model_store import ModelStore
from movierec.registry import load_version
from movierec.splits import make_split
from movierec.train_spec import build_train_spec

keras = pytest.importorskip("keras")
training = pytest.importorskip("movierec.training")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, data_dir):
    """The default dot model trained once on ml-100k u1 (about 10 s here)."""
    store = ModelStore(tmp_path_factory.mktemp("trained") / "store")
    epochs = []
    result = training.run_training(build_train_spec("dot"), store, data_dir, epochs.append)
    return store, result, epochs


@pytest.fixture(scope="session")
def sigmoid_trained(tmp_path_factory, data_dir):
    store = ModelStore(tmp_path_factory.mktemp("sigmoid") / "store")
    spec = build_train_spec("dot", hyperparameters={"output": "sigmoid", "epochs": 2})
    return store, training.run_training(spec, store, data_dir)


def test_default_model_beats_svd_on_u1(trained):
    # Surprise's SVD scores RMSE 0.951 on u1; the issue asks for at most 0.93
    _, result, _ = trained
    assert result.metrics["rmse"] <= 0.93
    assert result.metrics["mae"] < result.metrics["rmse"]


def test_early_stopping_on_validation_and_progress_per_epoch(trained):
    _, result, epochs = trained
    assert result.epochs == epochs
    assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
    assert len(epochs) < build_train_spec("x").hyperparameters.epochs  # stopped early
    assert epochs[-1].val_rmse < epochs[0].val_rmse
    assert all(np.isfinite([e.loss, e.val_rmse, e.seconds]).all() for e in epochs)


def test_published_version_is_complete_and_verified(trained):
    store, result, _ = trained
    assert result.version == 1
    manifest = store.verify_version("dot", 1)
    assert set(manifest["files"]) == {"model.keras", "bundle.npz"}
    assert manifest["kind"] == "dot" and manifest["split"] == "ml-100k/u1"
    assert manifest["metrics"] == result.metrics
    assert manifest["num_test_ratings"] == 20_000
    assert len(manifest["data_fingerprint"]) == 64
    assert manifest["hyperparameters"]["output"] == "linear"
    json.dumps(manifest)


@pytest.mark.parametrize("which", ["trained", "sigmoid_trained"])
def test_numpy_scores_equal_the_keras_model(which, request):
    store = request.getfixturevalue(which)[0]
    folder = store.version_path("dot", 1)
    model = keras.models.load_model(folder / training.KERAS_FILE)
    scorer = load_version(store, "dot", 1).scorer
    rng = np.random.default_rng(0)
    users = rng.integers(0, len(scorer.users), 3000)
    items = rng.integers(0, len(scorer.items), 3000)  # includes the OOV row 0
    expected = model.predict({"user": users, "item": items}, batch_size=4096, verbose=0)
    np.testing.assert_allclose(scorer.raw_scores(users, items), expected[:, 0], atol=1e-5)


def test_serving_metrics_equal_the_trainers(trained):
    store, result, _ = trained
    values = load_version(store, "dot", 1).scorer.evaluate()
    assert values["rmse"] == pytest.approx(result.metrics["rmse"], abs=1e-5)
    assert values["mae"] == pytest.approx(result.metrics["mae"], abs=1e-5)


def test_recommendations_exclude_everything_rated_in_training(trained, data_dir):
    store, _, _ = trained
    scorer = load_version(store, "dot", 1).scorer
    train = make_split(load_dataset("ml-100k", data_dir), "u1").train
    rated = set(train.loc[train["user_id"] == 196, "item_id"])
    top = scorer.recommend(196, k=100)
    assert len(top) == 100 and not rated & {item.item_id for item in top}
    assert [i.score for i in top] == sorted((i.score for i in top), reverse=True)


def test_star_wars_neighbours_are_its_sequels(trained):
    store, _, _ = trained
    similar = load_version(store, "dot", 1).scorer.similar_items(50, k=5)
    assert {172, 181} <= {item.item_id for item in similar}  # Empire, Return of the Jedi


def test_bundle_is_plain_arrays(trained):
    store, _, _ = trained
    bundle = load_bundle(store.version_path("dot", 1) / "bundle.npz")  # allow_pickle=False
    assert bundle.user_embeddings.dtype == np.float32
    assert bundle.user_embeddings.shape[0] == len(bundle.user_ids) + 1
    assert not bundle.user_embeddings[0].any() and not bundle.item_embeddings[0].any()


def test_refused_publish_leaves_nothing(tmp_path, data_dir):
    store = ModelStore(tmp_path)
    spec = build_train_spec("m", hyperparameters={"epochs": 1})
    with pytest.raises(training.PublishRefused):
        training.run_training(spec, store, data_dir, may_publish=lambda: False)
    assert store.list_versions("m") == []


def test_data_fingerprint_changes_with_the_data(data_dir):
    split = make_split(load_dataset("ml-100k", data_dir), "u1")
    changed = type(split)(split.name, split.train.iloc[1:], split.test)
    assert training.data_fingerprint(split) != training.data_fingerprint(changed)

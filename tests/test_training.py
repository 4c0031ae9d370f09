"""Training every kind for real on ml-100k u1 (imports TensorFlow), small epoch budgets."""

import json

import numpy as np
import pytest

from movierec.data.datasets import load_dataset
from movierec.data.splits import make_split
from movierec.kinds.evaluation import evaluate_ranking, relevant_items
from movierec.kinds.features import UserFeatures
from movierec.kinds.versions import load_version
from movierec.serving.dataplane import MODEL, USER_FEATURES, ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec.store.arrays import load_arrays
from movierec.store.catalog import popular_well_rated_scores
from movierec.store.model_store import KERAS_FILE, ModelStore
from movierec.training.fit import retrieval_columns
from movierec.training.spec import Hyperparameters, build_train_spec

pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")
training = pytest.importorskip("movierec.training.job")


def _train(tmp_path_factory, data_dir, name, **request):
    store = ModelStore(tmp_path_factory.mktemp(name) / "store")
    epochs = []
    result = training.run_training(
        build_train_spec(name, **request), store, data_dir, epochs.append
    )
    return store, result, epochs


@pytest.fixture(scope="session")
def trained(tmp_path_factory, data_dir):
    """The dot model for ratings with default settings (about 15 s here)."""
    return _train(tmp_path_factory, data_dir, "dot", objective="rating")


@pytest.fixture(scope="session")
def sigmoid_trained(tmp_path_factory, data_dir):
    return _train(
        tmp_path_factory,
        data_dir,
        "dot",
        objective="rating",
        hyperparameters={"epochs": 2},
        kind_params={"output": "sigmoid"},
    )


@pytest.fixture(scope="session")
def bce_sgd_trained(tmp_path_factory, data_dir):
    """The third notebook's set-up: sigmoid output, BCE on scaled ratings; here with SGD."""
    return _train(
        tmp_path_factory,
        data_dir,
        "dot",
        objective="rating",
        hyperparameters={"epochs": 2, "rating_loss": "bce", "optimizer": "sgd", "patience": 0},
        kind_params={"output": "sigmoid"},
    )


@pytest.fixture(scope="session")
def retrieval_trained(tmp_path_factory, data_dir):
    """The dot model for retrieval, 8 epochs (about 15 s here)."""
    return _train(tmp_path_factory, data_dir, "dot", kind="dot", hyperparameters={"epochs": 8})


@pytest.fixture(scope="session")
def ranking_trained(retrieval_trained, data_dir):
    """The TFRS notebook's ranking model, 3 epochs, taking its candidates from the
    retrieval fixture's dot model in the same store (about 5 s here)."""
    store = retrieval_trained[0]
    epochs = []
    spec = build_train_spec(
        "ranker",
        kind="ranking",
        hyperparameters={"epochs": 3},
        kind_params={"candidate_model": "dot", "num_candidates": 50},
    )
    return store, training.run_training(spec, store, data_dir, epochs.append), epochs


@pytest.fixture(scope="session")
def context_trained(tmp_path_factory, data_dir):
    """The notebook's enriched ranking model (time and title features), 3 epochs."""
    return _train(
        tmp_path_factory, data_dir, "context", kind="ranking_context", hyperparameters={"epochs": 3}
    )


@pytest.fixture(scope="session")
def two_tower_trained(tmp_path_factory, data_dir):
    """A small two_tower retrieval model, 4 epochs."""
    return _train(
        tmp_path_factory,
        data_dir,
        "dot",
        kind="two_tower",
        hyperparameters={"epochs": 4},
        kind_params={"layers": [64, 32]},
    )


@pytest.fixture(scope="session")
def two_tower_rating_trained(tmp_path_factory, data_dir):
    return _train(
        tmp_path_factory,
        data_dir,
        "dot",
        kind="two_tower",
        objective="rating",
        hyperparameters={"epochs": 2},
        kind_params={"layers": [32, 16]},
    )


@pytest.fixture(scope="session")
def pooled_dot_trained(tmp_path_factory, data_dir):
    """dot retrieval with a pool of negatives shared by the batch (not its default), BCE."""
    hyperparameters = {"epochs": 2, "negative_sharing": "batch", "retrieval_loss": "bce"}
    return _train(tmp_path_factory, data_dir, "dot", kind="dot", hyperparameters=hyperparameters)


@pytest.fixture(scope="session")
def two_tower_per_example_trained(tmp_path_factory, data_dir):
    """two_tower retrieval with negatives per example (not its default), 2 epochs."""
    return _train(
        tmp_path_factory,
        data_dir,
        "dot",
        kind="two_tower",
        hyperparameters={"epochs": 2, "negative_sharing": "example"},
        kind_params={"layers": [32, 16]},
    )


ALL_TRAINED = [
    "trained",
    "sigmoid_trained",
    "bce_sgd_trained",
    "retrieval_trained",
    "pooled_dot_trained",
    "two_tower_trained",
    "two_tower_per_example_trained",
    "two_tower_rating_trained",
]


def test_default_rating_model_beats_svd_on_u1(trained):
    # Surprise's SVD scores RMSE 0.951 on u1; the issue asks for at most 0.93
    _, result, _ = trained
    assert result.metrics["rmse"] <= 0.93
    assert result.metrics["mae"] < result.metrics["rmse"]


def test_notebook_losses_and_optimizers_train_and_are_recorded(bce_sgd_trained):
    store, result, epochs = bce_sgd_trained
    manifest = store.verify_version("dot", 1)
    assert manifest["hyperparameters"]["rating_loss"] == "bce"
    assert manifest["hyperparameters"]["optimizer"] == "sgd"
    assert len(epochs) == 2 and np.isfinite(epochs[-1].loss) and epochs[-1].val_rmse > 0
    assert 0.5 < result.metrics["rmse"] < 2.0  # 2 SGD epochs: trained, not tuned


def test_early_stopping_on_validation_and_progress_per_epoch(trained):
    _, result, epochs = trained
    assert result.epochs == epochs
    assert [e.epoch for e in epochs] == list(range(1, len(epochs) + 1))
    spec = build_train_spec("x", objective="rating")
    assert len(epochs) < spec.hyperparameters.epochs  # stopped early
    assert epochs[-1].val_rmse < epochs[0].val_rmse
    assert all(np.isfinite([e.loss, e.val_rmse, e.seconds]).all() for e in epochs)


def test_retrieval_reports_validation_ndcg_and_beats_popularity(retrieval_trained, data_dir):
    store, result, epochs = retrieval_trained
    assert all(e.val_ndcg > 0 and e.val_rmse == 0 for e in epochs)
    assert "rmse" not in result.metrics
    catalog = load_version(store, "dot", 1).scorer.catalog
    popular = popular_well_rated_scores(catalog)
    baseline = evaluate_ranking(lambda users: np.tile(popular, (len(users), 1)), catalog, 10)
    assert result.metrics["ndcg@10"] > baseline["ndcg@10"] + 0.05
    assert result.metrics["coverage@10"] > baseline["coverage@10"]


def test_published_version_is_complete_and_verified(trained):
    store, result, _ = trained
    assert result.version == 1
    manifest = store.verify_version("dot", 1)
    pictures = {"loss.png", "true_vs_predicted.png", "item_map.png"}
    assert set(manifest["files"]) == {"model.keras", "weights.npz", "catalog.npz"} | pictures
    assert set(manifest["artifacts"]) == pictures
    assert manifest["kind"] == "dot" and manifest["split"] == "ml-100k/u1"
    assert manifest["objective"] == "rating" and manifest["format_version"] == 2
    assert manifest["metrics"] == result.metrics
    assert {"rmse", "ndcg@10", "precision@10", "recall@10", "map@10", "hit_rate@10"} <= set(
        manifest["metrics"]
    )
    assert manifest["num_test_ratings"] == 20_000
    assert len(manifest["data_fingerprint"]) == 64
    assert manifest["kind_params"]["output"] == "linear"
    json.dumps(manifest)


def test_vocabulary_covers_the_whole_training_fold(trained, data_dir):
    store, _, _ = trained
    catalog = load_version(store, "dot", 1).scorer.catalog
    train = make_split(load_dataset("ml-100k", data_dir), "u1").train
    assert set(catalog.item_ids) == set(train["item_id"])
    assert set(catalog.user_ids) == set(train["user_id"])


@pytest.mark.parametrize("which", ALL_TRAINED)
def test_numpy_scores_equal_the_keras_model(which, request):
    store = request.getfixturevalue(which)[0]
    folder = store.version_path("dot", 1)
    model = keras.models.load_model(folder / KERAS_FILE)
    loaded = load_version(store, "dot", 1)
    scorer = loaded.scorer
    rng = np.random.default_rng(0)
    users = rng.integers(0, len(scorer.queries), 3000)
    params = Hyperparameters(**loaded.manifest["hyperparameters"])
    items = rng.integers(1, len(scorer.candidates), (3000, retrieval_columns(params)))
    raw = np.einsum("nd,ncd->nc", scorer.queries[users], scorer.candidates[items])
    if loaded.objective == "rating":
        expected = model.predict({"user": users, "item": items[:, 0]}, batch_size=4096, verbose=0)
        np.testing.assert_allclose(scorer.shown(raw[:, 0]), expected[:, 0], atol=1e-5)
        return
    inputs = {"user": users, "items": items, "log_q": np.zeros(items.shape, np.float32)}
    logits = model.predict(inputs, batch_size=4096, verbose=0)
    temperature = loaded.manifest["kind_params"].get("temperature", 1.0)
    if params.negative_sharing == "batch":  # one batch: its first num_negatives draws
        pool = items[:, 1:].reshape(-1)[: params.num_negatives]
        pooled = scorer.queries[users] @ scorer.candidates[pool].T
        hits = items[:, :1] == pool[None, :]
        assert logits.shape == (3000, 1 + len(pool)) and (logits[:, 1:][hits] < -1e8).all()
        np.testing.assert_allclose(logits[:, 1:][~hits], pooled[~hits] / temperature, atol=1e-3)
        raw, logits = raw[:, :1], logits[:, :1]
    np.testing.assert_allclose(raw / temperature, logits, atol=1e-4 / temperature)


@pytest.mark.parametrize("which", ["two_tower_trained", "two_tower_rating_trained"])
def test_numpy_user_tower_equals_keras_for_features(which, request):
    store = request.getfixturevalue(which)[0]
    model = keras.models.load_model(store.version_path("dot", 1) / KERAS_FILE)
    scorer = load_version(store, "dot", 1).scorer
    features = UserFeatures({"Adventure": 5.0, "Fantasy": 4.5}, age=30, gender="F")
    from movierec.kinds.two_tower import feature_row, standardise

    row = feature_row(features, scorer.catalog, scorer.stats, scorer.demographics)
    x = standardise(row[None, :], scorer.mean, scorer.std)
    depth = len(scorer.kernels)
    for layer in [model.get_layer(f"user_dense_{n}") for n in range(depth)]:
        x = layer(x)
    expected = np.asarray(model.get_layer("user_normalize")(x))
    np.testing.assert_allclose(scorer.feature_query(features), expected[0], atol=1e-5)


def test_two_tower_answers_cold_start_users_from_its_user_tower(two_tower_trained):
    store, result, _ = two_tower_trained
    registry = ModelRegistry(store)
    registry.refresh()
    plane = ServingDataPlane(registry)
    fan = UserFeatures({"Adventure": 5.0, "Fantasy": 4.5, "Drama": 1.0})
    answer = plane.recommend("dot", 0, None, 10, features=fan).value
    assert answer.strategy == USER_FEATURES and len(answer.items) == 10
    known = plane.recommend("dot", 0, 196, 10).value
    assert known.strategy == MODEL
    assert [i.item_id for i in answer.items] != [i.item_id for i in known.items]
    scores = plane.predict("dot", 0, [None, 196], [50, 50], [fan, None]).value
    assert scores.strategy == USER_FEATURES and not scores.is_rating
    assert result.metrics["ndcg@10"] > 0.1


@pytest.mark.parametrize("genre", ["Horror", "Children's", "Romance"])
def test_cold_start_top_10_follows_the_genre_asked_for(two_tower_trained, genre):
    store, _, _ = two_tower_trained
    registry = ModelRegistry(store)
    registry.refresh()
    fan = UserFeatures({genre: 5.0})
    items = ServingDataPlane(registry).recommend("dot", 0, None, 10, features=fan).value.items
    assert sum(genre in item.genres for item in items) >= 7, [i.title for i in items]


def test_serving_metrics_equal_the_trainers(trained):
    store, result, _ = trained
    registry = ModelRegistry(store)
    registry.refresh()
    values = ServingDataPlane(registry).evaluate("dot", 0, k=5)[0].values
    assert values["rmse"] == pytest.approx(result.metrics["rmse"], abs=1e-5)
    assert values["mae"] == pytest.approx(result.metrics["mae"], abs=1e-5)
    assert values["ndcg@5"] != result.metrics["ndcg@10"]


def test_recommendations_exclude_everything_rated_in_training(retrieval_trained, data_dir):
    store, _, _ = retrieval_trained
    registry = ModelRegistry(store)
    registry.refresh()
    top = ServingDataPlane(registry).recommend("dot", 0, 196, 100).value.items
    train = make_split(load_dataset("ml-100k", data_dir), "u1").train
    rated = set(train.loc[train["user_id"] == 196, "item_id"])
    assert len(top) == 100 and not rated & {item.item_id for item in top}
    assert [i.score for i in top] == sorted((i.score for i in top), reverse=True)


def test_star_wars_neighbours_are_its_sequels(trained):
    store, _, _ = trained
    registry = ModelRegistry(store)
    registry.refresh()
    similar = ServingDataPlane(registry).similar_items("dot", 0, 50, 5).value
    assert {172, 181} <= {item.item_id for item in similar}  # Empire, Return of the Jedi


def test_weights_are_plain_arrays_with_zero_oov_rows(trained):
    store, _, _ = trained
    weights = load_arrays(store.version_path("dot", 1) / "weights.npz")  # allow_pickle=False
    users = weights["user_embeddings"]
    assert users.dtype == np.float32
    assert not users[0].any() and not weights["item_embeddings"][0].any()


def test_refused_publish_leaves_nothing(tmp_path, data_dir):
    store = ModelStore(tmp_path)
    spec = build_train_spec("m", objective="rating", hyperparameters={"epochs": 1})
    with pytest.raises(training.PublishRefused):
        training.run_training(spec, store, data_dir, may_publish=lambda: False)
    assert store.list_versions("m") == []


def test_data_fingerprint_changes_with_the_data(data_dir):
    split = make_split(load_dataset("ml-100k", data_dir), "u1")
    changed = type(split)(split.name, split.train.iloc[1:], split.test)
    assert training.data_fingerprint(split) != training.data_fingerprint(changed)


def test_row_batches_visit_every_row_once_per_pass_in_a_new_reproducible_order():
    from movierec.training.fit import row_batches

    users = np.arange(1000, dtype=np.int32)
    ratings = users.astype(np.float32) / 2
    data = row_batches((users, ratings), 64, seed=3)
    assert int(data.cardinality()) == 16
    passes = [[(u.numpy(), r.numpy()) for u, r in data] for _ in range(2)]
    orders = [np.concatenate([u for u, _ in batches]) for batches in passes]
    for order, batches in zip(orders, passes, strict=True):
        assert sorted(order.tolist()) == users.tolist()  # every row once
        assert all(np.array_equal(r, u.astype(np.float32) / 2) for u, r in batches)  # rows whole
    assert not np.array_equal(orders[0], orders[1])  # reshuffled each pass
    again = np.concatenate([u.numpy() for u, _ in row_batches((users, ratings), 64, seed=3)])
    assert np.array_equal(again, orders[0])  # the same seed, the same order
    in_order = np.concatenate([u.numpy() for u, _ in row_batches((users, ratings), 64, None)])
    assert np.array_equal(in_order, users)


def test_numpy_ranking_head_equals_keras(ranking_trained):
    store, result, _ = ranking_trained
    model = keras.models.load_model(store.version_path("ranker", result.version) / KERAS_FILE)
    scorer = load_version(store, "ranker", result.version).scorer
    rng = np.random.default_rng(0)
    users = rng.integers(1, len(scorer.queries), 3000)
    items = rng.integers(1, len(scorer.candidates), 3000)
    expected = model.predict({"user": users, "item": items}, batch_size=4096, verbose=0)[:, 0]
    every_item = scorer.scores(scorer.queries[users[:50]])
    np.testing.assert_allclose(every_item[np.arange(50), items[:50]], expected[:50], atol=1e-5)
    low, high = scorer.catalog.rating_scale
    clipped = np.clip(expected, low, high)
    np.testing.assert_allclose(scorer.pair_scores(scorer.queries[users], items), clipped, atol=1e-5)


def test_two_stage_metrics_at_publish_are_what_serving_reports(ranking_trained):
    store, result, _ = ranking_trained
    manifest = store.read_manifest("ranker", result.version)
    assert manifest["candidates_from"] == {"model": "dot", "version": 1}
    assert 0.8 < result.metrics["rmse"] < 1.1
    registry = ModelRegistry(store)
    registry.refresh()
    plane = ServingDataPlane(registry)
    plane._evaluations.clear()
    stored = plane.evaluate("ranker", 0)[0].values
    assert stored == pytest.approx(result.metrics)
    # the figures stored at publish are those of the lists two-stage Recommend gives
    catalog = registry.get("ranker").scorer.catalog
    users, relevant = relevant_items(catalog)
    precision, recall = [], []
    for user, items in zip(users.tolist(), relevant, strict=True):
        rows = plane.recommend("ranker", 0, user, 10).value.rows
        hits = len(set(rows.tolist()) & set(items.tolist()))
        precision.append(hits / 10)
        recall.append(hits / len(items))
    assert np.mean(precision) == pytest.approx(result.metrics["precision@10"], abs=1e-6)
    assert np.mean(recall) == pytest.approx(result.metrics["recall@10"], abs=1e-6)
    answer = plane.recommend("ranker", 0, 196, 10).value
    assert answer.candidates_from.name == "dot"
    first_stage = plane.recommend("dot", 0, 196, 50).value
    assert set(answer.rows.tolist()) <= set(first_stage.rows.tolist())


@pytest.mark.parametrize(
    ("which", "pictures"),
    [
        ("trained", ["loss.png", "true_vs_predicted.png", "item_map.png"]),
        ("retrieval_trained", ["loss.png", "true_vs_predicted.png", "item_map.png"]),
    ],
)
def test_each_version_stores_its_pictures(which, pictures, request):
    image = pytest.importorskip("matplotlib.image")
    store, result, _ = request.getfixturevalue(which)
    manifest = store.verify_version("dot", result.version)
    assert manifest["artifacts"] == pictures
    for name in pictures:
        pixels = image.imread(store.version_path("dot", result.version) / name)
        assert pixels.shape[0] > 300 and pixels.shape[1] > 500, name
        assert pixels[..., :3].std() > 0.05, f"{name} is blank"


def test_numpy_context_ranking_equals_keras_at_any_time(context_trained):
    from movierec.kinds.ranking_context import time_features

    store, result, _ = context_trained
    folder = store.version_path("context", result.version)
    model = keras.models.load_model(folder / KERAS_FILE)
    loaded = load_version(store, "context", result.version)
    scorer = loaded.scorer
    stats = scorer.time_stats
    rng = np.random.default_rng(0)
    users = rng.integers(1, len(scorer.queries), 2000)
    items = rng.integers(1, len(scorer.candidates), 2000)
    times = rng.uniform(stats[2] - 1e6, stats[3] + 1e6, 2000)  # some outside the period
    bucket, standardised = time_features(times, scorer.time_boundaries, stats)
    inputs = {"user": users, "item": items, "bucket": bucket, "time": standardised}
    expected = model.predict(inputs, batch_size=4096, verbose=0)[:, 0]
    queries = scorer.user_queries(users, times)
    raw = [scorer.item_scores(q, items[[n]])[0] for n, q in enumerate(queries[:200])]
    np.testing.assert_allclose(raw, expected[:200], atol=1e-5)
    low, high = scorer.catalog.rating_scale
    clipped = np.clip(expected, low, high)
    np.testing.assert_allclose(scorer.pair_scores(queries, items), clipped, atol=1e-5)
    assert loaded.manifest["kind_params"]["time_buckets"] == 1000
    assert 0.85 < result.metrics["rmse"] < 1.1


@pytest.mark.parametrize("sharing", ["example", "batch"])
def test_negatives_per_example_or_a_pool_shared_by_the_batch(data_dir, sharing):
    from movierec.data.catalog_builder import build_catalog
    from movierec.training.fit import _retrieval_dataset
    from movierec.training.kinds import two_tower as two_tower_keras

    dataset = load_dataset("ml-100k", data_dir)
    split = make_split(dataset, "u1")
    hyperparameters = {"negative_sharing": sharing, "batch_size": 256, "num_negatives": 600}
    spec = build_train_spec("m", kind="two_tower", hyperparameters=hyperparameters)
    with training.rows_folder() as folder:
        data = training.training_data(spec, build_catalog(dataset, split), split, folder)
        inputs, _ = next(iter(_retrieval_dataset(data)))
    items = inputs["items"].numpy()
    # per example: 600 draws per row; shared: 3 per row, the batch's first 600 the pool
    assert items.shape == ((256, 601) if sharing == "example" else (256, 4))
    assert items[:, 1:].min() >= 1 and items[:, 1:].max() <= data.catalog.num_items
    assert len(set(items[:, 0].tolist())) > 100  # the positives stay the batch's own
    model = two_tower_keras.build_retrieval_model(data, items.shape[1])
    logits = model(inputs).numpy()
    assert logits.shape == (256, 601)
    if sharing == "batch":
        pool = items[:, 1:].reshape(-1)[:600]
        hits = items[:, :1] == pool[None, :]
        assert hits.any()  # 600 draws from 1,650 items: some rows meet their own item
        assert (logits[:, 1:][hits] < -1e8).all() and (logits[:, 1:][~hits] > -1e8).all()


def test_shared_pool_logits_and_losses_match_their_definitions():
    from movierec.training.fit import (
        PositiveFirstBinary,
        PositiveFirstSoftmax,
        SharedCandidateLogits,
    )

    rng = np.random.default_rng(0)
    user, positive, pool = (
        rng.normal(size=shape).astype(np.float32) for shape in ((4, 3), (4, 3), (5, 3))
    )
    positive_ids = np.array([1, 2, 3, 4], np.int32)
    pool_ids = np.array([9, 3, 8, 1, 7], np.int32)
    log_q = rng.normal(size=5).astype(np.float32)
    bias, pool_bias = rng.normal(size=4).astype(np.float32), rng.normal(size=5).astype(np.float32)
    logits = SharedCandidateLogits(temperature=0.5)(
        [user, positive, pool, positive_ids, pool_ids, log_q, bias, pool_bias]
    ).numpy()
    own = ((user * positive).sum(1) + bias) / 0.5
    others = (user @ pool.T + pool_bias) / 0.5 - log_q
    np.testing.assert_allclose(logits[:, 0], own, rtol=1e-5)
    hits = positive_ids[:, None] == pool_ids[None, :]
    np.testing.assert_allclose(logits[:, 1:][~hits], others[~hits], rtol=1e-5)
    assert (logits[:, 1:][hits] <= -1e8).all() and hits.sum() == 2

    scores = rng.normal(size=(4, 6)).astype(np.float32)
    labels = np.eye(6, dtype=np.float32)[[0, 0, 0, 0]]
    softmax = keras.losses.CategoricalCrossentropy(from_logits=True)
    binary = keras.losses.BinaryCrossentropy(from_logits=True)
    unused = np.zeros((4, 1), np.float32)
    np.testing.assert_allclose(
        float(PositiveFirstSoftmax()(unused, scores)), float(softmax(labels, scores)), rtol=1e-5
    )
    np.testing.assert_allclose(
        float(PositiveFirstBinary()(unused, scores)), float(binary(labels, scores)), rtol=1e-5
    )


def test_data_fingerprint_is_the_digest_of_the_whole_frames_rows(data_dir, monkeypatch):
    import hashlib

    split = make_split(load_dataset("ml-100k", data_dir), "u1")
    whole = hashlib.sha256()
    for part in (split.train, split.test):
        whole.update(part[["user_id", "item_id", "rating", "timestamp"]].to_numpy().tobytes())
    monkeypatch.setattr(training, "_FINGERPRINT_ROWS", 7_777)  # chunks that split a part
    assert training.data_fingerprint(split) == whole.hexdigest()


def test_validation_share_is_random_split_of_the_training_part(data_dir):
    from movierec.data.catalog_builder import build_catalog
    from movierec.data.splits import random_split

    dataset = load_dataset("ml-100k", data_dir)
    split = make_split(dataset, "u1")
    spec = build_train_spec("m", objective="rating", hyperparameters={"validation_fraction": 0.2})
    with training.rows_folder() as folder:
        data = training.training_data(spec, build_catalog(dataset, split), split, folder)
    kept, held = random_split(split.train, 0.2, spec.seed)
    assert data.validation is not None
    np.testing.assert_array_equal(data.validation.test_user_ids, held["user_id"].to_numpy())
    np.testing.assert_array_equal(data.validation.test_item_ids, held["item_id"].to_numpy())
    np.testing.assert_array_equal(data.validation.test_ratings, held["rating"].to_numpy())
    assert len(data.validation.seen_items) == len(kept) == data.rows.count
    assert data.global_mean == pytest.approx(float(kept["rating"].mean()), abs=1e-6)
    counts = np.bincount(data.catalog.seen_items, minlength=data.catalog.num_items + 1)
    assert data.item_counts.sum() == len(kept) and (data.item_counts <= counts).all()

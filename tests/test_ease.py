"""Kind "ease": the closed form worked by hand, λ chosen on validation, and a real fit of
ml-100k u1 served like any version."""

import numpy as np
import pytest

from movierec.errors import InvalidRequest
from movierec.kinds import ease
from movierec.kinds.evaluation import evaluate_ranking, recommend_lists, relevant_items
from movierec.store.vocab import IdVocabulary
from movierec.training.kinds import ease as ease_fit
from tests.fakes import make_catalog


def _dense_rows(catalog, low_rating_weight):
    return ease.user_rows(catalog, low_rating_weight, np.arange(catalog.num_users + 1))[:, 1:]


def test_row_weights_grow_linearly_from_the_lowest_rating_to_one():
    catalog = make_catalog()  # ratings 4, 2, 5 on a 1-5 scale
    weights = ease.interaction_weights(catalog, 0.25)
    np.testing.assert_allclose(weights, [0.25 + 0.75 * 3 / 4, 0.25 + 0.75 / 4, 1.0])
    np.testing.assert_allclose(ease.interaction_weights(catalog, 1.0), [1, 1, 1])


def test_gram_is_the_weighted_rows_product_in_any_block_size(monkeypatch):
    catalog = make_catalog()
    rows = _dense_rows(catalog, 0.5).astype(np.float64)
    expected = rows.T @ rows
    np.testing.assert_allclose(ease_fit.gram(catalog, 0.5), expected)
    monkeypatch.setattr(ease_fit, "_GRAM_USERS", 1)
    np.testing.assert_allclose(ease_fit.gram(catalog, 0.5), expected)


def test_item_item_is_the_zero_diagonal_ridge_solution():
    rng = np.random.default_rng(0)
    x = (rng.random((40, 6)) < 0.4).astype(np.float64)
    gram, l2 = x.T @ x, 3.0
    inverse = np.linalg.inv(gram + l2 * np.eye(6))
    expected = np.eye(6) - inverse / np.diag(inverse)
    b = ease_fit.item_item(gram, l2)
    assert b.shape == (7, 7) and not b[0].any() and not b[:, 0].any()
    np.testing.assert_allclose(b[1:, 1:], expected, atol=1e-6)
    assert not np.diag(b).any()
    # B minimises ||X - XB||² + λ||B||² among zero-diagonal matrices: moving any
    # off-diagonal entry raises the objective
    objective = lambda m: ((x - x @ m) ** 2).sum() + l2 * (m**2).sum()  # noqa: E731
    nudged = b[1:, 1:].astype(np.float64).copy()
    nudged[0, 1] += 1e-3
    assert objective(nudged) > objective(b[1:, 1:].astype(np.float64))


def test_scorer_scores_a_users_weighted_row_times_b():
    catalog = make_catalog()
    weights = _fitted_weights(catalog)
    b = weights["item_item"]
    scorer = ease.EaseScorer(weights, catalog, 0.25)
    rows = ease.user_rows(catalog, 0.25, np.arange(catalog.num_users + 1))
    np.testing.assert_allclose(scorer.scores(scorer.queries[[1, 2]]), rows[[1, 2]] @ b, rtol=1e-6)
    scorer.probe()


def test_l2_search_keeps_the_best_validation_figure(monkeypatch):
    figures = {250.0: 0.30, 500.0: 0.32, 1000.0: 0.31, 125.0: 0.1}
    monkeypatch.setattr(ease_fit, "evaluate_ranking", lambda *a: {"ndcg@10": figures[tried[-1]]})
    tried: list[float] = []
    real_item_item = ease_fit.item_item

    def item_item(matrix, l2):
        tried.append(l2)
        return real_item_item(matrix, l2)

    monkeypatch.setattr(ease_fit, "item_item", item_item)
    reports = []
    best, returned = ease_fit.choose_l2(make_catalog(), 0.25, reports.append)
    assert best == 500.0 and tried == [250.0, 500.0, 1000.0]
    assert returned == reports and [r.val_ndcg for r in reports] == [0.30, 0.32, 0.31]


def test_a_catalogue_above_the_limit_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(ease_fit, "MAX_ITEMS", 4)
    data = type("Data", (), {"params": ease.EaseParams(), "catalog": make_catalog()})
    with pytest.raises(InvalidRequest, match="at most 4 items; this one has 5: train kind dot"):
        ease_fit.fit(data)


@pytest.mark.slow
def test_default_kind_fits_u1_in_closed_form_and_beats_plain_ease(tmp_path, data_dir):
    training = pytest.importorskip("movierec.training.job")
    from movierec.kinds.versions import load_version
    from movierec.store.model_store import KERAS_FILE, ModelStore
    from movierec.training.spec import build_train_spec

    store = ModelStore(tmp_path / "store")
    reports = []
    result = training.run_training(build_train_spec("films"), store, data_dir, reports.append)
    assert reports and all(r.val_ndcg > 0 for r in reports)  # one per λ tried
    assert not (store.version_path("films", result.version) / KERAS_FILE).exists()
    served = load_version(store, "films", result.version).scorer
    assert served.kind == "ease" and result.metrics["ndcg@10"] > 0
    catalog = served.catalog

    def ndcg(scorer):
        return evaluate_ranking(lambda u: scorer.scores(scorer.queries[u]), catalog, 10)["ndcg@10"]

    # plain EASE: every rating alike, at the λ the default chose on validation
    plain_b = ease_fit.item_item(ease_fit.gram(catalog, 1.0), served.l2)
    plain = ease.EaseScorer(
        {"item_item": plain_b, "l2": served.l2, "genre_to_items": served.genre_to_items},
        catalog,
        1.0,
    )
    assert ndcg(served) == pytest.approx(result.metrics["ndcg@10"], abs=1e-6)
    assert ndcg(served) > ndcg(plain)
    # no top-10 slot goes to an item with fewer than 5 training ratings
    users, _ = relevant_items(catalog)
    lists = recommend_lists(
        lambda u: served.scores(served.queries[u]),
        catalog,
        IdVocabulary(catalog.user_ids).lookup(users)[0],
        10,
    )
    assert (catalog.popularity[lists[lists > 0]] >= 5).all()


def _fitted_weights(catalog, low_rating_weight=0.25, l2=0.5):
    return {
        "item_item": ease_fit.item_item(ease_fit.gram(catalog, low_rating_weight), l2),
        "l2": np.float32(l2),
        "genre_to_items": ease_fit.genre_to_items(catalog, low_rating_weight),
    }


def publish_fake_ease(store, name="films"):
    from movierec.store.arrays import save_arrays
    from movierec.store.catalog import CATALOG_FILE, save_catalog
    from movierec.store.model_store import WEIGHTS_FILE

    def write(folder):
        save_arrays(folder / WEIGHTS_FILE, _fitted_weights(make_catalog()))
        save_catalog(folder / CATALOG_FILE, make_catalog())

    manifest = {
        "kind": "ease",
        "objective": "retrieval",
        "kind_params": {"l2": 0.5, "low_rating_weight": 0.25},
        "split": "fake/test",
        "metrics": {},
    }
    return store.publish_version(name, manifest, write)


def test_genre_to_items_is_the_ridge_regression_of_rows_on_profiles():
    catalog = make_catalog()
    profiles = ease.genre_profiles(catalog)[1:]
    rows = _dense_rows(catalog, 0.25).astype(np.float64)[1:]
    w = ease_fit.genre_to_items(catalog, 0.25)
    lhs = (profiles.T @ profiles + ease_fit.GENRE_L2 * np.eye(profiles.shape[1])) @ w[:, 1:]
    np.testing.assert_allclose(lhs, profiles.T @ rows, atol=1e-5)
    # user 10 rated 100 (Action) 4 and 104 (no genre) 2: Action's mean less the training
    # mean, the Action flag and the constant
    mean = catalog.global_mean()
    np.testing.assert_allclose(ease.genre_profiles(catalog)[1], [4 - mean, 0, 0, 1, 0, 0, 1])
    np.testing.assert_allclose(
        ease.genre_profile({"Action": 4.0}, catalog), ease.genre_profiles(catalog)[1]
    )


def test_a_user_described_by_their_ratings_is_scored_as_that_user():
    catalog = make_catalog()
    scorer = ease.EaseScorer(_fitted_weights(catalog), catalog, 0.25)
    from movierec.kinds.features import UserFeatures

    as_features = scorer.feature_query(UserFeatures(item_ratings={100: 4.0, 104: 2.0}))
    np.testing.assert_allclose(as_features, scorer.queries[1])
    genres_only = scorer.feature_query(UserFeatures({"Action": 4.0}))
    profile = ease.genre_profile({"Action": 4.0}, catalog).astype(np.float32)
    np.testing.assert_allclose(genres_only, profile @ scorer.genre_to_items, rtol=1e-6)


def test_recommend_for_rated_items_leaves_them_out_and_checks_them(store):
    from movierec.errors import UnknownItem
    from movierec.kinds.features import UserFeatures
    from movierec.serving.dataplane import USER_FEATURES, ServingDataPlane
    from movierec.serving.registry import ModelRegistry

    publish_fake_ease(store)
    registry = ModelRegistry(store)
    registry.refresh()
    plane = ServingDataPlane(registry)
    rated = UserFeatures(item_ratings={100: 4.0, 104: 2.0})
    answer = plane.recommend("films", 0, None, 5, features=rated).value
    assert answer.strategy == USER_FEATURES
    by_id = plane.recommend("films", 0, 10, 5).value  # the training user who rated them
    assert [i.item_id for i in answer.items] == [i.item_id for i in by_id.items]
    assert {i.item_id for i in answer.items}.isdisjoint({100, 104})
    with_seen = plane.recommend("films", 0, None, 5, include_seen=True, features=rated).value
    assert {100, 104} <= {i.item_id for i in with_seen.items}
    with pytest.raises(UnknownItem, match="999"):
        plane.recommend("films", 0, None, 5, features=UserFeatures(item_ratings={999: 4.0}))
    with pytest.raises(InvalidRequest, match=r"item_ratings\[100\] must be a finite rating"):
        plane.recommend("films", 0, None, 5, features=UserFeatures(item_ratings={100: 9.0}))
    with pytest.raises(InvalidRequest, match="at least one genre .* or one rated item"):
        plane.recommend("films", 0, None, 5, features=UserFeatures())
    genres = plane.recommend("films", 0, None, 5, features=UserFeatures({"Drama": 5.0})).value
    assert genres.strategy == USER_FEATURES and len(genres.items) == 5


def test_two_tower_takes_the_genre_means_of_rated_items():
    from movierec.kinds.features import UserFeatures, genre_means_of_items

    catalog = make_catalog()  # 100 Action, 103 Action and Comedy, 104 no genre
    rated = UserFeatures(item_ratings={100: 5.0, 103: 3.0, 104: 1.0})
    derived = genre_means_of_items(rated, catalog, np.array([1, 4, 5]), np.array([5.0, 3, 1]))
    assert derived.genre_ratings == {"Action": 4.0, "Comedy": 3.0}
    stated = UserFeatures({"Drama": 2.0}, item_ratings={100: 5.0})
    assert genre_means_of_items(stated, catalog, np.array([1]), np.array([5.0])) is stated

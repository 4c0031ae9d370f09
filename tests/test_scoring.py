import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from movierec.errors import UnknownItem, UnknownUser
from movierec.scoring import DotScorer, top_k
from tests.fakes import make_bundle


@pytest.fixture
def scorer():
    return DotScorer(make_bundle())


def test_predict_by_hand(scorer):
    # user 10 = [1, 0], b_u 0.5; item 102 = [0.5, 0.5], b_i 0.2; g 3 -> 0.5 + 0.5 + 0.2 + 3
    # user 20 = [0, 1], b_u 0; item 104 = [2, 2], b_i -3 -> 2 + 0 - 3 + 3 = 2
    # user 30 = [1, 1], b_u -0.5; item 103 = [-1, 0], b_i 0.3 -> -1 - 0.5 + 0.3 + 3 = 1.8
    ratings = scorer.predict(np.array([10, 20, 30]), np.array([102, 104, 103]))
    np.testing.assert_allclose(ratings, [4.2, 2.0, 1.8], rtol=1e-6)


def test_predict_clips_to_the_rating_scale():
    scorer = DotScorer(make_bundle(shift=10))
    assert scorer.predict(np.array([10]), np.array([100])).tolist() == [5.0]


def test_predict_names_the_unknown_ids(scorer):
    with pytest.raises(UnknownUser, match="unknown user id 11"):
        scorer.predict(np.array([10, 11]), np.array([100, 100]))
    with pytest.raises(UnknownItem, match="unknown item id 999"):
        scorer.predict(np.array([10, 10]), np.array([100, 999]))


def test_recommend_excludes_seen_and_requested_items(scorer):
    # user 10 scores: 100 4.5, 101 3.6, 102 4.2, 103 2.8, 104 2.5; rated 100 and 104
    items = scorer.recommend(10, k=3)
    assert [i.item_id for i in items] == [102, 101, 103]
    assert [i.score for i in items] == pytest.approx([4.2, 3.6, 2.8])
    assert items[0].title == "Gamma (1992)" and items[0].genres == ("Drama",)
    assert items[0].year == 1992
    assert [i.item_id for i in scorer.recommend(10, k=2, include_seen=True)] == [100, 102]
    excluded = scorer.recommend(10, k=5, exclude_item_ids=np.array([102, 12345]))
    assert [i.item_id for i in excluded] == [101, 103]


def test_recommend_returns_fewer_when_the_catalog_runs_out(scorer):
    assert len(scorer.recommend(10, k=50)) == 3


def test_recommend_unknown_user(scorer):
    with pytest.raises(UnknownUser, match="99"):
        scorer.recommend(99, k=3)


def test_similar_items_by_cosine_without_the_item_itself(scorer):
    # item 100 = [1, 0]: cos with 102 [.5,.5] = 0.7071, 104 [2,2] = 0.7071, 101 = 0, 103 = -1
    items = scorer.similar_items(100, k=4)
    assert [i.item_id for i in items] == [102, 104, 101, 103]
    assert [i.score for i in items] == pytest.approx([0.70710677, 0.70710677, 0.0, -1.0])
    with pytest.raises(UnknownItem, match="5000"):
        scorer.similar_items(5000, k=1)


def test_evaluate_uses_the_oov_row_for_unseen_ids(scorer):
    # (10,101) 3.6 vs 4; (20,100) 0+0+0+3=3 vs 3; (30,102) .5+.5-.5+.2+3=3.7 vs 5;
    # (99 unseen,100) 0+0+0+3 = 3 vs 3 -> errors .4, 0, 1.3, 0
    values = scorer.evaluate()
    assert values["mae"] == pytest.approx((0.4 + 1.3) / 4, rel=1e-5)
    assert values["rmse"] == pytest.approx(np.sqrt((0.16 + 1.69) / 4), rel=1e-5)


def test_sigmoid_output_maps_onto_the_scale():
    bundle = make_bundle()
    scorer = DotScorer(type(bundle)(**{**bundle.__dict__, "output": "sigmoid"}))
    # raw for (10,100) = 4.5 -> 1 + 4 * sigmoid(4.5)
    expected = 1 + 4 / (1 + np.exp(-4.5))
    assert scorer.predict(np.array([10]), np.array([100]))[0] == pytest.approx(expected, rel=1e-6)


@given(
    arrays(np.float32, st.integers(1, 60), elements=st.floats(-1e6, 1e6, width=32)),
    st.integers(1, 70),
)
def test_top_k_matches_a_full_sort(scores, k):
    expected = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    assert top_k(scores, k).tolist() == expected


def test_top_k_skips_excluded_entries():
    scores = np.array([1.0, -np.inf, 3.0, -np.inf])
    assert top_k(scores, 4).tolist() == [2, 0]

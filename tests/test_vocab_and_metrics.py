import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from movierec.errors import UnknownItem, UnknownUser
from movierec.metrics import rating as metrics
from movierec.store import catalog as catalog_module
from movierec.store.catalog import CatalogIndex
from movierec.store.vocab import OOV_INDEX, IdVocabulary
from tests.fakes import make_catalog


@given(
    st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=50),
    st.integers(-(2**63), 2**63 - 1),
)
def test_vocabulary_round_trips_known_ids_and_flags_unknown(ids, probe):
    vocab = IdVocabulary(np.array(ids))
    index, known = vocab.lookup(np.array(ids))
    assert known.all()
    assert (index >= 1).all() and (index < len(vocab)).all()
    assert (vocab.raw_ids(index) == np.array(ids)).all()
    probe_index, probe_known = vocab.lookup(np.array([probe]))
    assert probe_known[0] == (probe in ids)
    if probe not in ids:
        assert probe_index[0] == OOV_INDEX


def test_empty_vocabulary_knows_nothing():
    index, known = IdVocabulary(np.array([], dtype=np.int64)).lookup(np.array([1, 2]))
    assert not known.any() and (index == OOV_INDEX).all()


def test_rmse_and_mae_by_hand():
    # errors 1, -1, 2, 0: squared mean = (1 + 1 + 4 + 0) / 4 = 1.5; abs mean = 4 / 4 = 1
    truth = np.array([4, 3, 5, 1])
    predicted = np.array([3, 4, 3, 1])
    assert metrics.rmse(truth, predicted) == pytest.approx(np.sqrt(1.5))
    assert metrics.mae(truth, predicted) == pytest.approx(1.0)


def test_metrics_refuse_empty_and_mismatched_input():
    with pytest.raises(ValueError, match="no ratings"):
        metrics.rmse(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.mae(np.array([1.0]), np.array([1.0, 2.0]))


@pytest.mark.parametrize("remembered", [0, 2, 100])
def test_catalog_lookups_answer_the_same_however_many_ids_are_remembered(monkeypatch, remembered):
    monkeypatch.setattr(catalog_module, "MAX_REMEMBERED_IDS", remembered)
    index = CatalogIndex(make_catalog())
    for _ in range(2):  # the second pass from what the first remembered
        assert [index.user_index(u) for u in (10, 20, 30)] == [1, 2, 3]
        assert index.user_index(40) == OOV_INDEX  # in the dataset, not in training
        for unknown in (50, -1, 2**70):
            with pytest.raises(UnknownUser):
                index.user_index(unknown)
        assert [index.item_index(i) for i in (100, 101, 102, 103, 104)] == [1, 2, 3, 4, 5]
        with pytest.raises(UnknownItem):
            index.item_index(105)


@pytest.mark.parametrize(
    ("one_by_one", "remembered"),
    [(0, 1 << 16), (100, 1 << 16), (100, 2), (100, 0)],  # vectorized, one by one, both, vectorized
)
def test_catalog_batch_lookups_answer_the_same_one_by_one_or_vectorized(
    monkeypatch, one_by_one, remembered
):
    monkeypatch.setattr(catalog_module, "ONE_BY_ONE_IDS", one_by_one)
    monkeypatch.setattr(catalog_module, "MAX_REMEMBERED_IDS", remembered)
    index = CatalogIndex(make_catalog())
    for users in ([30, 10, 40, 20, 10], np.array([30, 10, 40, 20, 10])):
        assert index.user_indices(users).tolist() == [3, 1, OOV_INDEX, 2, 1]
        assert index.user_indices(users).dtype == np.int64
    for items in ([104, 100, 100, 102], np.array([104, 100, 100, 102])):
        assert index.item_indices(items).tolist() == [5, 1, 1, 3]
        assert index.item_indices(items).dtype == np.int64
    assert index.user_indices([]).tolist() == [] and index.item_indices([]).tolist() == []
    with pytest.raises(UnknownUser) as unknown_user:
        index.user_indices([10, 60, 50])
    assert unknown_user.value.user_id == 60  # the first unknown
    with pytest.raises(UnknownItem) as unknown_item:
        index.item_indices([100, 107, 105])
    assert unknown_item.value.item_id == 107

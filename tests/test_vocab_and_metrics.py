import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from movierec import metrics
from movierec.vocab import OOV_INDEX, IdVocabulary


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

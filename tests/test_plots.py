"""The pictures a training job draws, on the fake catalogue (no TensorFlow)."""

import numpy as np
import pytest

from movierec.training.spec import EpochReport
from tests.fakes import make_catalog, make_weights

plots = pytest.importorskip("movierec.training.plots")
image = pytest.importorskip("matplotlib.image")


def _drawn(path) -> np.ndarray:
    pixels = image.imread(path)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 400
    assert pixels[..., :3].std() > 0.05  # not blank
    return pixels


def test_the_three_pictures_are_drawn(tmp_path):
    epochs = [EpochReport(n, 1.0 / n, 0.9 + 0.01 * n, 1.0, 0.0, 0.95 - 0.01 * n) for n in (1, 2, 3)]
    plots.draw_loss(tmp_path / "loss.png", "m (dot, rating)", epochs)
    rng = np.random.default_rng(0)
    true = rng.integers(1, 6, 500).astype(np.float32)
    plots.draw_true_vs_predicted(tmp_path / "r.png", "m", true, true + rng.normal(0, 1, 500), True)
    plots.draw_true_vs_predicted(tmp_path / "s.png", "m", true, rng.normal(0, 1, 500), False)
    catalog = make_catalog()
    method = plots.draw_item_map(
        tmp_path / "map.png", "m", catalog, make_weights()["item_embeddings"]
    )
    assert method == "PCA"  # 5 items: too few for t-SNE
    for name in ("loss.png", "r.png", "s.png", "map.png"):
        _drawn(tmp_path / name)


def test_the_best_rated_films_are_those_labelled():
    catalog = make_catalog()
    # items 100 (mean 11/3), 101 (4) and 104 (2) have one rating each; 102 and 103 none
    assert plots.best_rated(catalog, 2).tolist() == [2, 1]


@pytest.mark.parametrize(
    ("a", "b", "rho"),
    [
        ([1, 2, 2, 3], [10, 20, 20, 30], 1.0),
        ([1, 2, 3, 4], [4, 3, 2, 1], -1.0),
        ([1, 2, 3, 4], [1, 3, 2, 4], 0.8),
    ],
)
def test_spearman(a, b, rho):
    assert plots.spearman(np.array(a), np.array(b)) == pytest.approx(rho)

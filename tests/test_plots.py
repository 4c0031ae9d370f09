"""The pictures a training job draws, on the fake catalogue (no TensorFlow)."""

import types

import numpy as np
import pytest
from matplotlib.text import Text

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


def _pixels_of_lines(figure) -> np.ndarray:
    """Every plotted line's vertices in the figure's pixels, [n, 2]."""
    points = [
        line.get_transform().transform(line.get_xydata())
        for axes in figure.axes
        for line in axes.get_lines()
    ]
    return np.concatenate(points)


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_the_loss_legend_covers_no_validation_marker():
    # The shape that hid two markers under the legend at the upper right: validation
    # NDCG@10 rising to its plateau on the right axis while the loss falls on the left.
    epochs = [
        EpochReport(n, 2.6 - 0.04 * n, 0.0, 1.0, 0.12 + 0.1 * (1 - 0.8**n), 0.0)
        for n in range(1, 22)
    ]
    figure = plots.loss_figure("films (dot, retrieval)", epochs)
    figure.canvas.draw()
    legends = figure.legends + [a.get_legend() for a in figure.axes if a.get_legend()]
    assert len(legends) == 1
    box = legends[0].get_window_extent()
    markers = _pixels_of_lines(figure)
    inside = (
        (markers[:, 0] >= box.x0)
        & (markers[:, 0] <= box.x1)
        & (markers[:, 1] >= box.y0)
        & (markers[:, 1] <= box.y1)
    )
    assert not inside.any(), f"{inside.sum()} markers under the legend"
    plots.plt.close(figure)


@pytest.mark.parametrize("is_rating", [False, True])
def test_the_true_vs_predicted_title_is_not_cut_off(is_rating):
    rng = np.random.default_rng(0)
    true = rng.integers(1, 6, 500).astype(np.float32)
    figure = plots.true_vs_predicted_figure(
        "films-ratings (two_tower, retrieval)", true, rng.normal(0, 1, 500), is_rating
    )
    figure.canvas.draw()
    title = figure.axes[0].title.get_window_extent()
    whole = figure.bbox
    assert whole.x0 <= title.x0 and title.x1 <= whole.x1 and title.y1 <= whole.y1
    plots.plt.close(figure)


def test_the_item_map_labels_stay_inside_and_do_not_overlap():
    # 30 best-rated films of 300: ten in a tight bunch, ten on the right edge, ten
    # spread out; the rest a cloud. Titles as long as ml-100k's longest.
    rng = np.random.default_rng(1)
    count = 300
    vectors = np.zeros((count + 1, 2), dtype=np.float32)
    vectors[1:] = rng.normal(0, 1, (count, 2))
    vectors[1:11] = [0.3, 0.2] + rng.normal(0, 0.02, (10, 2))
    vectors[11:21] = np.c_[np.full(10, 3.5), np.linspace(-1, 1, 10)]
    popularity = np.r_[0, np.full(count, 100)]
    mean_rating = np.r_[0, np.linspace(5, 1, count)].astype(np.float32)  # items 1-30 best
    titles = np.array(
        [f"Dr. Strangelove or: How I Learned to Stop Worrying ({n})" for n in range(count)]
    )
    catalog = types.SimpleNamespace(
        popularity=popularity, item_mean_rating=mean_rating, item_titles=titles
    )
    figure, _ = plots.item_map_figure("films (dot, retrieval)", catalog, vectors)
    figure.canvas.draw()
    axes = figure.axes[0]
    area = axes.get_window_extent()
    labels = [text for text in axes.texts if text.get_text()]
    assert len(labels) == plots.LABELLED_FILMS
    boxes = [Text.get_window_extent(label) for label in labels]  # the text, not its line
    for box in boxes:
        assert area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
    overlapping = [
        (a, b) for a in range(len(boxes)) for b in range(a) if _overlap(boxes[a], boxes[b])
    ]
    assert not overlapping
    plots.plt.close(figure)

"""Pictures of a trained version, drawn as the notebooks draw them and stored with it:
training and validation loss per epoch, held-out true against predicted ratings (rating
objectives), and a 2-D map of the item vectors labelling the best-rated films.

Drawn by the training job with matplotlib's Agg backend (no display); the serving process
never imports this module. The PNGs are ordinary version files, so the manifest lists and
checksums them; TrainerService.GetArtifact streams them.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from movierec.store.catalog import Catalog  # noqa: E402
from movierec.training.spec import EpochReport  # noqa: E402

LOSS_PNG = "loss.png"
RATINGS_PNG = "true_vs_predicted.png"
ITEM_MAP_PNG = "item_map.png"
LABELLED_FILMS = 30
MIN_RATINGS_TO_LABEL = 50
"""A film is labelled on the map only with this many training ratings (fewer where the
catalogue is small), so that "best-rated" is not a film one person rated 5."""
LABEL_CHARS = 40
"""Longer titles are shortened on the item map, ending in an ellipsis."""
MAX_SCATTER_POINTS = 20_000
MAX_TSNE_ITEMS = 5_000
DPI = 110


def draw_loss(path: pathlib.Path, title: str, epochs: Sequence[EpochReport]) -> None:
    """Draws loss_figure into `path`."""
    _save(loss_figure(title, epochs), path)


def loss_figure(title: str, epochs: Sequence[EpochReport]) -> Figure:
    """Training loss per epoch, with the validation loss (rating objective) or the
    validation NDCG@10 on a second axis (retrieval, which has no validation loss); a kind
    fitted in closed form (no training loss) shows its validation NDCG@10 per try alone.
    The legend sits below the axes, where it covers no marker."""
    figure, axes = plt.subplots(figsize=(7, 4.6), dpi=DPI, layout="constrained")
    x = [report.epoch for report in epochs]
    has_loss = any(report.loss for report in epochs)
    if has_loss:
        axes.plot(x, [report.loss for report in epochs], marker="o", label="training loss")
    if any(report.val_loss for report in epochs):
        axes.plot(x, [report.val_loss for report in epochs], marker="o", label="validation loss")
    axes.set_xlabel("epoch" if has_loss else "try")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("loss")
    lines, labels = axes.get_legend_handles_labels()
    if any(report.val_ndcg for report in epochs):
        right = axes.twinx() if has_loss else axes
        right.plot(
            x,
            [report.val_ndcg for report in epochs],
            marker="s",
            color="tab:green",
            label="validation NDCG@10",
        )
        right.set_ylabel("NDCG@10")
        if right is not axes:
            more_lines, more_labels = right.get_legend_handles_labels()
            lines, labels = lines + more_lines, labels + more_labels
        else:
            lines, labels = axes.get_legend_handles_labels()
    if lines:
        figure.legend(lines, labels, loc="outside lower center", ncols=len(lines), frameon=False)
    axes.set_title(f"{title}\n" + ("loss per epoch" if has_loss else "validation per try"))
    axes.grid(alpha=0.3)
    return figure


def draw_true_vs_predicted(
    path: pathlib.Path, title: str, true: np.ndarray, predicted: np.ndarray, is_rating: bool
) -> None:
    """Draws true_vs_predicted_figure into `path`."""
    _save(true_vs_predicted_figure(title, true, predicted, is_rating), path)


def true_vs_predicted_figure(
    title: str, true: np.ndarray, predicted: np.ndarray, is_rating: bool
) -> Figure:
    """Predicted ratings (or, for retrieval versions, relevance scores) against true
    held-out ratings: a jittered scatter (at most MAX_SCATTER_POINTS, sampled), each true
    rating's mean prediction, and for ratings the diagonal. The title takes two lines (the
    version, then the figure's subject), and the legend sits below the axes."""
    true = np.asarray(true, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    rng = np.random.default_rng(0)
    shown = rng.permutation(len(true))[:MAX_SCATTER_POINTS]
    figure, axes = plt.subplots(figsize=(6.4, 5.6), dpi=DPI, layout="constrained")
    levels = np.unique(true)
    step = float(np.min(np.diff(levels))) if len(levels) > 1 else 1.0
    jitter = rng.uniform(-0.3, 0.3, len(shown)) * step
    axes.scatter(true[shown] + jitter, predicted[shown], s=3, alpha=0.15, label="held-out ratings")
    means = [predicted[true == level].mean() for level in levels]
    axes.plot(levels, means, marker="D", color="tab:red", label="mean prediction")
    axes.set_xlabel("true rating")
    if is_rating:
        low, high = (float(levels.min()), float(levels.max())) if len(levels) else (0.0, 1.0)
        axes.plot([low, high], [low, high], linestyle="--", color="black", label="perfect")
        rmse = float(np.sqrt(np.mean((true - predicted) ** 2))) if len(true) else float("nan")
        axes.set_ylabel("predicted rating")
        axes.set_title(f"{title}\nheld-out ratings against predictions, RMSE {rmse:.4f}")
    else:
        axes.set_ylabel("relevance score")
        axes.set_title(
            f"{title}\nheld-out ratings against relevance, Spearman {spearman(true, predicted):.3f}"
        )
    lines, labels = axes.get_legend_handles_labels()
    legend = figure.legend(
        lines, labels, loc="outside lower center", ncols=len(lines), frameon=False
    )
    for handle in legend.legend_handles:
        if handle is not None:
            handle.set_alpha(1.0)
    axes.grid(alpha=0.3)
    return figure


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two samples, ties given their mean rank; NaN when
    a sample is constant (implicit feedback's held-out ratings all are)."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    ranks = [_mean_ranks(np.asarray(x, dtype=np.float64)) for x in (a, b)]
    return float(np.corrcoef(ranks[0], ranks[1])[0, 1])


def _mean_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends - 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def item_map_coordinates(vectors: np.ndarray) -> tuple[np.ndarray, str]:
    """2-D coordinates [n, 2] of item vectors [n, d] and the method's name: t-SNE where
    scikit-learn is installed and there are at most MAX_TSNE_ITEMS items, else PCA."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) <= MAX_TSNE_ITEMS and len(vectors) > 30:
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            pass
        else:
            tsne = TSNE(n_components=2, init="pca", random_state=0, perplexity=30.0)
            return tsne.fit_transform(vectors), "t-SNE"
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    coordinates = centred @ components[:2].T
    if coordinates.shape[1] < 2:  # one-dimensional vectors
        coordinates = np.hstack([coordinates, np.zeros((len(coordinates), 1))])
    return coordinates, "PCA"


def best_rated(catalog: Catalog, count: int = LABELLED_FILMS) -> np.ndarray:
    """Item rows of the `count` films with the highest mean training rating among those
    with at least MIN_RATINGS_TO_LABEL ratings (the catalogue's 75th percentile of rating
    counts when that is lower), best first."""
    popularity = catalog.popularity[1:]
    floor = min(MIN_RATINGS_TO_LABEL, float(np.percentile(popularity, 75)))
    eligible = np.flatnonzero(popularity >= max(floor, 1))
    order = np.argsort(-catalog.item_mean_rating[1:][eligible], kind="stable")
    return eligible[order[:count]] + 1


def draw_item_map(path: pathlib.Path, title: str, catalog: Catalog, vectors: np.ndarray) -> str:
    """Draws item_map_figure into `path`; returns the method used ("t-SNE" or "PCA")."""
    figure, method = item_map_figure(title, catalog, vectors)
    _save(figure, path)
    return method


def item_map_figure(title: str, catalog: Catalog, vectors: np.ndarray) -> tuple[Figure, str]:
    """Every item's vector [num_items + 1, d] (row 0 the OOV row, left out) on a 2-D map
    coloured by mean training rating, the best-rated films labelled with their titles
    where no label covers another (place_labels). Returns the figure and the method used
    ("t-SNE" or "PCA")."""
    coordinates, method = item_map_coordinates(vectors[1:])
    figure, axes = plt.subplots(figsize=(11, 8.5), dpi=DPI, layout="constrained")
    points = axes.scatter(
        coordinates[:, 0],
        coordinates[:, 1],
        c=catalog.item_mean_rating[1:],
        cmap="viridis",
        s=6,
        alpha=0.6,
    )
    figure.colorbar(points, ax=axes, label="mean training rating")
    labelled = best_rated(catalog)
    marked = coordinates[labelled - 1]
    axes.scatter(marked[:, 0], marked[:, 1], s=18, color="tab:red")
    axes.set_title(f"{title}\nitem vectors ({method}), the {len(labelled)} best-rated films")
    axes.set_xlabel(f"{method} 1")
    axes.set_ylabel(f"{method} 2")
    axes.margins(0.08)  # room for labels beside the outermost films
    names = [_short(str(catalog.item_titles[row - 1])) for row in labelled.tolist()]
    place_labels(axes, marked, names)
    return figure, method


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def place_labels(
    axes: Axes, points: np.ndarray, texts: Sequence[str], fontsize: float = 7.0
) -> list[Text]:
    """Labels each point [n, 2] (data coordinates) with its text, in order: each label goes
    at the first spot around its point, nearest first, where it stays inside the axes and
    covers no label placed before it and no other labelled point; a label moved away from
    its point is joined to it by a thin line. Where no spot is free, the one covering
    least is taken. Lays the figure out first and freezes that layout (the labels are
    placed in pixels).

    Returns:
        The labels (matplotlib annotations), in the order of `texts`.
    """
    figure = axes.get_figure(root=True)
    assert isinstance(figure, Figure)
    figure.canvas.draw()
    figure.set_layout_engine("none")  # keep the axes where the labels were measured
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    area = axes.get_window_extent(renderer)
    marks = axes.transData.transform(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    points_per_pixel = 72.0 / figure.dpi
    placed: list[Bbox] = []
    labels: list[Text] = []
    for index, (point, text) in enumerate(zip(points, texts, strict=True)):
        probe = axes.text(0, 0, text, fontsize=fontsize)
        extent = probe.get_window_extent(renderer)
        probe.remove()
        pad = 0.15 * fontsize / points_per_pixel  # the white box behind the text
        width, height = extent.width + 2 * pad, extent.height + 2 * pad
        others = np.delete(marks, index, axis=0)
        best: tuple[float, Bbox] | None = None
        for dx, dy in _spots(width, height):
            box = Bbox.from_bounds(marks[index, 0] + dx, marks[index, 1] + dy, width, height)
            cost = sum(box.overlaps(other) for other in placed)
            cost += int(np.sum(_within(others, box)))
            if not _inside(box, area):
                cost += 1000
            if best is None or cost < best[0]:
                best = (cost, box)
            if cost == 0:
                break
        assert best is not None
        box = best[1]
        dx, dy = box.x0 + pad - marks[index, 0], box.y0 + pad - marks[index, 1]
        moved = not box.padded(6.0).contains(*marks[index])
        labels.append(
            axes.annotate(
                text,
                tuple(point),
                xytext=(dx * points_per_pixel, dy * points_per_pixel),
                textcoords="offset points",
                fontsize=fontsize,
                ha="left",
                va="bottom",
                bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
                arrowprops=(
                    {"arrowstyle": "-", "color": "0.35", "lw": 0.5, "shrinkA": 1, "shrinkB": 3}
                    if moved
                    else None
                ),
            )
        )
        placed.append(box)
    return labels


def _spots(width: float, height: float) -> list[tuple[float, float]]:
    """Offsets in pixels of a label's lower-left corner from its point, nearest first:
    right, left, above and below the point and the four diagonals, at growing distance."""
    spots = []
    for gap in (3.0, 8.0, 16.0, 28.0, 44.0, 64.0, 90.0, 120.0):
        spots += [
            (gap, -height / 2),
            (-gap - width, -height / 2),
            (-width / 2, gap),
            (-width / 2, -gap - height),
            (gap * 0.7, gap * 0.7),
            (-gap * 0.7 - width, gap * 0.7),
            (gap * 0.7, -gap * 0.7 - height),
            (-gap * 0.7 - width, -gap * 0.7 - height),
        ]
    return spots


def _within(points: np.ndarray, box: Bbox) -> np.ndarray:
    """Which of the points [n, 2] (pixels) lie in the box: bool [n]."""
    x, y = points[:, 0], points[:, 1]
    return (x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)


def _inside(box: Bbox, area: Bbox) -> bool:
    return box.x0 >= area.x0 and box.x1 <= area.x1 and box.y0 >= area.y0 and box.y1 <= area.y1


def _save(figure: Figure, path: pathlib.Path) -> None:
    figure.savefig(path, dpi=DPI)
    plt.close(figure)

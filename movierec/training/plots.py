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
from matplotlib.ticker import MaxNLocator  # noqa: E402

from movierec.store.catalog import Catalog  # noqa: E402
from movierec.training.spec import EpochReport  # noqa: E402

LOSS_PNG = "loss.png"
RATINGS_PNG = "true_vs_predicted.png"
ITEM_MAP_PNG = "item_map.png"
LABELLED_FILMS = 30
MIN_RATINGS_TO_LABEL = 50
"""A film is labelled on the map only with this many training ratings (fewer where the
catalogue is small), so that "best-rated" is not a film one person rated 5."""
MAX_SCATTER_POINTS = 20_000
MAX_TSNE_ITEMS = 5_000
DPI = 110


def draw_loss(path: pathlib.Path, title: str, epochs: Sequence[EpochReport]) -> None:
    """Training loss per epoch, with the validation loss (rating objective) or the
    validation NDCG@10 on a second axis (retrieval, which has no validation loss)."""
    figure, axes = plt.subplots(figsize=(7, 4.2))
    x = [report.epoch for report in epochs]
    axes.plot(x, [report.loss for report in epochs], marker="o", label="training loss")
    if any(report.val_loss for report in epochs):
        axes.plot(x, [report.val_loss for report in epochs], marker="o", label="validation loss")
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("loss")
    lines, labels = axes.get_legend_handles_labels()
    if any(report.val_ndcg for report in epochs):
        right = axes.twinx()
        right.plot(
            x,
            [report.val_ndcg for report in epochs],
            marker="s",
            color="tab:green",
            label="validation NDCG@10",
        )
        right.set_ylabel("NDCG@10")
        more_lines, more_labels = right.get_legend_handles_labels()
        lines, labels = lines + more_lines, labels + more_labels
    axes.legend(lines, labels, loc="best")
    axes.set_title(f"{title}: loss per epoch")
    axes.grid(alpha=0.3)
    _save(figure, path)


def draw_true_vs_predicted(
    path: pathlib.Path, title: str, true: np.ndarray, predicted: np.ndarray, is_rating: bool
) -> None:
    """Predicted ratings (or, for retrieval versions, relevance scores) against true
    held-out ratings: a jittered scatter (at most MAX_SCATTER_POINTS, sampled), each true
    rating's mean prediction, and for ratings the diagonal."""
    true = np.asarray(true, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    rng = np.random.default_rng(0)
    shown = rng.permutation(len(true))[:MAX_SCATTER_POINTS]
    figure, axes = plt.subplots(figsize=(6, 5))
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
        axes.set_title(f"{title}: held-out ratings, RMSE {rmse:.4f}")
    else:
        axes.set_ylabel("relevance score")
        axes.set_title(
            f"{title}: held-out ratings against relevance, Spearman {spearman(true, predicted):.3f}"
        )
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    _save(figure, path)


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
    """Every item's vector on a 2-D map coloured by mean training rating, the best-rated
    films labelled with their titles. Returns the method used ("t-SNE" or "PCA")."""
    coordinates, method = item_map_coordinates(vectors[1:])
    figure, axes = plt.subplots(figsize=(10, 8))
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
    axes.scatter(coordinates[labelled - 1, 0], coordinates[labelled - 1, 1], s=18, color="tab:red")
    for row in labelled.tolist():
        x, y = coordinates[row - 1]
        axes.annotate(str(catalog.item_titles[row - 1])[:32], (x, y), fontsize=6, alpha=0.9)
    axes.set_title(f"{title}: item vectors ({method}), the {len(labelled)} best-rated films")
    axes.set_xlabel(f"{method} 1")
    axes.set_ylabel(f"{method} 2")
    _save(figure, path)
    return method


def _save(figure, path: pathlib.Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)

"""Kind "ease", training half: the closed-form fit (numpy and scipy; no TensorFlow).

B = I - P diag(1 / diag(P)), P = (XᵀX + λI)⁻¹ over the rating-weighted user rows X of
movierec.kinds.ease, which is the ridge regression of X on itself with B's diagonal held
at zero. With the penalty left at 0, λ is chosen on the validation carve-out: each λ
tried is fitted on the carve-out's training part and scored by NDCG@10 on its held-out
part, as serving would rank; one epoch report per λ.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from movierec.errors import InvalidRequest
from movierec.kinds.ease import MAX_ITEMS, genre_profiles, interaction_weights, user_rows
from movierec.kinds.evaluation import VALIDATION_K, evaluate_ranking
from movierec.store.catalog import Catalog
from movierec.training.spec import EpochReport

if TYPE_CHECKING:
    from movierec.training.fit import TrainingData

FIRST_L2 = 250.0
"""Where the search for λ starts; it doubles or halves from here while validation NDCG
improves, at most MAX_STEPS times."""
MAX_STEPS = 6
GENRE_L2 = 3.0
"""Ridge penalty of the genre profile -> row regression. Chosen on validation carve-outs
of ml-100k u1-u3 and of three 200-user samples, by the genre-only NDCG@10 of the rows it
predicts; 1 to 10 scored alike on both."""
_GRAM_USERS = 4096


def gram(catalog: Catalog, low_rating_weight: float) -> np.ndarray:
    """XᵀX, float32 [I, I] over item rows 1..I, summed a block of users at a time so that
    no dense [U, I] matrix is ever held."""
    weights = interaction_weights(catalog, low_rating_weight)
    items = catalog.num_items
    result = np.zeros((items, items), dtype=np.float32)
    indptr = catalog.seen_indptr
    for start in range(0, catalog.num_users + 1, _GRAM_USERS):
        stop = min(start + _GRAM_USERS, catalog.num_users + 1)
        block = np.zeros((stop - start, items), dtype=np.float32)
        owners = np.repeat(np.arange(stop - start), np.diff(indptr[start : stop + 1]))
        first, last = indptr[start], indptr[stop]
        block[owners, catalog.seen_items[first:last] - 1] = weights[first:last]
        result += block.T @ block
    return result


def item_item(gram_matrix: np.ndarray, l2: float) -> np.ndarray:
    """B with its OOV row and column, float32 [I + 1, I + 1], for penalty `l2`: the
    inverse comes from a Cholesky factor, in the Gram matrix's precision (float32 halves
    the time of float64; the penalty keeps the matrix well conditioned)."""
    items = len(gram_matrix)
    penalised = gram_matrix.copy()
    penalised[np.diag_indices(items)] += l2
    potrf, potri = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potri"), (penalised,))
    factor, info = potrf(penalised, lower=False, overwrite_a=True)
    if info == 0:
        inverse, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise InvalidRequest(f"kind ease: the penalised Gram matrix is singular at l2 {l2}")
    inverse = np.triu(inverse)
    inverse += np.triu(inverse, 1).T
    result = np.zeros((items + 1, items + 1), dtype=np.float32)
    np.divide(inverse, -np.diag(inverse), out=result[1:, 1:])
    result[np.diag_indices(items + 1)] = 0.0
    return result


def fit(
    data: TrainingData, on_epoch: Callable[[EpochReport], None] = lambda report: None
) -> tuple[dict[str, np.ndarray], list[EpochReport]]:
    """Fits B on the whole training part, λ chosen on the validation carve-out when the
    spec leaves it at 0 (FIRST_L2 where there is no carve-out).

    Returns:
        (movierec.kinds.ease.WEIGHT_ARRAYS, one report per λ tried on validation).

    Raises:
        InvalidRequest: the catalogue has more than MAX_ITEMS items.
    """
    params = data.params
    catalog = data.catalog
    if catalog.num_items > MAX_ITEMS:
        raise InvalidRequest(
            f"kind ease inverts an item-item matrix and takes catalogues of at most"
            f" {MAX_ITEMS:,} items; this one has {catalog.num_items:,}: train kind dot"
        )
    l2 = float(params.l2)
    reports: list[EpochReport] = []
    if l2 == 0 and data.validation is not None:
        l2, reports = choose_l2(data.validation, params.low_rating_weight, on_epoch)
    elif l2 == 0:
        l2 = FIRST_L2
    b = item_item(gram(catalog, params.low_rating_weight), l2)
    weights = {
        "item_item": b,
        "l2": np.array(l2, dtype=np.float32),
        "genre_to_items": genre_to_items(catalog, params.low_rating_weight),
    }
    return weights, reports


def genre_to_items(catalog: Catalog, low_rating_weight: float) -> np.ndarray:
    """W, float32 [2G + 1, I + 1]: the ridge regression (GENRE_L2) of the training users'
    weighted rows on their genre profiles (movierec.kinds.ease.genre_profiles)."""
    profiles = genre_profiles(catalog)
    owners = np.repeat(np.arange(catalog.num_users + 1), np.diff(catalog.seen_indptr))
    weights = interaction_weights(catalog, low_rating_weight).astype(np.float64)
    # profilesᵀ X, one feature at a time over the interactions: X is never dense
    cross = np.stack(
        [
            np.bincount(
                catalog.seen_items,
                weights=profiles[owners, column] * weights,
                minlength=catalog.num_items + 1,
            )
            for column in range(profiles.shape[1])
        ]
    )
    known = profiles[1:]  # row 0 is the OOV user, who rated nothing
    penalised = known.T @ known + GENRE_L2 * np.eye(known.shape[1])
    result = np.linalg.solve(penalised, cross).astype(np.float32)
    result[:, 0] = 0.0
    return result


def choose_l2(
    validation: Catalog,
    low_rating_weight: float,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
) -> tuple[float, list[EpochReport]]:
    """The λ of best validation NDCG@10 on a doubling grid from FIRST_L2, and a report per
    λ tried (epoch = the try's number, val_ndcg its figure)."""
    matrix = gram(validation, low_rating_weight)
    reports: list[EpochReport] = []
    tried: dict[float, float] = {}
    rows = user_rows(validation, low_rating_weight, np.arange(validation.num_users + 1))

    def score(l2: float) -> float:
        started = time.perf_counter()
        b = item_item(matrix, l2)
        figures = evaluate_ranking(lambda users: rows[users] @ b, validation, VALIDATION_K)
        tried[l2] = figures[f"ndcg@{VALIDATION_K}"]
        report = EpochReport(
            epoch=len(reports) + 1,
            loss=0.0,
            val_rmse=0.0,
            seconds=time.perf_counter() - started,
            val_ndcg=tried[l2],
        )
        reports.append(report)
        on_epoch(report)
        return tried[l2]

    best = FIRST_L2
    score(best)
    for factor in (2.0, 0.5):
        while len(tried) < MAX_STEPS:
            step = best * factor
            if score(step) <= tried[best]:
                break
            best = step
        if best != FIRST_L2:
            break
    return best, reports

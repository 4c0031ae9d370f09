"""Fits a model for a TrainSpec, evaluates it on the test fold and publishes a version.

Imports TensorFlow; the trainer service runs this in a job process, never in the server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pathlib
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from movierec import __version__
from movierec.data.catalog_builder import build_catalog, with_held_out
from movierec.data.datasets import load_dataset
from movierec.data.splits import Split, make_split, random_split_rows
from movierec.errors import CorruptVersion, MovierecError
from movierec.kinds import get_kind
from movierec.kinds.base import RATING, Scorer
from movierec.kinds.evaluation import held_out_predictions, version_metrics
from movierec.kinds.ranking_context import timestamp_stats
from movierec.kinds.two_stage import (
    POPULARITY,
    check_source_in_store,
    same_catalogue,
    score_function,
)
from movierec.kinds.versions import load_version
from movierec.store.arrays import save_arrays
from movierec.store.catalog import CATALOG_FILE, Catalog, save_catalog
from movierec.store.model_store import KERAS_FILE, WEIGHTS_FILE, ModelStore
from movierec.store.vocab import IdVocabulary
from movierec.training import plots
from movierec.training.distributed import Cluster, join_cluster
from movierec.training.fit import TrainingData, fit_model, write_training_rows
from movierec.training.spec import EpochReport, TrainSpec

logger = logging.getLogger(__name__)

REPORT_K = 10
"""The cut-off of the ranking metrics a version stores in its manifest."""


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    """What a finished job produced (version 0: nothing published, as on a worker that
    is not the chief)."""

    version: int
    metrics: dict[str, float]
    epochs: list[EpochReport]


@dataclasses.dataclass(frozen=True)
class FittedModel:
    """A fitted model before publishing: the Keras model (None for a closed-form kind),
    its exported arrays, the numpy scorer serving will use, the catalogue and the epoch
    history.
    """

    model: object
    weights: dict[str, np.ndarray]
    scorer: Scorer
    catalog: Catalog
    epochs: list[EpochReport]


class PublishRefused(MovierecError):
    """The job's owner withdrew permission to publish (the job was cancelled)."""


def data_fingerprint(split: Split) -> str:
    """sha256 over the split's (user, item, rating, timestamp) rows, train then test."""
    digest = hashlib.sha256()
    for part in (split.train, split.test):
        columns = part[["user_id", "item_id", "rating", "timestamp"]]
        # The same bytes as the whole frame's float64 rows, a million rows at a time.
        for start in range(0, len(columns), _FINGERPRINT_ROWS):
            rows = columns.iloc[start : start + _FINGERPRINT_ROWS]
            digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()


_FINGERPRINT_ROWS = 1_000_000


def training_data(
    spec: TrainSpec, catalog: Catalog, split: Split, folder: str | os.PathLike
) -> TrainingData:
    """Carves the validation share out of the split's training part (the test part is
    never looked at), indexes both by the catalogue's rows and writes the rows to fit on
    into `folder` (movierec.training.fit.write_training_rows), counting what fitting
    needs of them besides in the same pass.
    """
    train = split.train
    users, _ = IdVocabulary(catalog.user_ids).lookup(train["user_id"].to_numpy())
    items, _ = IdVocabulary(catalog.item_ids).lookup(train["item_id"].to_numpy())
    ratings = train["rating"].to_numpy(dtype=np.float32)
    timestamps = train["timestamp"].to_numpy(dtype=np.int64)
    fraction = spec.hyperparameters.validation_fraction
    held = None
    if fraction > 0:
        # Split by position, as random_split would the frame, without a copy of the frame.
        kept, held_rows = random_split_rows(len(train), fraction, spec.seed)
        held = train.iloc[held_rows].reset_index(drop=True)
        users, items, ratings, timestamps = (c[kept] for c in (users, items, ratings, timestamps))
    validation = with_held_out(catalog, users, items, ratings, held) if held is not None else None
    data = TrainingData(
        spec=spec,
        catalog=catalog,
        rows=None,
        validation=validation,
        global_mean=float(ratings.mean()),
        item_counts=np.bincount(items, minlength=catalog.num_items + 1).astype(np.int64),
        timestamp_stats=timestamp_stats(timestamps),
    )
    rows = write_training_rows(folder, data, users, items, ratings, timestamps)
    return dataclasses.replace(data, rows=rows)


def fit(
    spec: TrainSpec,
    split: Split,
    catalog: Catalog,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
    strategy=None,
) -> FittedModel:
    """Fits the spec's kind for its objective on the split's training part (as one worker
    of `strategy` when given; see movierec.training.fit.fit_model), its rows in a
    temporary folder for the length of the fit."""
    with rows_folder() as folder:
        return fit_data(training_data(spec, catalog, split, folder), on_epoch, strategy)


def rows_folder(parent: str | os.PathLike | None = None) -> tempfile.TemporaryDirectory:
    """A temporary folder for a job's training rows in `parent` (default $TMPDIR),
    removed on exit."""
    return tempfile.TemporaryDirectory(prefix="movierec-rows-", dir=parent)


def fit_data(
    data: TrainingData,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
    strategy=None,
) -> FittedModel:
    """fit, from training data whose rows are written (training_data)."""
    spec, catalog = data.spec, data.catalog
    kind = get_kind(spec.kind)
    if kind.closed_form:
        model = None
        weights, reports = kind.training().fit(data, on_epoch)
    else:
        model, weights, reports = fit_model(data, on_epoch, strategy)
    manifest = {"objective": spec.objective, "kind_params": spec.to_dict()["kind_params"]}
    scorer = get_kind(spec.kind).serving().load_scorer(weights, catalog, manifest)
    return FittedModel(model, weights, scorer, catalog, reports)


def run_training(
    spec: TrainSpec,
    store: ModelStore,
    data_dir: str | os.PathLike | None = None,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
    staging_name: str | None = None,
    may_publish: Callable[[], bool] = lambda: True,
    job_id: str = "",
    cluster: Cluster | None = None,
    work_dir: str | os.PathLike | None = None,
) -> TrainingResult:
    """Loads data, fits, evaluates on the test part and publishes a new version.

    Args:
        spec: A validated spec (movierec.training.spec.build_train_spec).
        store: Where to publish.
        data_dir: Folder holding the dataset; default per movierec.data.datasets.locate_dataset.
        on_epoch: Called after every epoch.
        staging_name: Name of the hidden staging folder (so a killed job's can be removed).
        may_publish: Asked right before publishing; False abandons the job (cancelled).
        job_id: The trainer's job id, recorded in the manifest so that a trainer can tell
            a job that died after publishing from one that died before.
        cluster: Train as one worker of this cluster (movierec.training.distributed); only
            its chief evaluates and publishes, the others return version 0.
        work_dir: Where the training rows are written while fitting (a folder of their
            own, removed after); default $TMPDIR.

    Returns:
        The published version with its test metrics and epoch history.
    """
    strategy = join_cluster(cluster) if cluster is not None else None  # before any TF op
    dataset = load_dataset(spec.dataset, data_dir)
    split = make_split(dataset, spec.split, spec.test_fraction, spec.seed)
    dataset = dataset.without_ratings()  # the split holds a copy of every rating
    spec_dict = spec.to_dict()
    identity = {
        "kind_params": spec_dict["kind_params"],
        "split": split.name,
        "data_fingerprint": data_fingerprint(split),
    }
    check_source_in_store(store, identity, f"a {spec.kind} model")  # before hours of fitting
    started = time.perf_counter()
    num_train, num_test = len(split.train), len(split.test)
    with rows_folder(work_dir) as folder:
        data = training_data(spec, build_catalog(dataset, split), split, folder)
        # From here the ratings live in the catalogue and the row files only: at 25
        # million ratings the data frames would hold another GB through fitting.
        del dataset, split
        fitted = fit_data(data, on_epoch, strategy)
        del data
    if cluster is not None and not cluster.is_chief:
        return TrainingResult(0, {}, fitted.epochs)
    values, candidates_from = _test_metrics(fitted.scorer, store, identity)
    logger.info("trained %s in %.1fs: %s", spec.model_name, time.perf_counter() - started, values)

    artifacts = [plots.LOSS_PNG, plots.RATINGS_PNG, plots.ITEM_MAP_PNG]

    def write_files(folder: pathlib.Path) -> None:
        if fitted.model is not None:
            fitted.model.save(folder / KERAS_FILE)  # type: ignore[attr-defined]
        save_arrays(folder / WEIGHTS_FILE, fitted.weights)
        save_catalog(folder / CATALOG_FILE, fitted.catalog)
        draw_plots(folder, spec, fitted)

    manifest = {
        "kind": spec.kind,
        "objective": spec.objective,
        "kind_params": spec_dict["kind_params"],
        "hyperparameters": spec_dict["hyperparameters"],
        "spec": spec_dict,
        "dataset": spec.dataset,
        "split": identity["split"],
        "data_fingerprint": identity["data_fingerprint"],
        "metrics": values,
        "artifacts": artifacts,
        "num_train_ratings": num_train,
        "num_test_ratings": num_test,
        "epochs_run": len(fitted.epochs),
        "job_id": job_id,
        "workers": len(cluster.workers) if cluster is not None else 1,
        "movierec_version": __version__,
        "tensorflow_version": tf.__version__,
    }
    if candidates_from is not None:
        manifest["candidates_from"] = candidates_from
    if not may_publish():
        raise PublishRefused(f"{spec.model_name}: publishing was refused (job cancelled)")
    version = store.publish_version(spec.model_name, manifest, write_files, staging_name)
    return TrainingResult(version, values, fitted.epochs)


def _test_metrics(
    scorer: Scorer, store: ModelStore, identity: dict[str, Any]
) -> tuple[dict[str, float], dict[str, Any] | None]:
    """The new version's test metrics, and for a ranking version the candidate version
    they were measured with (movierec.kinds.two_stage): the newest of its candidate model."""
    source = scorer.candidate_model
    if source is None:
        return version_metrics(scorer, REPORT_K), None
    first = None
    version = 0
    if source != POPULARITY:
        version = store.latest_version(source)
        first = load_version(store, source, version).scorer
        if not same_catalogue(scorer, first):
            raise CorruptVersion(f"{source} version {version} indexes other users or items")
    score_fn = score_function(scorer, first, max(REPORT_K, scorer.num_candidates))
    values = version_metrics(scorer, REPORT_K, score_fn=score_fn)
    return values, {"model": source, "version": version}


def draw_plots(folder: pathlib.Path, spec: TrainSpec, fitted: FittedModel) -> None:
    """Draws the version's pictures into its folder (movierec.training.plots): loss per epoch,
    held-out true ratings against predicted ratings (relevance scores for retrieval
    versions), the item map."""
    title = f"{spec.model_name} ({spec.kind}, {spec.objective})"
    plots.draw_loss(folder / plots.LOSS_PNG, title, fitted.epochs)
    plots.draw_true_vs_predicted(
        folder / plots.RATINGS_PNG,
        title,
        fitted.catalog.test_ratings,
        held_out_predictions(fitted.scorer),
        spec.objective == RATING,
    )
    plots.draw_item_map(
        folder / plots.ITEM_MAP_PNG, title, fitted.catalog, fitted.scorer.item_vectors
    )

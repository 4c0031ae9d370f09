"""Fits a model for a TrainSpec, evaluates it on the test fold and publishes a version.

Imports TensorFlow; the trainer service runs this in a job process, never in the server.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import pathlib
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from movierec import __version__, metrics
from movierec.bundle import BUNDLE_FILE, build_dot_bundle, save_bundle
from movierec.datasets import load_dataset
from movierec.dot_model import build_dot_model, dot_weights, zero_oov_rows
from movierec.errors import MovierecError
from movierec.model_store import ModelStore
from movierec.splits import Split, make_split, random_split
from movierec.train_spec import EpochReport, TrainSpec
from movierec.vocab import IdVocabulary

logger = logging.getLogger(__name__)

KERAS_FILE = "model.keras"


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    """What a finished job produced."""

    version: int
    metrics: dict[str, float]
    epochs: list[EpochReport]


class PublishRefused(MovierecError):
    """The job's owner withdrew permission to publish (the job was cancelled)."""


class _EpochCallback(keras.callbacks.Callback):
    def __init__(self, on_epoch: Callable[[EpochReport], None]):
        super().__init__()
        self.on_epoch = on_epoch
        self.reports: list[EpochReport] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        report = EpochReport(
            epoch=epoch + 1,
            loss=float(logs.get("loss", np.nan)),
            val_rmse=float(logs.get("val_rmse", np.nan)),
            seconds=time.perf_counter() - self._started,
        )
        self.reports.append(report)
        self.on_epoch(report)


def _inputs(frame, users: IdVocabulary, items: IdVocabulary) -> dict[str, np.ndarray]:
    user_index, _ = users.lookup(frame["user_id"].to_numpy())
    item_index, _ = items.lookup(frame["item_id"].to_numpy())
    return {"user": user_index.astype(np.int32), "item": item_index.astype(np.int32)}


def _tf_dataset(frame, users, items, batch_size: int, shuffle_seed: int | None) -> tf.data.Dataset:
    data = tf.data.Dataset.from_tensor_slices(
        (_inputs(frame, users, items), frame["rating"].to_numpy(dtype=np.float32))
    )
    if shuffle_seed is not None:
        data = data.shuffle(len(frame), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def data_fingerprint(split: Split) -> str:
    """sha256 over the split's (user, item, rating, timestamp) rows, train then test."""
    digest = hashlib.sha256()
    for part in (split.train, split.test):
        digest.update(part[["user_id", "item_id", "rating", "timestamp"]].to_numpy().tobytes())
    return digest.hexdigest()


def fit_dot_model(
    spec: TrainSpec,
    split: Split,
    rating_scale: tuple[float, float],
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
) -> tuple[keras.Model, IdVocabulary, IdVocabulary, list[EpochReport]]:
    """Fits the dot model on the split's training part, with early stopping on a validation
    share carved from that training part (the test part is never looked at).

    Returns:
        (model with OOV rows zeroed, user vocabulary, item vocabulary, epoch reports).
    """
    params = spec.hyperparameters
    keras.utils.set_random_seed(spec.seed)
    if params.validation_fraction > 0:
        fit, validation = random_split(split.train, params.validation_fraction, spec.seed)
    else:
        fit, validation = split.train, None
    users = IdVocabulary(fit["user_id"].to_numpy())
    items = IdVocabulary(fit["item_id"].to_numpy())
    model = build_dot_model(
        num_users=len(users),
        num_items=len(items),
        embedding_dim=params.embedding_dim,
        l2=params.l2,
        output=params.output,
        rating_scale=rating_scale,
        global_mean=float(fit["rating"].mean()),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(params.learning_rate),
        loss="mse",
        metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
    )
    progress = _EpochCallback(on_epoch)
    callbacks: list[keras.callbacks.Callback] = [progress]
    validation_data = None
    if validation is not None:
        validation_data = _tf_dataset(validation, users, items, 8192, None)
        if params.patience > 0:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_rmse", patience=params.patience, restore_best_weights=True
                )
            )
    model.fit(
        _tf_dataset(fit, users, items, params.batch_size, spec.seed),
        validation_data=validation_data,
        epochs=params.epochs,
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=0,
    )
    zero_oov_rows(model)
    return model, users, items, progress.reports


def predict_ratings(model: keras.Model, frame, users, items) -> np.ndarray:
    """The Keras model's unclipped predictions for a ratings frame, float32 [n]."""
    return model.predict(_inputs(frame, users, items), batch_size=8192, verbose=0).reshape(-1)


def run_training(
    spec: TrainSpec,
    store: ModelStore,
    data_dir: str | os.PathLike | None = None,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
    staging_name: str | None = None,
    may_publish: Callable[[], bool] = lambda: True,
) -> TrainingResult:
    """Loads data, fits, evaluates on the test part and publishes a new version.

    Args:
        spec: A validated spec (movierec.train_spec.build_train_spec).
        store: Where to publish.
        data_dir: Folder holding the dataset; default per movierec.datasets.locate_dataset.
        on_epoch: Called after every epoch.
        staging_name: Name of the hidden staging folder (so a killed job's can be removed).
        may_publish: Asked right before publishing; False abandons the job (cancelled).

    Returns:
        The published version with its test metrics and epoch history.
    """
    dataset = load_dataset(spec.dataset, data_dir)
    split = make_split(dataset, spec.split, spec.test_fraction, spec.seed)
    started = time.perf_counter()
    model, users, items, reports = fit_dot_model(spec, split, dataset.rating_scale, on_epoch)
    low, high = dataset.rating_scale
    predicted = np.clip(predict_ratings(model, split.test, users, items), low, high)
    test_metrics = metrics.accuracy_metrics(split.test["rating"].to_numpy(), predicted)
    logger.info(
        "trained %s in %.1fs: %s", spec.model_name, time.perf_counter() - started, test_metrics
    )
    bundle = build_dot_bundle(
        dot_weights(model), spec.hyperparameters.output, dataset, split, users, items
    )

    def write_files(folder: pathlib.Path) -> None:
        model.save(folder / KERAS_FILE)
        save_bundle(folder / BUNDLE_FILE, bundle)

    manifest = {
        "kind": spec.kind,
        "spec": spec.to_dict(),
        "hyperparameters": dataclasses.asdict(spec.hyperparameters),
        "dataset": spec.dataset,
        "split": split.name,
        "data_fingerprint": data_fingerprint(split),
        "metrics": test_metrics,
        "num_train_ratings": len(split.train),
        "num_test_ratings": len(split.test),
        "epochs_run": len(reports),
        "movierec_version": __version__,
        "tensorflow_version": tf.__version__,
    }
    if not may_publish():
        raise PublishRefused(f"{spec.model_name}: publishing was refused (job cancelled)")
    version = store.publish_version(spec.model_name, manifest, write_files, staging_name)
    return TrainingResult(version, test_metrics, reports)

"""Training on several worker processes with tf.distribute.MultiWorkerMirroredStrategy
(imports TensorFlow; trainer job processes and `movierec train-worker` only).

Every worker runs the same program on the same data: each builds the same model inside the
strategy's scope, takes its share of every global batch (the strategy splits each batch of
`batch_size` rows between the workers), and the gradients are summed across workers at
every step, so that the run takes the steps one worker would take with the same global
batch. The workers compute the same validation figures from the same weights, so that they
stop at the same epoch; only the chief (worker 0) publishes.

Keras 3.15's `Model.fit` fails under this strategy (the first batch of a structured dataset
is reduced with a MEAN across workers to learn its shapes, and scalar logs are reduced along
an axis they do not have), so the workers train with the loop below instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from movierec.kinds import get_kind
from movierec.kinds.base import RATING
from movierec.kinds.evaluation import VALIDATION_K, evaluate_ranking
from movierec.training.fit import numpy_scorer, validation_rows
from movierec.training.spec import EpochReport


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The workers of one distributed job.

    Attributes:
        workers: host:port of every worker, the chief first.
        index: This process's position in `workers`.
        timeout_seconds: How long a collective (joining, or a step's gradient exchange)
            waits for the other workers before it fails, so that a dead worker fails the
            run instead of hanging it.
    """

    workers: tuple[str, ...]
    index: int
    timeout_seconds: float = 120.0

    @property
    def is_chief(self) -> bool:
        """Worker 0 exports and publishes."""
        return self.index == 0

    def tf_config(self) -> str:
        """The TF_CONFIG of this worker."""
        return json.dumps(
            {
                "cluster": {"worker": list(self.workers)},
                "task": {"type": "worker", "index": self.index},
            }
        )


def join_cluster(cluster: Cluster) -> tf.distribute.Strategy:
    """Sets TF_CONFIG and creates the strategy; call before TensorFlow runs any operation
    in this process (collective ops are configured at program start)."""
    os.environ["TF_CONFIG"] = cluster.tf_config()
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=cluster.timeout_seconds
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    _reclaim_sigterm()
    return strategy


def _reclaim_sigterm() -> None:
    """Gives SIGTERM back to Python's handler. The strategy's coordination service installs
    a C handler of its own (a preemption notifier movierec does not use), under which a
    terminated worker ran on and never cleaned up (movierec.training.worker)."""
    if threading.current_thread() is not threading.main_thread():
        return
    handler = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, handler if handler is not None else signal.SIG_DFL)


def _per_example(loss) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """Loss per example, [B], of a compiled loss (a name or a keras Loss)."""
    if isinstance(loss, keras.losses.Loss):
        function = loss.call
    else:
        function = keras.losses.get(loss)

    def per_example(truth, predicted):
        if len(predicted.shape) == 1 or predicted.shape[-1] == 1:  # one rating per example
            truth, predicted = tf.reshape(truth, [-1, 1]), tf.reshape(predicted, [-1, 1])
        values = function(tf.cast(truth, predicted.dtype), predicted)
        return tf.reshape(values, [-1])

    return per_example


def _validation(data, model: keras.Model) -> dict:
    """The objective's validation figure from the current weights, by the numpy scorer
    (what serving would answer): val_rmse for rating, val_ndcg (NDCG@10) for retrieval."""
    scorer = numpy_scorer(model, data, get_kind(data.spec.kind).training())
    validation = data.validation
    if data.spec.objective == RATING:
        users, items = validation_rows(validation)
        predicted = scorer.pair_scores(
            scorer.user_queries(users, validation.test_timestamps), items
        )
        error = predicted.astype(np.float64) - validation.test_ratings
        return {"val_rmse": float(np.sqrt(np.mean(error**2)))}
    figures = evaluate_ranking(
        lambda rows: scorer.scores(scorer.queries[rows]), validation, VALIDATION_K
    )
    return {"val_ndcg": figures[f"ndcg@{VALIDATION_K}"]}


def train_replicated(
    model: keras.Model,
    loss,
    train: tf.data.Dataset,
    data,
    strategy: tf.distribute.Strategy,
    on_epoch: Callable[[EpochReport], None],
) -> list[EpochReport]:
    """Fits a model built and compiled in `strategy`'s scope on this worker's share of
    `train`, with early stopping on the validation share (best weights restored) as
    movierec.training.fit.fit_model does. Every worker must call it with the same data.

    Returns:
        The epoch reports.
    """
    params = data.spec.hyperparameters
    per_example = _per_example(loss)
    optimizer = model.optimizer
    batches = strategy.experimental_distribute_dataset(train)

    @tf.function
    def step(batch):
        def replica_step(features, truth):
            with tf.GradientTape() as tape:
                output = model(features, training=True)
                value = tf.nn.compute_average_loss(per_example(truth, output))
                if model.losses:
                    value += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            gradients = tape.gradient(value, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            return value

        return strategy.reduce("SUM", strategy.run(replica_step, args=batch), axis=None)

    monitor = "val_rmse" if data.spec.objective == RATING else "val_ndcg"
    better = (lambda a, b: a < b) if monitor == "val_rmse" else (lambda a, b: a > b)
    best: tuple[float, list[np.ndarray]] | None = None
    waited = 0
    reports: list[EpochReport] = []
    for epoch in range(1, params.epochs + 1):
        started = time.perf_counter()
        total, steps = 0.0, 0
        for batch in batches:
            total += float(step(batch))
            steps += 1
        logs = _validation(data, model) if data.validation else {}
        report = EpochReport(
            epoch=epoch,
            loss=total / max(steps, 1),
            val_rmse=logs.get("val_rmse", 0.0),
            seconds=time.perf_counter() - started,
            val_ndcg=logs.get("val_ndcg", 0.0),
        )
        reports.append(report)
        on_epoch(report)
        if not logs or params.patience <= 0:
            continue
        value = logs[monitor]
        if best is None or better(value, best[0]):
            best, waited = (value, model.get_weights()), 0
        else:
            waited += 1
            if waited >= params.patience:
                break
    if best is not None:
        model.set_weights(best[1])
    return reports

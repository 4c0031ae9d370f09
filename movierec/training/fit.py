"""The Keras training loop every kind shares: data pipelines per objective, losses,
validation and early stopping (imports TensorFlow; trainer job processes only).

A kind's Keras half builds the model for an objective from a TrainingData and exports
its weights as the arrays its numpy half loads; everything else is here, written once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from movierec.errors import DatasetError
from movierec.kinds import get_kind
from movierec.kinds.base import RATING
from movierec.kinds.evaluation import VALIDATION_K, evaluate_ranking
from movierec.store.catalog import Catalog
from movierec.store.vocab import IdVocabulary
from movierec.training.row_files import (
    RowFiles,
    block_rows_for,
    read_batches,
    read_blocks,
    rebatched,
    write_rows,
)
from movierec.training.spec import EpochReport, Hyperparameters, TrainSpec


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """What a kind's Keras half builds from. Indices are inner (catalogue rows).

    The rows fitted on live in files (movierec.training.row_files), written by write_training_rows
    and read back batch by batch; what models and pipelines need of them besides is
    counted here in the same pass.

    Attributes:
        spec: The validated request.
        catalog: Catalogue of the whole training part (what serving will load).
        rows: The fitting rows on disk: a rating model's inputs and "rating", or a
            retrieval model's positives ("user", "item"); None before they are written.
        validation: Catalogue whose seen items are the fitted ratings and whose held-out
            ratings are the validation share; None without a validation share.
        global_mean: Mean fitted rating.
        item_counts: int64 [items + 1], fitted ratings per item row.
        timestamp_stats: float64 [4], mean, std, min and max of the fitted ratings' unix
            times (movierec.kinds.ranking_context.timestamp_stats).
    """

    spec: TrainSpec
    catalog: Catalog
    rows: RowFiles | None
    validation: Catalog | None
    global_mean: float
    item_counts: np.ndarray
    timestamp_stats: np.ndarray

    @property
    def params(self) -> Any:
        """The kind's hyperparameters."""
        return self.spec.kind_params


@keras.saving.register_keras_serializable(package="movierec")
class CandidateLogits(keras.layers.Layer):
    """Retrieval logits of each user against their candidates:
    logits[b, j] = (user[b] · items[b, j] + bias[b, j]) / temperature - log_q[b, j].

    Inputs: user [B, D], items [B, C, D], bias [B, C] (optional: three inputs mean no
    bias), log_q [B, C]. Output [B, C].
    """

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, inputs):
        """Computes the logits."""
        if len(inputs) == 3:
            user, items, log_q = inputs
            bias = 0.0
        else:
            user, items, bias, log_q = inputs
        dots = keras.ops.einsum("bd,bcd->bc", user, items)
        return (dots + bias) / self.temperature - log_q

    def get_config(self):
        """Config for saving."""
        return {**super().get_config(), "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="movierec")
class SharedNegatives(keras.layers.Layer):
    """Splits retrieval inputs drawn for negatives shared by the batch into the batch's
    positives and one pool of negatives: items [B, 1 + m] (positive first, then each row's
    m draws) and log_q [B, 1 + m] -> (positives [B], pool [P], pool log_q [P]), the pool
    being the first `size` draws of the batch in row order (fewer in a short last batch).
    """

    def __init__(self, size: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        """Returns (positives, pool, pool_log_q)."""
        items, log_q = inputs
        pool = tf.reshape(items[:, 1:], [-1])[: self.size]
        pool_log_q = tf.reshape(log_q[:, 1:], [-1])[: self.size]
        return items[:, 0], pool, pool_log_q

    def get_config(self):
        """Config for saving."""
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="movierec")
class SharedCandidateLogits(keras.layers.Layer):
    """Retrieval logits of each user against their own positive and a pool of negatives
    shared by the batch, as one matrix product:
    logits[b, 0] = (u_b · p_b + c_b) / temperature and
    logits[b, 1 + j] = (u_b · n_j + d_j) / temperature - log_q_j, or -1e9 where n_j is b's
    own positive (an accidental hit, common when the pool is a large share of the
    catalogue), so that it counts as neither.

    Inputs: user [B, D], positive [B, D], pool [P, D], positive ids [B], pool ids [P],
    pool log_q [P], and optionally positive bias [B] and pool bias [P]. Output [B, 1 + P].
    """

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, inputs):
        """Computes the logits."""
        user, positive, pool, positive_ids, pool_ids, pool_log_q = inputs[:6]
        user = user / self.temperature
        own = tf.reduce_sum(user * positive, axis=1, keepdims=True)
        offset = -pool_log_q
        if len(inputs) == 8:
            own = own + inputs[6][:, None] / self.temperature
            offset = offset + inputs[7] / self.temperature
        # The offsets ride in the product as one more column, so that no [B, P] pass
        # adds them.
        others = tf.matmul(
            tf.concat([user, tf.ones_like(user[:, :1])], axis=1),
            tf.concat([pool, offset[:, None]], axis=1),
            transpose_b=True,
        )
        hits = tf.where(tf.equal(positive_ids[:, None], pool_ids[None, :]))
        others = tf.tensor_scatter_nd_update(
            others, hits, tf.fill(tf.shape(hits)[:1], tf.constant(-1e9, others.dtype))
        )
        return tf.concat([own, others], axis=1)

    def get_config(self):
        """Config for saving."""
        return {**super().get_config(), "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="movierec")
class PositiveFirstSoftmax(keras.losses.Loss):
    """Softmax cross-entropy of retrieval logits [B, C] whose column 0 is the positive
    (the labels are not read: every batch's positive is first, and C may change with a
    batch's pool of shared negatives).
    """

    def __init__(self, name="positive_first_softmax", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        """Loss per example [B]."""
        del y_true
        return tf.reduce_logsumexp(y_pred, axis=1) - y_pred[:, 0]


@keras.saving.register_keras_serializable(package="movierec")
class PositiveFirstBinary(keras.losses.Loss):
    """Binary cross-entropy of retrieval logits [B, C]: column 0 the positive, the rest
    negatives (labels not read), averaged over the columns.
    """

    def __init__(self, name="positive_first_binary", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        """Loss per example [B]."""
        del y_true
        labels = tf.one_hot(tf.zeros(tf.shape(y_pred)[:1], tf.int32), tf.shape(y_pred)[1])
        values = tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=y_pred)
        return tf.reduce_mean(values, axis=1)


@keras.saving.register_keras_serializable(package="movierec")
class PerExampleL2(keras.layers.Layer):
    """Adds an L2 penalty on the rows a batch looked up, averaged over the batch, and
    passes its first input through. Rows shrink in proportion to how often they are used,
    as in classic SGD matrix factorisation (a penalty on whole tables would shrink rare
    users and items at every step).
    """

    def __init__(self, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = float(l2)

    def call(self, inputs, shared=None):
        """Adds the penalty over a list of [B, ...] row batches, and over `shared` rows
        [P, D] used by the whole batch (a pool of shared negatives: each counted once per
        batch); returns inputs[0]."""
        penalty = 0.0
        for rows in inputs:
            axes = tuple(range(1, len(rows.shape)))
            penalty = penalty + keras.ops.sum(keras.ops.square(rows), axis=axes)
        total = keras.ops.mean(penalty)
        if shared is not None:
            batch = keras.ops.cast(keras.ops.shape(inputs[0])[0], "float32")
            total = total + keras.ops.sum(keras.ops.square(shared)) / batch
        self.add_loss(self.l2 * total)
        return inputs[0]

    def get_config(self):
        """Config for saving."""
        return {**super().get_config(), "l2": self.l2}


@keras.saving.register_keras_serializable(package="movierec")
class ScaledBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy of ratings min-max scaled to [0, 1] (the third notebook's loss),
    for models that output ratings: both sides are scaled by (r - low) / (high - low) and
    the prediction clipped into (0, 1).
    """

    def __init__(self, low: float = 1.0, high: float = 5.0, name="scaled_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.low, self.high = float(low), float(high)

    def call(self, y_true, y_pred):
        """Mean BCE over the batch of scaled ratings."""
        span = self.high - self.low
        truth = (keras.ops.reshape(keras.ops.cast(y_true, "float32"), (-1, 1)) - self.low) / span
        predicted = keras.ops.clip(
            (keras.ops.reshape(y_pred, (-1, 1)) - self.low) / span, 1e-6, 1 - 1e-6
        )
        return keras.losses.binary_crossentropy(truth, predicted)

    def get_config(self):
        """Config for saving."""
        return {**super().get_config(), "low": self.low, "high": self.high}


def _optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    classes = {
        "adam": keras.optimizers.Adam,
        "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop,
        "adagrad": keras.optimizers.Adagrad,
    }
    return classes[name](learning_rate=learning_rate)


def _rating_loss(data: TrainingData):
    name = data.spec.hyperparameters.rating_loss
    if name == "bce":
        low, high = (float(x) for x in data.catalog.rating_scale)
        return ScaledBinaryCrossentropy(low, high)
    return name


def retrieval_inputs(num_candidates: int) -> dict[str, keras.KerasTensor]:
    """Keras inputs of a retrieval model: user [B], items [B, C] (positive first), log_q
    [B, C] (sampling correction, 0 for the positive).
    """
    return {
        "user": keras.Input(shape=(), dtype="int32", name="user"),
        "items": keras.Input(shape=(num_candidates,), dtype="int32", name="items"),
        "log_q": keras.Input(shape=(num_candidates,), dtype="float32", name="log_q"),
    }


def rating_inputs() -> dict[str, keras.KerasTensor]:
    """Keras inputs of a rating model: user [B] and item [B] rows."""
    return {
        "user": keras.Input(shape=(), dtype="int32", name="user"),
        "item": keras.Input(shape=(), dtype="int32", name="item"),
    }


class _Progress(keras.callbacks.Callback):
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
            val_rmse=float(logs.get("val_rmse", 0.0)),
            seconds=time.perf_counter() - self._started,
            val_ndcg=float(logs.get("val_ndcg", 0.0)),
            val_loss=float(logs.get("val_loss", 0.0)),
        )
        self.reports.append(report)
        self.on_epoch(report)


class _RetrievalValidation(keras.callbacks.Callback):
    """Puts NDCG@10 on the validation share into the epoch's logs as "val_ndcg", scored by
    the kind's numpy half from the weights as they are now (what serving would answer).
    """

    def __init__(self, data: TrainingData, kind_keras: ModuleType):
        super().__init__()
        self.data = data
        self.kind_keras = kind_keras

    def on_epoch_end(self, epoch, logs=None):
        scorer = numpy_scorer(self.model, self.data, self.kind_keras)
        assert self.data.validation is not None
        figures = evaluate_ranking(
            lambda users: scorer.scores(scorer.queries[users]), self.data.validation, VALIDATION_K
        )
        if logs is not None:
            logs["val_ndcg"] = figures[f"ndcg@{VALIDATION_K}"]


def numpy_scorer(model: keras.Model, data: TrainingData, kind_keras: ModuleType):
    """The kind's numpy scorer of the model's current weights over data.catalog."""
    weights = kind_keras.export_weights(model, data)
    manifest = {"objective": data.spec.objective, "kind_params": data.spec.to_dict()["kind_params"]}
    return get_kind(data.spec.kind).serving().load_scorer(weights, data.catalog, manifest)


def row_batches(
    columns: tuple[np.ndarray, ...], batch_size: int, seed: int | None
) -> tf.data.Dataset:
    """Batches of the rows of equal-length columns: each pass in a new random order drawn
    from `seed` (stateless, so a run is reproducible), or in row order when seed is None.

    One permutation of row indices per pass (4 bytes a row) and a gather per batch: memory
    is the columns plus one permutation, where a tf.data shuffle buffer over every row
    would hold each row as its own element (and spend per-element time on it).
    """
    tensors = tuple(tf.constant(column) for column in columns)
    rows = len(columns[0])
    whole, rest = divmod(rows, batch_size)

    def batches_of(order: tf.Tensor) -> tf.data.Dataset:
        full = tf.data.Dataset.from_tensor_slices(
            tf.reshape(order[: whole * batch_size], [whole, batch_size])
        )
        if rest:
            full = full.concatenate(tf.data.Dataset.from_tensors(order[whole * batch_size :]))
        return full

    if seed is None:
        orders = batches_of(tf.range(rows, dtype=tf.int32))
    else:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        orders = seeds.take(1).flat_map(
            lambda pass_seed: batches_of(
                tf.random.experimental.stateless_shuffle(
                    tf.range(rows, dtype=tf.int32), seed=pass_seed
                )
            )
        )
    return orders.map(
        lambda index: tuple(tf.gather(t, index) for t in tensors),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    ).apply(tf.data.experimental.assert_cardinality(whole + (1 if rest else 0)))


def rating_rows(
    data: TrainingData, kind_keras: ModuleType, users, items, timestamps
) -> dict[str, np.ndarray]:
    """A rating model's inputs for rows of (user, item, time): user and item, and what the
    kind's `rating_features` adds (context kinds: the time features)."""
    inputs = {"user": users.astype(np.int32), "item": items.astype(np.int32)}
    features = getattr(kind_keras, "rating_features", None)
    if features is not None:
        inputs.update(features(data, users, items, timestamps))
    return inputs


def _rating_dataset(
    inputs: dict[str, np.ndarray], ratings, batch_size: int, seed: int | None
) -> tf.data.Dataset:
    names = tuple(inputs)
    columns = (*inputs.values(), ratings.astype(np.float32))
    return (
        row_batches(columns, batch_size, seed)
        .map(lambda *row: (dict(zip(names, row[:-1], strict=True)), row[-1]))
        .prefetch(tf.data.AUTOTUNE)
    )


def write_training_rows(folder, data: TrainingData, users, items, ratings, timestamps) -> RowFiles:
    """Writes the rows the spec's objective fits on into `folder` (movierec.training.row_files), in
    an order drawn from the spec's seed, and returns them: for rating, the model's inputs
    (rating_rows) and "rating" of every fitted rating; for retrieval, "user" and "item"
    of the positives (ratings at or above min_positive_rating).

    Args:
        folder: An existing folder, kept until fitting ends.
        data: The training data the rows belong to (its rows are not read).
        users: Inner user rows [n] of the fitted ratings.
        items: Inner item rows [n].
        ratings: float [n].
        timestamps: int64 [n], unix seconds.

    Raises:
        DatasetError: no rating is a positive.
    """
    seed = data.spec.seed
    block_rows = block_rows_for(data.spec.hyperparameters.batch_size)
    if data.spec.objective == RATING:
        kind_keras = get_kind(data.spec.kind).training()

        def rating_columns(rows: np.ndarray) -> dict[str, np.ndarray]:
            inputs = rating_rows(data, kind_keras, users[rows], items[rows], timestamps[rows])
            return {**inputs, "rating": ratings[rows].astype(np.float32)}

        return write_rows(folder, len(users), rating_columns, seed, block_rows)
    threshold = data.spec.hyperparameters.min_positive_rating
    positives = np.flatnonzero(ratings >= threshold)
    if len(positives) == 0:
        raise DatasetError(f"no training rating is at or above min_positive_rating {threshold}")

    def positive_columns(rows: np.ndarray) -> dict[str, np.ndarray]:
        kept = positives[rows]
        return {"user": users[kept].astype(np.int32), "item": items[kept].astype(np.int32)}

    return write_rows(folder, len(positives), positive_columns, seed, block_rows)


def _fitting_rows(data: TrainingData) -> RowFiles:
    if data.rows is None:
        raise ValueError("the training rows have not been written (write_training_rows)")
    return data.rows


def _rating_batches(data: TrainingData) -> tf.data.Dataset:
    """The rating model's training batches, read from the rows on disk: (inputs, rating)."""
    rows = _fitting_rows(data)
    names = rows.names[:-1]
    return (
        read_batches(rows, data.spec.hyperparameters.batch_size, data.spec.seed)
        .map(lambda *row: (dict(zip(names, row[:-1], strict=True)), row[-1]))
        .prefetch(tf.data.AUTOTUNE)
    )


def retrieval_columns(params: Hyperparameters) -> int:
    """Candidate columns of a retrieval batch: the positive, then each row's draws (the
    row's own negatives, or its share of the batch's pool, enough for every worker's
    share of a batch to fill a pool of num_negatives)."""
    if params.negative_sharing != "batch":
        return 1 + params.num_negatives
    rows = max(1, params.batch_size // params.workers)
    return 1 + -(-params.num_negatives // rows)


def _retrieval_dataset(data: TrainingData) -> tf.data.Dataset:
    """Batches of the positives on disk (write_training_rows), each with its sampled
    negatives drawn from stateless generators seeded by the spec's seed, so that a run is
    reproducible whatever else the process has trained before. Features: user [B], items
    [B, C] (positive first, C = retrieval_columns) and log_q [B, C]; labels [B, 1] are
    unused (the losses know the positive is first).

    Negatives are drawn per block of rows before the blocks are cut into batches, so that
    the workers of a distributed job, each keeping its share of every batch, draw what
    one worker would.
    """
    params = data.spec.hyperparameters
    num_items = data.catalog.num_items
    negatives = params.num_negatives
    if params.negative_sampling == "popularity":
        counts = data.item_counts[1:].astype(np.float64)
        q = (counts + 1.0) / (counts + 1.0).sum()
    else:
        q = np.full(num_items, 1.0 / num_items)
    logits = tf.constant(np.log(q)[None, :], dtype=tf.float32)
    log_kq = tf.constant(np.log(negatives * q), dtype=tf.float32)
    uniform = params.negative_sampling == "uniform"
    correct = params.retrieval_loss == "softmax" and not uniform
    draws = retrieval_columns(params) - 1
    seed = data.spec.seed

    def add_negatives(positives, block_seed):
        users, items = positives
        rows = tf.shape(users)[0]
        if uniform:
            sampled = tf.random.stateless_uniform(
                [rows, draws], block_seed, 0, num_items, dtype=tf.int32
            )
        else:
            sampled = tf.random.stateless_categorical(logits, rows * draws, block_seed)
            sampled = tf.reshape(tf.cast(sampled, tf.int32), [rows, draws])
        candidates = tf.concat([items[:, None], sampled + 1], axis=1)
        log_q = tf.concat([tf.zeros([rows, 1]), tf.gather(log_kq, sampled)], axis=1)
        if not correct:
            log_q = tf.zeros_like(log_q)
        return {"user": users, "items": candidates, "log_q": log_q}, tf.zeros([rows, 1])

    rows = _fitting_rows(data)
    seeds = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True).batch(2)
    blocks = tf.data.Dataset.zip((read_blocks(rows, seed), seeds)).map(
        add_negatives, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return rebatched(blocks, rows.count, params.batch_size).prefetch(tf.data.AUTOTUNE)


def fit_model(
    data: TrainingData,
    on_epoch: Callable[[EpochReport], None] = lambda report: None,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.Model, dict[str, np.ndarray], list[EpochReport]]:
    """Builds the kind's model for the spec's objective, fits it with early stopping on
    the validation share (RMSE for rating, NDCG@10 for retrieval, best weights restored)
    and exports its weights.

    Args:
        data: What to fit on.
        on_epoch: Called after every epoch.
        strategy: A MultiWorkerMirroredStrategy (movierec.training.distributed) to fit as
            one of several workers; None fits in this process alone.

    Returns:
        (the Keras model, the arrays of the kind's numpy half, the epoch reports).
    """
    spec = data.spec
    params = spec.hyperparameters
    kind_keras = get_kind(spec.kind).training()
    keras.utils.set_random_seed(spec.seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model, loss, train = _compiled_model(data, kind_keras)
        if strategy is not None:
            from movierec.training.distributed import train_replicated

            reports = train_replicated(model, loss, train, data, strategy, on_epoch)
            return model, kind_keras.export_weights(model, data), reports
    progress = _Progress(on_epoch)
    callbacks: list[keras.callbacks.Callback] = []
    validation_data = None
    if spec.objective == RATING:
        if data.validation is not None:
            users, items = validation_rows(data.validation)
            inputs = rating_rows(data, kind_keras, users, items, data.validation.test_timestamps)
            validation_data = _rating_dataset(inputs, data.validation.test_ratings, 8192, None)
        monitor, mode = "val_rmse", "min"
    else:
        if data.validation is not None:
            callbacks.append(_RetrievalValidation(data, kind_keras))
        monitor, mode = "val_ndcg", "max"
    callbacks.append(progress)
    if data.validation is not None and params.patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode=mode, patience=params.patience, restore_best_weights=True
            )
        )
    model.fit(
        train,
        validation_data=validation_data,
        epochs=params.epochs,
        callbacks=callbacks,
        shuffle=False,  # the tf.data pipeline shuffles
        verbose=0,
    )
    return model, kind_keras.export_weights(model, data), progress.reports


def _compiled_model(data: TrainingData, kind_keras: ModuleType):
    """(the kind's model for the objective, compiled; its loss; the training batches)."""
    params = data.spec.hyperparameters
    optimizer = _optimizer(params.optimizer, params.learning_rate)
    if data.spec.objective == RATING:
        model = kind_keras.build_rating_model(data)
        loss = _rating_loss(data)
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
        )
        return model, loss, _rating_batches(data)
    model = kind_keras.build_retrieval_model(data, retrieval_columns(params))
    loss = PositiveFirstSoftmax() if params.retrieval_loss == "softmax" else PositiveFirstBinary()
    model.compile(optimizer=optimizer, loss=loss)
    return model, loss, _retrieval_dataset(data)


def validation_rows(validation: Catalog) -> tuple[np.ndarray, np.ndarray]:
    """Inner (user, item) rows of a validation catalogue's held-out ratings."""
    users, _ = IdVocabulary(validation.user_ids).lookup(validation.test_user_ids)
    items, _ = IdVocabulary(validation.item_ids).lookup(validation.test_item_ids)
    return users, items

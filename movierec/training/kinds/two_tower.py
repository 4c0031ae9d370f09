"""Kind "two_tower", Keras half: user and item towers over standardised features, for
either objective (imports TensorFlow).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from movierec.kinds.two_tower import (
    item_feature_matrix,
    scaler_of,
    standardise,
    user_features_of,
    uses_demographics,
)
from movierec.training.fit import (
    CandidateLogits,
    SharedCandidateLogits,
    SharedNegatives,
    TrainingData,
    rating_inputs,
    retrieval_inputs,
)


def _features(data: TrainingData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardised user and item feature tables and the user scaler (mean, std)."""
    demographics = uses_demographics(data.catalog, data.spec.to_dict()["kind_params"])
    users, _ = user_features_of(data.catalog, demographics)
    user_mean, user_std = scaler_of(users[1:])
    items = item_feature_matrix(data.catalog)
    item_mean, item_std = scaler_of(items[1:])
    return (
        standardise(users, user_mean, user_std),
        standardise(items, item_mean, item_std),
        user_mean,
        user_std,
    )


def _lookup(table: np.ndarray, name: str) -> keras.layers.Embedding:
    """A frozen table of feature rows, so the model takes row indices. The rows are
    assigned as weights, not given as a Constant initializer, which a saved model's
    config would hold as JSON, slow to write and read at many users."""
    layer = keras.layers.Embedding(table.shape[0], table.shape[1], trainable=False, name=name)
    layer.build((None,))
    layer.embeddings.assign(table.astype(np.float32))
    return layer


def _tower(prefix: str, data: TrainingData) -> list[keras.layers.Layer]:
    params = data.params
    regularizer = keras.regularizers.L2(params.l2) if params.l2 > 0 else None
    last = len(params.layers) - 1
    return [
        keras.layers.Dense(
            width,
            activation="relu" if depth < last else None,
            kernel_regularizer=regularizer,
            name=f"{prefix}_dense_{depth}",
        )
        for depth, width in enumerate(params.layers)
    ] + [keras.layers.UnitNormalization(axis=-1, name=f"{prefix}_normalize")]


def _apply(layers: list[keras.layers.Layer], x):
    for layer in layers:
        x = layer(x)
    return x


def _towers(data: TrainingData):
    users, items, _, _ = _features(data)
    return (
        _lookup(users, "user_features"),
        _lookup(items, "item_features"),
        _tower("user", data),
        _tower("item", data),
    )


def build_rating_model(data: TrainingData) -> keras.Model:
    """Rating = lo + (cos(u, i) + 1) / 2 * (hi - lo), trained with MSE on ratings (the
    notebook's MinMaxScaler(-1, 1) target, undone inside the model).

    Returns:
        A model taking {"user": int [B], "item": int [B]} rows, returning float32 [B, 1].
    """
    inputs = rating_inputs()
    user_table, item_table, user_tower, item_tower = _towers(data)
    user = _apply(user_tower, user_table(inputs["user"]))
    item = _apply(item_tower, item_table(inputs["item"]))
    cosine = keras.layers.Dot(axes=1, name="cosine")([user, item])
    low, high = (float(x) for x in data.catalog.rating_scale)
    rating = keras.layers.Rescaling(
        (high - low) / 2.0, offset=low + (high - low) / 2.0, name="rating"
    )(cosine)
    return keras.Model(inputs, rating, name="two_tower_rating")


@keras.saving.register_keras_serializable(package="movierec")
class UniqueRows(keras.layers.Layer):
    """The distinct ids of a batch of candidates and where each candidate's id is in them:
    ids [B, C] -> (unique [U], position [B, C]), so that the item tower runs once per
    distinct item rather than once per candidate."""

    def call(self, ids):
        """Splits ids into (unique, position)."""
        unique, position = tf.unique(tf.reshape(ids, [-1]))
        return unique, tf.reshape(position, tf.shape(ids))


@keras.saving.register_keras_serializable(package="movierec")
class GatherRows(keras.layers.Layer):
    """rows [U, D] gathered at position [B, C] -> [B, C, D]."""

    def call(self, inputs):
        """Gathers."""
        rows, position = inputs
        return tf.gather(rows, position)


def build_retrieval_model(data: TrainingData, num_candidates: int) -> keras.Model:
    """Logits cos(u, i) / temperature of each user against their candidates. The item
    tower runs on the batch's distinct candidates only: with 17 candidates per example a
    batch of 1,024 holds at most 1,682 distinct ml-100k items. With negative_sharing
    "batch" it runs on the batch's positives and its pool of num_negatives, and the logits
    are one matrix product (movierec.training.fit.SharedCandidateLogits).

    Returns:
        A model taking movierec.training.fit.retrieval_inputs, returning [B, C].
    """
    inputs = retrieval_inputs(num_candidates)
    user_table, item_table, user_tower, item_tower = _towers(data)
    user = _apply(user_tower, user_table(inputs["user"]))
    if data.spec.hyperparameters.negative_sharing == "batch":
        positives, pool, pool_log_q = SharedNegatives(
            data.spec.hyperparameters.num_negatives, name="shared_negatives"
        )([inputs["items"], inputs["log_q"]])
        positive = _apply(item_tower, item_table(positives))
        negatives = _apply(item_tower, item_table(pool))
        logits = SharedCandidateLogits(data.params.temperature, name="logits")(
            [user, positive, negatives, positives, pool, pool_log_q]
        )
        return keras.Model(inputs, logits, name="two_tower_retrieval")
    unique, position = UniqueRows(name="unique_items")(inputs["items"])
    distinct = _apply(item_tower, item_table(unique))
    items = GatherRows(name="candidate_vectors")([distinct, position])
    logits = CandidateLogits(data.params.temperature, name="logits")([user, items, inputs["log_q"]])
    return keras.Model(inputs, logits, name="two_tower_retrieval")


def export_weights(model: keras.Model, data: TrainingData) -> dict[str, np.ndarray]:
    """The user tower's kernels and biases ("user_kernel_<n>", "user_bias_<n>"), the user
    scaler, and every item's vector from the item tower ("item_vectors" [I + 1, D]).
    """
    _, item_rows, user_mean, user_std = _features(data)
    weights: dict[str, np.ndarray] = {"user_feature_mean": user_mean, "user_feature_std": user_std}
    for depth in range(len(data.params.layers)):
        kernel, bias = model.get_layer(f"user_dense_{depth}").get_weights()
        weights[f"user_kernel_{depth}"] = np.asarray(kernel, np.float32)
        weights[f"user_bias_{depth}"] = np.asarray(bias, np.float32)
    item_vectors = item_rows
    for depth in range(len(data.params.layers)):
        kernel, bias = model.get_layer(f"item_dense_{depth}").get_weights()
        item_vectors = item_vectors @ kernel + bias
        if depth < len(data.params.layers) - 1:
            item_vectors = np.maximum(item_vectors, 0.0)
    norms = np.sqrt(np.maximum((item_vectors**2).sum(axis=1, keepdims=True), 1e-12))
    weights["item_vectors"] = (item_vectors / norms).astype(np.float32)
    weights["item_vectors"][0] = 0.0
    return weights

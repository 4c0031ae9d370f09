"""Kind "dot", Keras half: the notebooks' biased dot-product model, for either objective
(imports TensorFlow).
"""

from __future__ import annotations

import keras
import numpy as np

from movierec.store.vocab import OOV_INDEX
from movierec.training.fit import (
    CandidateLogits,
    PerExampleL2,
    SharedCandidateLogits,
    SharedNegatives,
    TrainingData,
    rating_inputs,
    retrieval_inputs,
)

_TABLES = ("user_embedding", "item_embedding", "user_bias", "item_bias")


@keras.saving.register_keras_serializable(package="movierec")
class GlobalBias(keras.layers.Layer):
    """Adds one trainable scalar to its input, initialised to `initial`."""

    def __init__(self, initial: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.initial = float(initial)

    def build(self, input_shape):
        """Creates the scalar weight."""
        self.bias = self.add_weight(
            name="bias", shape=(), initializer=keras.initializers.Constant(self.initial)
        )

    def call(self, inputs):
        """Returns the inputs plus the bias, any shape."""
        return inputs + self.bias

    def get_config(self):
        """Config for saving."""
        return {**super().get_config(), "initial": self.initial}


def _tables(data: TrainingData) -> dict[str, keras.layers.Embedding]:
    dim = data.params.embedding_dim
    users, items = data.catalog.num_users + 1, data.catalog.num_items + 1
    return {
        "user_embedding": keras.layers.Embedding(
            users, dim, embeddings_initializer="he_normal", name="user_embedding"
        ),
        "item_embedding": keras.layers.Embedding(
            items, dim, embeddings_initializer="he_normal", name="item_embedding"
        ),
        "user_bias": keras.layers.Embedding(
            users, 1, embeddings_initializer="zeros", name="user_bias"
        ),
        "item_bias": keras.layers.Embedding(
            items, 1, embeddings_initializer="zeros", name="item_bias"
        ),
    }


def build_rating_model(data: TrainingData) -> keras.Model:
    """Biased matrix factorisation: out(P[u] · Q[i] + b_u + b_i + g).

    "linear" output: g starts at the training mean and the output is the rating;
    "sigmoid": the notebooks' sigmoid over min-max scaled ratings, rescaled inside the
    model to the rating scale. The per-example L2 penalty covers the looked-up embedding
    rows only: penalising the biases as well raised u1 test RMSE from 0.9220 to 0.9244.

    Returns:
        A model taking {"user": int [B], "item": int [B]} rows and returning ratings
        float32 [B, 1].
    """
    inputs = rating_inputs()
    tables = _tables(data)
    user_vector = tables["user_embedding"](inputs["user"])
    item_vector = tables["item_embedding"](inputs["item"])
    user_bias = tables["user_bias"](inputs["user"])
    item_bias = tables["item_bias"](inputs["item"])
    if data.params.l2 > 0:
        user_vector = PerExampleL2(data.params.l2, name="l2_penalty")([user_vector, item_vector])
    dot = keras.layers.Dot(axes=1, name="dot")([user_vector, item_vector])
    raw = keras.layers.Add(name="sum")([dot, user_bias, item_bias])
    low, high = (float(x) for x in data.catalog.rating_scale)
    if data.params.output == "sigmoid":
        raw = GlobalBias(0.0, name="global_bias")(raw)
        scaled = keras.layers.Activation("sigmoid", name="sigmoid")(raw)
        rating = keras.layers.Rescaling(high - low, offset=low, name="rating")(scaled)
    else:
        rating = GlobalBias(data.global_mean, name="global_bias")(raw)
    return keras.Model(inputs, rating, name="dot_rating")


def build_retrieval_model(data: TrainingData, num_candidates: int) -> keras.Model:
    """Logits P[u] · Q[i] + b_i of each user against their candidates (positive first):
    the row's own negatives, or with negative_sharing "batch" the batch's pool of
    num_negatives (movierec.training.fit.SharedCandidateLogits).

    Returns:
        A model taking movierec.training.fit.retrieval_inputs and returning float32
        [B, num_candidates], or [B, 1 + pool] with a shared pool.
    """
    inputs = retrieval_inputs(num_candidates)
    tables = _tables(data)
    user_vector = tables["user_embedding"](inputs["user"])
    if data.spec.hyperparameters.negative_sharing == "batch":
        return _shared_retrieval_model(data, inputs, tables, user_vector)
    item_vectors = tables["item_embedding"](inputs["items"])
    item_bias = tables["item_bias"](inputs["items"])
    if data.params.l2 > 0:
        user_vector = PerExampleL2(data.params.l2, name="l2_penalty")([user_vector, item_vectors])
    bias = keras.layers.Reshape((num_candidates,), name="candidate_bias")(item_bias)
    logits = CandidateLogits(name="logits")([user_vector, item_vectors, bias, inputs["log_q"]])
    return keras.Model(inputs, logits, name="dot_retrieval")


def _shared_retrieval_model(data: TrainingData, inputs, tables, user_vector) -> keras.Model:
    size = data.spec.hyperparameters.num_negatives
    positives, pool, pool_log_q = SharedNegatives(size, name="shared_negatives")(
        [inputs["items"], inputs["log_q"]]
    )
    positive_vector = tables["item_embedding"](positives)
    pool_vectors = tables["item_embedding"](pool)
    if data.params.l2 > 0:
        user_vector = PerExampleL2(data.params.l2, name="l2_penalty")(
            [user_vector, positive_vector], shared=pool_vectors
        )
    positive_bias = keras.layers.Reshape((), name="positive_bias")(tables["item_bias"](positives))
    pool_bias = keras.ops.reshape(tables["item_bias"](pool), (-1,))
    logits = SharedCandidateLogits(name="logits")(
        [user_vector, positive_vector, pool_vectors, positives, pool, pool_log_q]
        + [positive_bias, pool_bias]
    )
    return keras.Model(inputs, logits, name="dot_retrieval")


def export_weights(model: keras.Model, data: TrainingData) -> dict[str, np.ndarray]:
    """Zeroes the model's OOV rows (ids unseen in training then score from the remaining
    terms; they are never trained) and returns movierec.kinds.dot.WEIGHT_ARRAYS.
    """
    del data
    names = {layer.name for layer in model.layers}
    tables = {}
    for name in _TABLES:
        if name in names:
            layer = model.get_layer(name)
            table = np.array(layer.get_weights()[0], dtype=np.float32)
            table[OOV_INDEX] = 0.0
            layer.set_weights([table])
            tables[name] = table
    users = tables["user_embedding"]
    global_bias = (
        np.asarray(model.get_layer("global_bias").get_weights()[0], dtype=np.float32)
        if "global_bias" in names
        else np.float32(0.0)
    )
    return {
        "user_embeddings": users,
        "item_embeddings": tables["item_embedding"],
        "user_bias": tables.get("user_bias", np.zeros((len(users), 1), np.float32))[:, 0],
        "item_bias": tables["item_bias"][:, 0],
        "global_bias": np.asarray(global_bias, dtype=np.float32).reshape(()),
    }

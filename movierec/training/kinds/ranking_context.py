"""Kind "ranking_context", Keras half: the TensorFlow Recommenders notebook's enriched
ranking model, with time-bucket, standardised-time and title-token features (imports
TensorFlow). Rating objective only.
"""

from __future__ import annotations

import keras
import numpy as np

from movierec.kinds.ranking_context import time_features, time_scale, title_tokens
from movierec.training.fit import TrainingData, rating_inputs
from movierec.training.kinds import ranking as ranking_keras


@keras.saving.register_keras_serializable(package="movierec")
class TitleVectors(keras.layers.Layer):
    """The mean embedding of an item's title tokens: a fixed [items, tokens] table of
    token ids (0 = padding) and a trainable [vocabulary + 1, dim] embedding table."""

    def __init__(self, num_items: int, num_tokens: int, vocabulary: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.num_items, self.num_tokens = int(num_items), int(num_tokens)
        self.vocabulary, self.dim = int(vocabulary), int(dim)

    def build(self, input_shape):
        """Creates the token table (set by the caller) and the token embeddings."""
        self.tokens = self.add_weight(
            name="tokens",
            shape=(self.num_items, self.num_tokens),
            dtype="int32",
            initializer="zeros",
            trainable=False,
        )
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocabulary + 1, self.dim), initializer="uniform"
        )

    def call(self, items):
        """Title vectors [B, dim] of item rows [B]."""
        ids = keras.ops.take(self.tokens, items, axis=0)
        vectors = keras.ops.take(self.embeddings, ids, axis=0)
        mask = keras.ops.expand_dims(keras.ops.cast(ids > 0, vectors.dtype), -1)
        count = keras.ops.maximum(keras.ops.sum(mask, axis=1), 1.0)
        return keras.ops.sum(vectors * mask, axis=1) / count

    def get_config(self):
        """Config for saving."""
        return {
            **super().get_config(),
            "num_items": self.num_items,
            "num_tokens": self.num_tokens,
            "vocabulary": self.vocabulary,
            "dim": self.dim,
        }


def _scale(data: TrainingData) -> tuple[np.ndarray, np.ndarray]:
    return time_scale(data.timestamp_stats, data.params.time_buckets)


def rating_features(
    data: TrainingData, users: np.ndarray, items: np.ndarray, timestamps: np.ndarray
) -> dict[str, np.ndarray]:
    """The model's inputs besides user and item for rating rows: "bucket" and "time",
    computed from the fitted ratings' period as serving computes them."""
    del users, items
    boundaries, stats = _scale(data)
    bucket, standardised = time_features(timestamps, boundaries, stats)
    return {"bucket": bucket, "time": standardised}


def build_rating_model(data: TrainingData) -> keras.Model:
    """[user, item, title, time bucket, standardised time] through the ranking head.

    Returns:
        A model taking {"user", "item", "bucket": int [B], "time": float [B]} and
        returning ratings float32 [B, 1].
    """
    params = data.params
    dim = params.embedding_dim
    inputs = {
        **rating_inputs(),
        "bucket": keras.Input(shape=(), dtype="int32", name="bucket"),
        "time": keras.Input(shape=(), dtype="float32", name="time"),
    }
    user_vector, item_vector = ranking_keras.embeddings(inputs, data)
    items = data.catalog.num_items + 1
    tokens, vocabulary = title_tokens(data.catalog.item_titles)
    titles = TitleVectors(items, tokens.shape[1], len(vocabulary), dim, name="title_vectors")
    title_vector = titles(inputs["item"])
    titles.tokens.assign(tokens)
    bucket_vector = keras.layers.Embedding(params.time_buckets, dim, name="bucket_embedding")(
        inputs["bucket"]
    )
    time = keras.layers.Reshape((1,), name="time_column")(inputs["time"])
    features = keras.layers.Concatenate(name="features")(
        [user_vector, item_vector, title_vector, bucket_vector, time]
    )
    rating = ranking_keras.head(features, data)
    return keras.Model(inputs, rating, name="ranking_context_rating")


build_retrieval_model = ranking_keras.build_retrieval_model


def export_weights(model: keras.Model, data: TrainingData) -> dict[str, np.ndarray]:
    """Zeroes the OOV embedding rows and returns the arrays
    movierec.kinds.ranking_context loads, the title vectors resolved here."""
    weights = ranking_keras.export_weights(model, data)
    titles = model.get_layer("title_vectors")
    weights["title_vectors"] = np.asarray(
        titles(np.arange(data.catalog.num_items + 1, dtype=np.int32)), dtype=np.float32
    )
    weights["bucket_embeddings"] = np.asarray(
        model.get_layer("bucket_embedding").get_weights()[0], dtype=np.float32
    )
    boundaries, stats = _scale(data)
    weights["time_boundaries"], weights["time_stats"] = boundaries, stats
    return weights

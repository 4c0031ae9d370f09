"""Kind "ranking", Keras half: the TensorFlow Recommenders notebook's ranking model
(imports TensorFlow). Rating objective only.
"""

from __future__ import annotations

import keras
import numpy as np

from movierec.store.vocab import OOV_INDEX
from movierec.training.fit import PerExampleL2, TrainingData, rating_inputs


def build_rating_model(data: TrainingData) -> keras.Model:
    """Embeddings of the user and the item, concatenated, through ReLU layers
    (`layers`, the notebook's 64) to one linear output, the rating; the output's bias
    starts at the training mean.

    Returns:
        A model taking {"user": int [B], "item": int [B]} rows and returning ratings
        float32 [B, 1].
    """
    inputs = rating_inputs()
    user_vector, item_vector = embeddings(inputs, data)
    features = keras.layers.Concatenate(name="pair")([user_vector, item_vector])
    return keras.Model(inputs, head(features, data), name=f"{data.spec.kind}_rating")


def embeddings(inputs: dict, data: TrainingData) -> tuple:
    """The user and item embeddings of the rows in `inputs`, with the per-example L2
    penalty when `l2` > 0."""
    params = data.params
    users, items = data.catalog.num_users + 1, data.catalog.num_items + 1
    user_vector = keras.layers.Embedding(users, params.embedding_dim, name="user_embedding")(
        inputs["user"]
    )
    item_vector = keras.layers.Embedding(items, params.embedding_dim, name="item_embedding")(
        inputs["item"]
    )
    if params.l2 > 0:
        user_vector = PerExampleL2(params.l2, name="l2_penalty")([user_vector, item_vector])
    return user_vector, item_vector


def head(features, data: TrainingData):
    """The ranking head over concatenated features: ReLU layers `hidden_<n>`, then the
    one-unit output `rating` whose bias starts at the training mean."""
    hidden = features
    for n, width in enumerate(data.params.layers):
        hidden = keras.layers.Dense(width, activation="relu", name=f"hidden_{n}")(hidden)
    return keras.layers.Dense(
        1, bias_initializer=keras.initializers.Constant(data.global_mean), name="rating"
    )(hidden)


def build_retrieval_model(data: TrainingData, num_candidates: int) -> keras.Model:
    """Never called: the registry allows ranking kinds the rating objective only."""
    raise ValueError("ranking kinds train the rating objective only")


def export_weights(model: keras.Model, data: TrainingData) -> dict[str, np.ndarray]:
    """Zeroes the OOV embedding rows (never trained; unknown users get the fallback) and
    returns the arrays movierec.kinds.ranking loads."""
    weights: dict[str, np.ndarray] = {}
    for table in ("user_embedding", "item_embedding"):
        layer = model.get_layer(table)
        rows = np.array(layer.get_weights()[0], dtype=np.float32)
        rows[OOV_INDEX] = 0.0
        layer.set_weights([rows])
        weights[f"{table}s"] = rows
    for n in range(len(data.params.layers)):
        kernel, bias = model.get_layer(f"hidden_{n}").get_weights()
        weights[f"hidden_kernel_{n}"] = np.asarray(kernel, dtype=np.float32)
        weights[f"hidden_bias_{n}"] = np.asarray(bias, dtype=np.float32)
    kernel, bias = model.get_layer("rating").get_weights()
    weights["output_kernel"] = np.asarray(kernel, dtype=np.float32).reshape(-1)
    weights["output_bias"] = np.asarray(bias, dtype=np.float32).reshape(-1)
    return weights

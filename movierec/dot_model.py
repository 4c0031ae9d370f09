"""The biased dot-product Keras model of the notebooks (imports TensorFlow)."""

from __future__ import annotations

import keras
import numpy as np

from movierec.vocab import OOV_INDEX


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

    def call(self, inputs):
        """Adds the penalty over a list of [B, width] row batches; returns inputs[0]."""
        penalty = sum(keras.ops.sum(keras.ops.square(rows), axis=-1) for rows in inputs)
        self.add_loss(self.l2 * keras.ops.mean(penalty))
        return inputs[0]

    def get_config(self):
        """Config for saving."""
        return {**super().get_config(), "l2": self.l2}


def build_dot_model(
    num_users: int,
    num_items: int,
    embedding_dim: int,
    l2: float,
    output: str,
    rating_scale: tuple[float, float],
    global_mean: float,
) -> keras.Model:
    """Biased matrix factorisation: out(P[u] · Q[i] + b_u + b_i + g).

    Args:
        num_users: Rows of the user tables, including the OOV row 0.
        num_items: Rows of the item tables, including the OOV row 0.
        embedding_dim: Width D of the embeddings.
        l2: Per-example L2 penalty on the looked-up embeddings and biases.
        output: "linear": g starts at the training mean and the output is the rating;
            "sigmoid": the notebooks' sigmoid over min-max scaled ratings, rescaled to the
            rating scale so that the model always outputs ratings.
        rating_scale: (lowest, highest) rating.
        global_mean: Mean training rating.

    Returns:
        A model taking {"user": int [B], "item": int [B]} inner indices and returning
        ratings, float32 [B, 1].
    """
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")

    def table(name: str, rows: int, width: int, initializer: str) -> keras.layers.Embedding:
        return keras.layers.Embedding(
            rows,
            width,
            embeddings_initializer=initializer,
            name=name,
        )

    user_vector = table("user_embedding", num_users, embedding_dim, "he_normal")(user)
    item_vector = table("item_embedding", num_items, embedding_dim, "he_normal")(item)
    user_bias = table("user_bias", num_users, 1, "zeros")(user)
    item_bias = table("item_bias", num_items, 1, "zeros")(item)
    if l2 > 0:
        user_vector = PerExampleL2(l2, name="l2_penalty")([user_vector, item_vector])
    dot = keras.layers.Dot(axes=1, name="dot")([user_vector, item_vector])
    raw = keras.layers.Add(name="sum")([dot, user_bias, item_bias])
    low, high = rating_scale
    if output == "sigmoid":
        raw = GlobalBias(0.0, name="global_bias")(raw)
        scaled = keras.layers.Activation("sigmoid", name="sigmoid")(raw)
        rating = keras.layers.Rescaling(high - low, offset=low, name="rating")(scaled)
    else:
        rating = GlobalBias(global_mean, name="global_bias")(raw)
    return keras.Model({"user": user, "item": item}, rating, name="dot")


def zero_oov_rows(model: keras.Model) -> None:
    """Sets row 0 of every table to zero, so ids unseen in training score from the
    remaining terms (for a linear model: global bias plus the known side's bias).
    """
    for name in ("user_embedding", "item_embedding", "user_bias", "item_bias"):
        layer = model.get_layer(name)
        (table,) = layer.get_weights()
        table[OOV_INDEX] = 0.0
        layer.set_weights([table])


def dot_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's tables as numpy arrays, keyed as movierec.bundle.build_dot_bundle expects."""
    return {
        "user_embeddings": model.get_layer("user_embedding").get_weights()[0],
        "item_embeddings": model.get_layer("item_embedding").get_weights()[0],
        "user_bias": model.get_layer("user_bias").get_weights()[0][:, 0],
        "item_bias": model.get_layer("item_bias").get_weights()[0][:, 0],
        "global_bias": np.asarray(model.get_layer("global_bias").get_weights()[0]),
    }

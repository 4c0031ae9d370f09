"""movierec: train, version and serve Keras movie recommenders.

The library holds the logic (data, models, training, metrics, export, store, scoring);
TensorFlow is imported only by the modules that train (`dot_model`, `training`).
"""

__version__ = "0.1.0"

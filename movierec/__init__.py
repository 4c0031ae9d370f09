"""movierec: train, version and serve Keras movie recommenders.

The library holds the logic (data, models, training, metrics, export, store, scoring);
TensorFlow is imported only by the modules that train (`training`, `keras_training` and
each kind's `*_keras` half).
"""

__version__ = "0.1.0"

"""The training wing: a job's rows, the Keras fit and the kinds' Keras halves, distributed
training, plots (TensorFlow is imported by the modules that fit, never by this package)."""

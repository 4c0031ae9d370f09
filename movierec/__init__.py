"""movierec: train, version and serve Keras movie recommenders.

The library holds the logic, in wings by role: `data`, `training` (the only modules that
import TensorFlow, with the kinds' Keras halves), `serving`, `store`, `kinds` (the kind
registry and the numpy halves both wings share) and `metrics`.
"""

__version__ = "0.1.0"

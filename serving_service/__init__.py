"""The serving service: answers Predict, Recommend, SimilarItems, Metrics over gRPC."""

import os

# One BLAS thread per serving process unless the operator says otherwise: requests already
# run concurrently, and threaded BLAS under concurrent requests only oversubscribes the
# cores. Set before numpy is first imported by the service (`movierec serving`).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

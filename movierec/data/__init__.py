"""Datasets: MovieLens readers and downloads, splits, caches, catalogues built from them,
synthetic data, and the store administration the client CLI runs (admin)."""

"""Evaluation metrics as pure functions over numpy arrays; each refuses empty input."""

from __future__ import annotations

import numpy as np


def _checked(truth: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if truth.shape != predicted.shape:
        raise ValueError(f"shapes differ: {truth.shape} vs {predicted.shape}")
    if truth.size == 0:
        raise ValueError("cannot compute a metric over no ratings")
    return truth, predicted


def rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Root mean squared error between true and predicted ratings, shapes [n]."""
    truth, predicted = _checked(truth, predicted)
    return float(np.sqrt(np.mean((truth - predicted) ** 2)))


def mae(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute error between true and predicted ratings, shapes [n]."""
    truth, predicted = _checked(truth, predicted)
    return float(np.mean(np.abs(truth - predicted)))


def accuracy_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """{"rmse", "mae"} of predictions already clipped to the rating scale."""
    return {"rmse": rmse(truth, predicted), "mae": mae(truth, predicted)}

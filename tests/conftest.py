"""Shared fixtures: where the data is, and stores of fake versions."""

from __future__ import annotations

import os
import pathlib

import pytest

from movierec.model_store import ModelStore

DATA_DIR = pathlib.Path(
    os.environ.get("MOVIEREC_DATA_DIR", pathlib.Path(__file__).parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """The folder holding ml-100k (MOVIEREC_DATA_DIR, else ../shared/data)."""
    if not (DATA_DIR / "ml-100k" / "u.data").is_file():
        pytest.fail(f"ml-100k not found under {DATA_DIR}; set MOVIEREC_DATA_DIR")
    return DATA_DIR


@pytest.fixture
def store(tmp_path) -> ModelStore:
    """An empty model store in a temporary folder."""
    return ModelStore(tmp_path / "store")

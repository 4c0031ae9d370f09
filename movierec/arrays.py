"""Named numpy arrays on disk: one uncompressed .npz each, never pickled."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import numpy as np


def save_arrays(path: pathlib.Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Writes arrays as an uncompressed .npz (fast to load, no pickled objects).

    Raises:
        ValueError: an array holds Python objects (it could only be pickled).
    """
    values = {name: np.asarray(value) for name, value in arrays.items()}
    for name, value in values.items():
        if value.dtype == object:
            raise ValueError(f"array {name!r} holds Python objects; use a numeric or str dtype")
    with open(path, "wb") as out:
        np.savez(out, allow_pickle=False, **values)


def load_arrays(path: pathlib.Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Reads every array of an .npz written by save_arrays, refusing pickled objects.

    Args:
        path: The .npz file.
        required: Names that must be present.

    Raises:
        ValueError: a required array is missing, or the file is not an npz.
        OSError: the file cannot be read.
    """
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in required if name not in data.files]
        if missing:
            raise ValueError(f"{path.name} lacks arrays: {', '.join(missing)}")
        return {name: data[name] for name in data.files}

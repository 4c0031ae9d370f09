"""Named numpy arrays on disk: one uncompressed .npz each, never pickled."""

from __future__ import annotations

import pathlib
import zipfile
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


def check_stored(path: pathlib.Path) -> None:
    """Raises ValueError unless `path` is a zip whose members are all stored uncompressed
    (reads only the zip's directory).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if member.compress_type != zipfile.ZIP_STORED:
                    raise ValueError(
                        f"{path.name}: member {member.filename} is compressed; arrays are"
                        " stored uncompressed"
                    )
    except zipfile.BadZipFile as error:
        raise ValueError(f"{path.name} is not an npz: {error}") from error


def load_arrays(path: pathlib.Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Reads every array of an .npz written by save_arrays, refusing pickled objects.

    Args:
        path: The .npz file.
        required: Names that must be present.

    A compressed member is refused: save_arrays writes them stored, and a deflated member
    could unpack to far more memory than the file's size (a decompression bomb).

    Raises:
        ValueError: a required array is missing, a member is compressed, or the file is
            not an npz.
        OSError: the file cannot be read.
    """
    check_stored(path)
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in required if name not in data.files]
        if missing:
            raise ValueError(f"{path.name} lacks arrays: {', '.join(missing)}")
        return {name: data[name] for name in data.files}

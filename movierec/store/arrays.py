"""Named numpy arrays on disk: one uncompressed .npz each, never pickled."""

from __future__ import annotations

import pathlib
import zipfile
from collections.abc import Mapping
from typing import BinaryIO

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


def _label(source: pathlib.Path | BinaryIO, label: str | None) -> str:
    return label or (source.name if isinstance(source, pathlib.Path) else "the npz")


def check_stored(source: pathlib.Path | BinaryIO, label: str | None = None) -> None:
    """Raises ValueError unless `source` (a path, or a seekable file open for reading,
    rewound afterwards) is a zip whose members are all stored uncompressed (reads only the
    zip's directory). `label` names it in messages (default: the path's file name).
    """
    name = _label(source, label)
    try:
        with zipfile.ZipFile(source) as archive:
            for member in archive.infolist():
                if member.compress_type != zipfile.ZIP_STORED:
                    raise ValueError(
                        f"{name}: member {member.filename} is compressed; arrays are"
                        " stored uncompressed"
                    )
    except zipfile.BadZipFile as error:
        raise ValueError(f"{name} is not an npz: {error}") from error
    finally:
        if not isinstance(source, pathlib.Path):
            source.seek(0)


def load_arrays(
    source: pathlib.Path | BinaryIO, required: tuple[str, ...] = (), label: str | None = None
) -> dict[str, np.ndarray]:
    """Reads every array of an .npz written by save_arrays, refusing pickled objects.

    Args:
        source: The .npz file: a path, or a seekable file open for reading (a version's
            files are opened with ModelStore.open_version_file, never by path).
        required: Names that must be present.
        label: Names the file in messages (default: the path's file name).

    A compressed member is refused: save_arrays writes them stored, and a deflated member
    could unpack to far more memory than the file's size (a decompression bomb).

    Raises:
        ValueError: a required array is missing, a member is compressed, or the file is
            not an npz.
        OSError: the file cannot be read.
    """
    check_stored(source, label)
    with np.load(source, allow_pickle=False) as data:
        missing = [name for name in required if name not in data.files]
        if missing:
            raise ValueError(f"{_label(source, label)} lacks arrays: {', '.join(missing)}")
        return {name: data[name] for name in data.files}

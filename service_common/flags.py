"""Checks of the services' flags, run before anything starts: argparse types for numbers,
and folder checks that raise ConfigError (exit status 2, one line naming the flag)."""

from __future__ import annotations

import argparse
import math
import os
import pathlib

from service_common.security import ConfigError

MAX_SECONDS = 1e7
"""Largest interval or limit a flag takes (about 115 days); beyond it timers overflow."""
MAX_THREADS = 1024
"""Most handler threads, worker processes or jobs at once a flag asks for."""
MAX_COUNT = 2**31 - 1
"""Largest count a flag takes (versions kept, k, batch, jobs queued)."""
MAX_SIZE = 2**63 - 1
"""Largest size a flag takes (items, cells)."""


def _number(text: str, kind: type) -> float:
    try:
        return kind(text)
    except (TypeError, ValueError):
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def port(text: str) -> int:
    """Argparse type of a TCP port: 0 (any free one) to 65535."""
    value = int(_number(text, int))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, got {text}")
    return value


def seconds(text: str) -> float:
    """Argparse type of a finite interval > 0 (at most MAX_SECONDS)."""
    value = float(_number(text, float))
    if not (math.isfinite(value) and 0 < value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(
            f"seconds are finite, > 0 and <= {MAX_SECONDS:g}, got {text}"
        )
    return value


def seconds_or_none(text: str) -> float:
    """Argparse type of a finite interval >= 0, where 0 means none (at most MAX_SECONDS)."""
    value = float(_number(text, float))
    if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(
            f"seconds are finite, >= 0 and <= {MAX_SECONDS:g}, got {text}"
        )
    return value


def count(text: str) -> int:
    """Argparse type of a count: 1 to MAX_COUNT."""
    value = int(_number(text, int))
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a count from 1 to {MAX_COUNT}, got {text}")
    return value


def threads(text: str) -> int:
    """Argparse type of a number of threads, processes or jobs: 1 to MAX_THREADS."""
    value = count(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_THREADS}, got {text}")
    return value


def size(text: str) -> int:
    """Argparse type of a size: 0 to MAX_SIZE."""
    value = int(_number(text, int))
    if not 0 <= value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to {MAX_SIZE}, got {text}")
    return value


def port_of_env(name: str, text: str) -> int:
    """A port given by environment variable `name`.

    Raises:
        ConfigError: not a port.
    """
    try:
        return port(text)
    except argparse.ArgumentTypeError as error:
        raise ConfigError(f"{name}: {error}") from None


def writable_folder(path: str | os.PathLike, flag: str) -> pathlib.Path:
    """Makes sure `path` is a folder this process can write, creating it when missing.

    Args:
        path: The folder.
        flag: Names it in the error (e.g. "--store").

    Raises:
        ConfigError: it is something else, cannot be made, or cannot be written.
    """
    folder = pathlib.Path(path)
    if os.path.lexists(folder) and not folder.is_dir():
        raise ConfigError(f"{flag} {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{flag} {folder} cannot be made: {error.strerror or error}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {folder} is not a folder this process can write")
    return folder


def readable_folder(path: str | os.PathLike, flag: str) -> None:
    """Checks that `path`, where it exists, is a folder this process can read (a missing
    one may be made later by another process).

    Raises:
        ConfigError: it is something else, or cannot be read.
    """
    folder = pathlib.Path(path)
    if not os.path.lexists(folder):
        return
    if not folder.is_dir():
        raise ConfigError(f"{flag} {folder} is not a folder")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise ConfigError(f"{flag} {folder} is not a folder this process can read")

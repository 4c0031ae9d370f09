"""The MovieLens archives movierec can fetch: where each lives, how it is verified, and the
download itself (streamed with progress, verified, unpacked atomically into the cache).

Four archives have a pinned size and sha256: the figures TensorFlow Datasets publishes in
its checksum list for the same files. The others change by design (ml-latest is rebuilt
from time to time) or have no published sha256; for them the md5 that GroupLens publishes
beside each archive (`<archive>.md5`) is fetched and checked, and docs/operations.md says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pathlib
import re
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable

from movierec.errors import DatasetError

BASE_URL = "https://files.grouplens.org/datasets/movielens/"
CHUNK_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class Archive:
    """One downloadable dataset.

    Attributes:
        name: Dataset name, e.g. "ml-25m"; also the folder it is installed as.
        file: The archive's file name under BASE_URL.
        folder: The top folder inside the archive (ml-10m unpacks as "ml-10M100K").
        size: Bytes, where pinned.
        sha256: Hex digest, where pinned; else the publisher's `<file>.md5` is checked.
    """

    name: str
    file: str
    folder: str
    size: int | None = None
    sha256: str | None = None


ARCHIVES = {
    archive.name: archive
    for archive in (
        Archive(
            "ml-100k",
            "ml-100k.zip",
            "ml-100k",
            4_924_029,
            "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        ),
        Archive(
            "ml-1m",
            "ml-1m.zip",
            "ml-1m",
            5_917_549,
            "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        ),
        Archive(
            "ml-latest-small",
            "ml-latest-small.zip",
            "ml-latest-small",
            978_202,
            "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        ),
        Archive(
            "ml-25m",
            "ml-25m.zip",
            "ml-25m",
            261_978_986,
            "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
        ),
        Archive("ml-10m", "ml-10m.zip", "ml-10M100K"),
        Archive("ml-latest", "ml-latest.zip", "ml-latest"),
        Archive("ml-32m", "ml-32m.zip", "ml-32m"),
    )
}
"""Every dataset the downloader knows."""

Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None) as a download goes."""


def progress_bar(name: str, stream=None) -> Progress:
    """A one-line progress bar on `stream` (default stderr), redrawn in place."""
    out = stream or sys.stderr
    shown = [-1]

    def show(done: int, total: int | None) -> None:
        if total:
            percent = min(100, done * 100 // total)
            if percent == shown[0]:
                return
            shown[0] = percent
            bar = "#" * (percent // 4)
            line = f"\r{name}: [{bar:<25}] {percent:3d}% {done / 2**20:.1f}/{total / 2**20:.1f} MiB"
        else:
            line = f"\r{name}: {done / 2**20:.1f} MiB"
        out.write(line + ("\n" if total and done >= total else ""))
        out.flush()

    return show


def _fetch(
    url: str, target: pathlib.Path, digest, progress: Progress | None, expected_size: int | None
) -> int:
    """Streams `url` into `target`, feeding `digest` (a hashlib object); returns the bytes."""
    done = 0
    with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:
        length = response.headers.get("Content-Length")
        total = expected_size or (int(length) if length and length.isdigit() else None)
        while chunk := response.read(CHUNK_BYTES):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    return done


def published_md5(url: str) -> str:
    """The md5 in a publisher's `.md5` file ("MD5 (f) = hex" or "hex  f").

    Raises:
        DatasetError: unreachable, or no md5 in it.
    """
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            text = response.read(4096).decode("ascii", "replace")
    except OSError as error:
        raise DatasetError(f"cannot fetch the published checksum {url}: {error}") from error
    found = re.search(r"\b[0-9a-fA-F]{32}\b", text)
    if not found:
        raise DatasetError(f"{url} holds no md5")
    return found.group(0).lower()


def download_archive(
    archive: Archive,
    cache: pathlib.Path,
    base_url: str = BASE_URL,
    progress: Progress | None = None,
) -> pathlib.Path:
    """Downloads, verifies and unpacks `archive` as `cache/<name>/`.

    Everything happens in a temporary folder inside the cache; the verified, unpacked folder
    is renamed into place in one step, so an interrupted or refused download leaves nothing
    that looks like a dataset.

    Raises:
        DatasetError: unreachable, a size or checksum that does not match, or an archive
            without its folder.
    """
    url = base_url + archive.file
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=cache) as tmp:
        path = pathlib.Path(tmp) / archive.file
        pinned = archive.sha256 is not None
        digest = hashlib.sha256() if pinned else hashlib.md5(usedforsecurity=False)
        try:
            size = _fetch(url, path, digest, progress, archive.size)
        except OSError as error:
            raise DatasetError(f"cannot download {archive.name} from {url}: {error}") from error
        if archive.size is not None and size != archive.size:
            raise DatasetError(
                f"{archive.file} from {url} is {size} bytes, expected {archive.size}"
            )
        actual = digest.hexdigest()
        if pinned:
            if actual != archive.sha256:
                raise DatasetError(
                    f"{archive.file} from {url} has sha256 {actual}, expected {archive.sha256}"
                )
        else:
            expected = published_md5(url + ".md5")
            if actual != expected:
                raise DatasetError(
                    f"{archive.file} from {url} has md5 {actual}, the published one is {expected}"
                )
        unpacked = pathlib.Path(tmp) / "unpacked"
        try:
            with zipfile.ZipFile(path) as zipped:
                zipped.extractall(unpacked)
        except (OSError, zipfile.BadZipFile) as error:
            raise DatasetError(f"cannot unpack {archive.file}: {error}") from error
        folder = unpacked / archive.folder
        if not folder.is_dir():
            raise DatasetError(f"{archive.file} has no folder {archive.folder}/")
        target = cache / archive.name
        if target.exists():
            shutil.rmtree(target)
        os.replace(folder, target)
    return target

"""The model store: `<root>/<model>/<version>/`, immutable versions published atomically.

A version is written under a hidden staging folder, every file and the folder are fsynced,
and the folder is renamed into place in one step, so a reader never sees half a version.
Publishers of one model serialise on a lock file, so two jobs never take the same number.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import logging
import os
import pathlib
import re
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from movierec.errors import (
    CorruptVersion,
    InvalidRequest,
    NotFound,
    UnknownModel,
    UnknownVersion,
)
from movierec.store.arrays import check_stored

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 2
"""Layout of a version this code writes and reads: 2 = manifest, model.keras, weights.npz
(the kind's arrays) and catalog.npz. Other format versions are refused at load."""
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.[a-z0-9]{1,8}$")
_CONTENT_TYPES = {".png": "image/png", ".json": "application/json", ".csv": "text/csv"}
_VERSION_NAME = re.compile(r"^[1-9][0-9]{0,17}$")
MAX_VERSION = 10**18 - 1
"""Largest version number (18 digits, as version folders are named): fits int64 fields."""
STALE_STAGING_S = 3600.0
"""Age after which a staging folder no known writer owns is taken for a dead writer's."""
MAX_MANIFEST_BYTES = 1 << 20
KERAS_FILE = "model.keras"
"""The Keras model of a version, the source of truth (trainer side only)."""
POLICY_FILE = "serving_policy.json"
"""A model's serving policy (which version answers by default), shared by every serving
process on the store; see movierec.serving.policy."""
MAX_POLICY_BYTES = 64 << 10
WEIGHTS_FILE = "weights.npz"
"""The arrays of a version's kind, loaded by the kind's numpy half."""


@dataclasses.dataclass(frozen=True)
class VersionDescription:
    """A version as found on disk: READY (verified) or CORRUPT (with the reason)."""

    version: int
    ready: bool
    kind: str = ""
    objective: str = ""
    split: str = ""
    metrics: dict[str, float] = dataclasses.field(default_factory=dict)
    created_at: float = 0.0
    error: str = ""
    artifacts: tuple[str, ...] = ()


@dataclasses.dataclass
class Artifact:
    """An open artifact of a version: read it in chunks with `chunks`, which checks the
    bytes against the manifest's sha256 as they pass."""

    model: str
    version: int
    name: str
    size: int
    sha256: str
    handle: BinaryIO

    @property
    def content_type(self) -> str:
        """The media type its file name suggests."""
        return _CONTENT_TYPES.get(
            pathlib.Path(self.name).suffix.lower(), "application/octet-stream"
        )

    def chunks(self, size: int = 64 * 1024) -> Iterator[bytes]:
        """The file's bytes in chunks of at most `size`; closes it at the end.

        Raises:
            CorruptVersion: after the last chunk, when the bytes do not match the sha256
                (or the size) the manifest recorded.
        """
        digest = hashlib.sha256()
        read = 0
        with self.handle:
            while chunk := self.handle.read(size):
                digest.update(chunk)
                read += len(chunk)
                yield chunk
        if digest.hexdigest() != self.sha256 or read != self.size:
            raise CorruptVersion(
                f"{self.model} version {self.version}: {self.name} does not match its checksum"
            )


def check_model_name(name: str) -> None:
    """Raises InvalidRequest unless `name` is 1-64 characters of [A-Za-z0-9_.-], not
    starting with a dot, dash or underscore (it becomes a folder name).
    """
    if not _MODEL_NAME.fullmatch(name or ""):
        raise InvalidRequest(
            f"bad model name {name!r}: use 1-64 characters of letters, digits, '_', '.', '-',"
            " starting with a letter or digit"
        )


def check_format_version(manifest: dict[str, Any], folder: pathlib.Path) -> None:
    """Raises CorruptVersion unless the manifest's format_version is FORMAT_VERSION."""
    found = manifest.get("format_version")
    if found == FORMAT_VERSION:
        return
    if isinstance(found, int) and found > FORMAT_VERSION:
        raise CorruptVersion(
            f"{folder}: format version {found} is newer than this movierec reads"
            f" ({FORMAT_VERSION}); upgrade movierec"
        )
    raise CorruptVersion(
        f"{folder}: format version {found!r} is not {FORMAT_VERSION}; retrain the model with"
        " this movierec"
    )


def open_regular(path: pathlib.Path, max_bytes: int | None = None) -> BinaryIO:
    """Opens a file for reading only if it is a regular file (not a link, FIFO or device)
    of at most max_bytes, without blocking on a FIFO.

    Raises:
        CorruptVersion: not a regular file, or too large.
        OSError: it cannot be opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise CorruptVersion(f"{path} is a symbolic link") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise CorruptVersion(f"{path} is not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        os.close(fd)
        raise CorruptVersion(f"{path} holds {info.st_size} bytes, more than {max_bytes}")
    return os.fdopen(fd, "rb")


def sha256_file(path: pathlib.Path) -> str:
    """Hex sha256 of a regular file's bytes, read in 1 MiB chunks (see open_regular)."""
    with open_regular(path) as handle:
        return _sha256_of(handle)


def _sha256_of(handle: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def check_sizes(manifest: dict[str, Any], folder: pathlib.Path) -> None:
    """Raises CorruptVersion unless the manifest's "sizes" (bytes of each file, recorded
    since publishers began to) is absent, or names exactly its "files" with counts >= 0."""
    sizes = manifest.get("sizes")
    if sizes is None:
        return  # published before sizes were recorded
    if not isinstance(sizes, dict) or set(sizes) != set(manifest["files"]):
        raise CorruptVersion(f"{folder}: manifest sizes do not list exactly its files")
    for filename, size in sizes.items():
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CorruptVersion(f"{folder}: manifest size of {filename} is {size!r}")


def _recorded_size(manifest: dict[str, Any], filename: str, folder: pathlib.Path) -> int | None:
    """The size the manifest records for a file; None when it records no sizes at all.

    Raises:
        CorruptVersion: it records sizes, but none (or a malformed one) for this file.
    """
    sizes = manifest.get("sizes")
    if sizes is None:
        return None
    size = sizes.get(filename) if isinstance(sizes, dict) else None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise CorruptVersion(f"{folder}: the manifest records no size for {filename}")
    return size


def _fsync_path(path: pathlib.Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ModelStore:
    """A model store rooted at one folder (local disk or any shared POSIX filesystem).

    Args:
        root: Folder of the store; created on first publish.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = pathlib.Path(root)

    def model_path(self, name: str) -> pathlib.Path:
        """Folder of a model (validated name)."""
        check_model_name(name)
        return self.root / name

    def version_path(self, name: str, version: int) -> pathlib.Path:
        """Folder of one version."""
        return self.model_path(name) / str(version)

    def list_models(self) -> list[str]:
        """Names of models with at least one published version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir()
            and _MODEL_NAME.fullmatch(entry.name)
            and self.list_versions(entry.name)
        )

    def list_versions(self, name: str) -> list[int]:
        """Published version numbers of a model, ascending; [] for an unknown model."""
        folder = self.model_path(name)
        if not folder.is_dir():
            return []
        return sorted(
            int(entry.name)
            for entry in folder.iterdir()
            if _VERSION_NAME.fullmatch(entry.name) and entry.is_dir()
        )

    def latest_version(self, name: str) -> int:
        """Newest version of a model. Raises UnknownModel when it has none."""
        versions = self.list_versions(name)
        if not versions:
            raise UnknownModel(name)
        return versions[-1]

    def version_signature(self, name: str, version: int) -> tuple:
        """(file name, size, mtime, mode) of every entry of a version folder, links not
        followed: cheap to read, and it changes whenever a file is written, replaced or
        removed."""
        folder = self.version_path(name, version)
        try:
            return tuple(
                sorted(
                    (p.name, info.st_size, info.st_mtime_ns, info.st_mode)
                    for p in folder.iterdir()
                    for info in (p.lstat(),)
                )
            )
        except OSError:
            return ()

    def read_manifest(self, name: str, version: int) -> dict[str, Any]:
        """The manifest of a version, unverified.

        Raises:
            UnknownVersion: no such version folder.
            CorruptVersion: the folder is a link, or the manifest is missing, not a regular
                file, over 1 MiB or not valid JSON.
        """
        folder = self.version_path(name, version)
        if folder.is_symlink():
            raise CorruptVersion(f"{folder} is a symbolic link; versions are real folders")
        if not folder.is_dir():
            raise UnknownVersion(name, version)
        try:
            with open_regular(folder / MANIFEST_FILE, MAX_MANIFEST_BYTES) as handle:
                manifest = json.loads(handle.read().decode("utf-8"))
        except (OSError, ValueError) as error:
            raise CorruptVersion(f"{folder}: unreadable manifest: {error}") from error
        if not isinstance(manifest, dict):
            raise CorruptVersion(f"{folder}: manifest is not a JSON object")
        return manifest

    def verify_version(self, name: str, version: int) -> dict[str, Any]:
        """Checks every file of a version against the sha256 its manifest records.

        Returns:
            The manifest.

        Raises:
            UnknownVersion: no such version folder.
            CorruptVersion: manifest unreadable, a file missing, extra or mismatching.
        """
        manifest = self.check_version_files(name, version)
        self.verify_checksums(name, version, manifest)
        return manifest

    def check_version_files(self, name: str, version: int) -> dict[str, Any]:
        """The first, cheap half of verify_version: the manifest is readable, of this
        format, and lists exactly the files present (none is hashed or opened), with their
        sizes where it records them. Whether its kind is known is the kind registry's to
        say (movierec.kinds.check_kind).

        Raises:
            UnknownVersion: no such version folder.
            CorruptVersion: manifest unreadable, a file missing or extra.
        """
        manifest = self.read_manifest(name, version)
        folder = self.version_path(name, version)
        check_format_version(manifest, folder)
        files = manifest.get("files")
        if not isinstance(files, dict) or not files:
            raise CorruptVersion(f"{folder}: manifest lists no files")
        present = {p.name for p in folder.iterdir() if p.name != MANIFEST_FILE}
        extra = sorted(present - set(files))
        if extra:
            raise CorruptVersion(f"{folder}: files not in the manifest: {', '.join(extra)}")
        for filename in sorted(files):
            if not os.path.lexists(folder / filename):
                raise CorruptVersion(f"{folder}: {filename} is missing")
        check_sizes(manifest, folder)
        return manifest

    def open_version_file(
        self, name: str, version: int, filename: str, manifest: dict[str, Any]
    ) -> BinaryIO:
        """Opens a file of a version for reading the way manifests are opened: a regular
        file only (never a link, FIFO, device or folder), without blocking, and of the size
        the manifest records (manifests written before sizes were recorded: unchecked).
        Every data file of a version is read through here, so nothing is hashed or loaded
        from a file that is not what the manifest describes.

        Args:
            name: Model name.
            version: Version number.
            filename: A file its manifest lists.
            manifest: The manifest, as check_version_files returned it.

        Raises:
            CorruptVersion: the file is missing, not a regular file, of another size, or
                cannot be opened (the message says which).
        """
        folder = self.version_path(name, version)
        try:
            handle = open_regular(folder / filename)
        except FileNotFoundError:
            raise CorruptVersion(f"{folder}: {filename} is missing") from None
        except OSError as error:
            raise CorruptVersion(f"{folder}: cannot open {filename}: {error}") from error
        actual = os.fstat(handle.fileno()).st_size
        try:
            expected = _recorded_size(manifest, filename, folder)
            if expected is not None and actual != expected:
                raise CorruptVersion(
                    f"{folder}: {filename} holds {actual} bytes, the manifest says {expected}"
                )
        except CorruptVersion:
            handle.close()
            raise
        return handle

    def verify_checksums(self, name: str, version: int, manifest: dict[str, Any]) -> None:
        """The second half of verify_version: every file listed in `manifest` (as
        check_version_files returned it) is a regular file of the size and sha256 it
        records (opened with open_version_file), and every .npz holds its arrays
        uncompressed.

        Raises:
            CorruptVersion: a file missing, not a regular file, unreadable or mismatching.
        """
        folder = self.version_path(name, version)
        for filename, expected in sorted(manifest["files"].items()):
            with self.open_version_file(name, version, filename, manifest) as handle:
                actual = _sha256_of(handle)
                if filename.endswith(".npz"):
                    try:
                        check_stored(handle, filename)
                    except ValueError as error:
                        raise CorruptVersion(f"{folder}: {error}") from error
            if actual != expected:
                raise CorruptVersion(
                    f"{folder}: {filename} has sha256 {actual[:12]}..., manifest says "
                    f"{expected[:12]}..."
                )

    def find_version_of_job(
        self, name: str, job_id: str, newest: int = 20
    ) -> tuple[int, dict[str, Any]] | None:
        """The version a job published (its manifest's job_id), looking at the model's
        `newest` versions, or None.
        """
        for version in reversed(self.list_versions(name)[-newest:]):
            try:
                manifest = self.read_manifest(name, version)
            except (CorruptVersion, UnknownVersion):
                continue
            if job_id and manifest.get("job_id") == job_id:
                return version, manifest
        return None

    def staging_path(self, name: str, staging_name: str) -> pathlib.Path:
        """Hidden folder where a version is written before its rename into place."""
        return self.model_path(name) / f".staging-{staging_name}"

    def describe_versions(
        self, name: str, check: Callable[[str, int], dict[str, Any]] | None = None
    ) -> list[VersionDescription]:
        """Every version of a model, newest first, each checked by `check(name, version)`
        (default verify_version), which returns the manifest or raises CorruptVersion.

        Raises:
            UnknownModel: the model has no version.
        """
        versions = self.list_versions(name)
        if not versions:
            raise UnknownModel(name)
        return [self.describe_version(name, v, check) for v in reversed(versions)]

    def describe_version(
        self, name: str, version: int, check: Callable[[str, int], dict[str, Any]] | None = None
    ) -> VersionDescription:
        """One version as describe_versions reports it."""
        try:
            manifest = (check or self.verify_version)(name, version)
            return VersionDescription(
                version,
                True,
                kind=str(manifest.get("kind", "")),
                objective=str(manifest.get("objective", "")),
                split=str(manifest.get("split", "")),
                metrics={str(k): float(v) for k, v in manifest.get("metrics", {}).items()},
                created_at=float(manifest.get("created_at", 0.0)),
                artifacts=tuple(str(a) for a in manifest.get("artifacts", [])),
            )
        except (CorruptVersion, AttributeError, TypeError, ValueError) as error:
            return VersionDescription(version, False, error=str(error))

    def open_artifact(self, name: str, version: int, artifact: str) -> Artifact:
        """Opens one artifact of a version (a file its manifest lists under "artifacts",
        such as "loss.png") for streaming; version 0 means the newest. Nothing outside the
        version folder is ever opened: the name must be listed, be a plain file name, and
        have a checksum in the manifest, and links are refused.

        Raises:
            InvalidRequest: a malformed artifact name.
            UnknownModel, UnknownVersion: no such model or version.
            NotFound: the version lists no such artifact (the message lists those it has).
            CorruptVersion: the file is missing, a link, not a regular file, or not of
                the size the manifest records.
        """
        check_model_name(name)
        if not _ARTIFACT_NAME.fullmatch(artifact or ""):
            raise InvalidRequest(f"bad artifact name {artifact!r}: a file name such as 'loss.png'")
        if version == 0:
            version = self.latest_version(name)
            if not version:
                raise UnknownModel(name)
        manifest = self.read_manifest(name, version)
        listed = [str(a) for a in manifest.get("artifacts", []) if isinstance(a, str)]
        checksum = manifest.get("files", {}).get(artifact) if artifact in listed else None
        if not isinstance(checksum, str):
            has = ", ".join(listed) or "none"
            raise NotFound(f"{name} version {version} has no artifact {artifact!r} (it has: {has})")
        handle = self.open_version_file(name, version, artifact, manifest)
        size = os.fstat(handle.fileno()).st_size
        return Artifact(name, version, artifact, size, checksum, handle)

    def read_policy(self, name: str) -> dict[str, Any] | None:
        """A model's serving policy record; None when it has none.

        Raises:
            CorruptVersion: the file is a link, FIFO or device, over 64 KiB, or not a JSON
                object.
        """
        path = self.model_path(name) / POLICY_FILE
        try:
            with open_regular(path, MAX_POLICY_BYTES) as handle:
                record = json.loads(handle.read().decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise CorruptVersion(f"{path}: unreadable serving policy: {error}") from error
        if not isinstance(record, dict):
            raise CorruptVersion(f"{path}: the serving policy is not a JSON object")
        return record

    def write_policy(self, name: str, record: dict[str, Any] | None) -> None:
        """Replaces a model's serving policy atomically (None removes it).

        Raises:
            OSError: the store cannot be written.
        """
        folder = self.model_path(name)
        path = folder / POLICY_FILE
        if record is None:
            path.unlink(missing_ok=True)
            _fsync_path(folder)
            return
        staging = folder / f".{POLICY_FILE}.{uuid.uuid4().hex}"
        try:
            staging.write_text(json.dumps(record, indent=2, sort_keys=True))
            _fsync_path(staging)
            os.rename(staging, path)
        finally:
            staging.unlink(missing_ok=True)
        _fsync_path(folder)

    def list_model_folders(self) -> list[str]:
        """Names of every model folder, with or without versions."""
        if not self.root.is_dir():
            return []
        return sorted(
            e.name for e in self.root.iterdir() if e.is_dir() and _MODEL_NAME.fullmatch(e.name)
        )

    @contextlib.contextmanager
    def _publish_lock(self, name: str) -> Iterator[None]:
        folder = self.model_path(name)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".publish.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def publish_version(
        self,
        name: str,
        manifest: dict[str, Any],
        write_files: Callable[[pathlib.Path], None],
        staging_name: str | None = None,
    ) -> int:
        """Writes a new version atomically and returns its number (newest + 1).

        Args:
            name: Model name.
            manifest: Metadata to record; "files" (sha256 of each), "sizes" (bytes of
                each), "format_version", "model_name", "version" and "created_at" are
                filled in here.
            write_files: Called with the staging folder; writes the version's files into it.
            staging_name: Suffix of the hidden staging folder (default random), so that the
                owner of a killed writer can remove what it left (see staging_path).

        Returns:
            The published version number.
        """
        folder = self.model_path(name)
        folder.mkdir(parents=True, exist_ok=True)
        staging = self.staging_path(name, staging_name or uuid.uuid4().hex)
        staging.mkdir()
        try:
            write_files(staging)
            paths = [path for path in sorted(staging.iterdir()) if path.is_file()]
            files = {path.name: sha256_file(path) for path in paths}
            sizes = {path.name: path.stat().st_size for path in paths}
            with self._publish_lock(name):
                versions = self.list_versions(name)
                version = (versions[-1] if versions else 0) + 1
                record = {
                    **manifest,
                    "format_version": FORMAT_VERSION,
                    "model_name": name,
                    "version": version,
                    "created_at": time.time(),
                    "files": files,
                    "sizes": sizes,
                }
                (staging / MANIFEST_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))
                for path in staging.iterdir():
                    _fsync_path(path)
                _fsync_path(staging)
                os.rename(staging, folder / str(version))
                _fsync_path(folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        logger.info("published %s version %d", name, version)
        return version

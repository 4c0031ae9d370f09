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
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        """(file name, size, mtime) of every entry of a version folder: cheap to read, and
        it changes whenever a file is written, replaced or removed."""
        folder = self.version_path(name, version)
        try:
            return tuple(
                sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir())
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
        format, and lists exactly the files present (none is hashed). Whether its kind is
        known is the kind registry's to say (movierec.kinds.check_kind).

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
        return manifest

    def verify_checksums(self, name: str, version: int, manifest: dict[str, Any]) -> None:
        """The second half of verify_version: every file listed in `manifest` (as
        check_version_files returned it) has the sha256 it records, and every .npz holds
        its arrays uncompressed.

        Raises:
            CorruptVersion: a file missing, unreadable or mismatching.
        """
        folder = self.version_path(name, version)
        for filename, expected in sorted(manifest["files"].items()):
            path = folder / filename
            if not os.path.lexists(path):
                raise CorruptVersion(f"{folder}: {filename} is missing")
            actual = sha256_file(path)
            if filename.endswith(".npz"):
                try:
                    check_stored(path)
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
            CorruptVersion: the file is missing, a link or not a regular file.
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
        path = self.version_path(name, version) / artifact
        try:
            handle = open_regular(path)
        except FileNotFoundError:
            raise CorruptVersion(f"{name} version {version}: {artifact} is missing") from None
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
            manifest: Metadata to record; "files", "format_version", "model_name", "version"
                and "created_at" are filled in here.
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
            files = {
                path.name: sha256_file(path) for path in sorted(staging.iterdir()) if path.is_file()
            }
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

"""A stored version loaded by its kind's numpy half, for both wings: the serving registry
loads versions with load_version, and the trainer's VersionAudit says of each stored
version what serving would make of it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import threading
from typing import Any, BinaryIO

from movierec.errors import CorruptVersion, UnknownModel
from movierec.kinds import KINDS, check_kind
from movierec.kinds.ann import DEFAULT_MIN_ITEMS, attach_indexes
from movierec.kinds.base import Scorer
from movierec.kinds.two_stage import check_source_in_store
from movierec.store.arrays import load_arrays
from movierec.store.catalog import CATALOG_FILE, load_catalog
from movierec.store.model_store import WEIGHTS_FILE, ModelStore, VersionDescription


@dataclasses.dataclass(frozen=True)
class VersionInfo:
    """Names the model version that answered."""

    name: str
    version: int
    kind: str
    objective: str


@dataclasses.dataclass(frozen=True, eq=False)
class LoadedVersion:
    """A verified version in memory, ready to score (compared by identity: each load is
    its own)."""

    name: str
    version: int
    kind: str
    objective: str
    manifest: dict[str, Any]
    scorer: Scorer

    @functools.cached_property
    def info(self) -> VersionInfo:
        """Who answered, for responses."""
        return VersionInfo(self.name, self.version, self.kind, self.objective)


def load_version(
    store: ModelStore, name: str, version: int, ann_min_items: int = DEFAULT_MIN_ITEMS
) -> LoadedVersion:
    """Verifies a version's format and checksums, loads it with its kind's numpy half
    (which checks the arrays' shapes and finiteness) and answers one real query per RPC on
    it, so that a version which cannot answer is never swapped in.

    Raises:
        CorruptVersion: incomplete, mismatching, unreadable, of another format version, or
            of a kind or objective this server does not know.
    """
    manifest = store.check_version_files(name, version)
    label = f"{name} version {version}"
    check_kind(manifest, store.version_path(name, version))
    kind = KINDS[manifest["kind"]]  # check_kind checked kind and objective
    serving = kind.serving()

    def open_file(filename: str) -> BinaryIO:
        return store.open_version_file(name, version, filename, manifest)

    def open_index(filename: str) -> BinaryIO | None:
        return open_file(filename) if filename in manifest["files"] else None

    # The files are hashed on a second thread while this one reads the arrays (hashlib and
    # file reads release the GIL); nothing read is used before the checksums match. Every
    # file is opened as a regular file of its recorded size, so neither thread blocks on a
    # FIFO or reads more than the manifest says; a manifest that records no sizes (older
    # versions) has its checksums matched before anything is read into memory.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="verify") as pool:
        checksums = pool.submit(store.verify_checksums, name, version, manifest)
        try:
            if "sizes" not in manifest:
                checksums.result()
            with open_file(CATALOG_FILE) as handle:
                catalog = load_catalog(handle)
            with open_file(WEIGHTS_FILE) as handle:
                weights = load_arrays(handle, serving.WEIGHT_ARRAYS, WEIGHTS_FILE)
            scorer = serving.load_scorer(weights, catalog, manifest)
        except Exception as error:
            checksums.result()  # a mismatch, where there is one, is the better reason
            if isinstance(error, (OSError, ValueError, KeyError, IndexError, TypeError)):
                raise CorruptVersion(f"{label}: unreadable arrays: {error}") from error
            raise
        checksums.result()
    check_source_in_store(store, manifest, label)
    try:
        scorer.probe()
    except (ValueError, IndexError, TypeError, FloatingPointError) as error:
        raise CorruptVersion(f"{label}: cannot answer: {error}") from error
    try:
        attach_indexes(scorer, open_index, ann_min_items)
    except (OSError, RuntimeError, ValueError) as error:
        raise CorruptVersion(f"{label}: unusable approximate index: {error}") from error
    return LoadedVersion(name, version, kind.name, manifest["objective"], manifest, scorer)


class VersionAudit:
    """Says of each stored version what a serving process would make of it (the full
    load_version: checksums, arrays, probe queries), remembering each answer until the
    version's folder changes on disk, so that listing a store does not re-hash every file
    of every version each time.

    Args:
        store: The model store.
    """

    def __init__(self, store: ModelStore):
        self.store = store
        self._seen: dict[tuple[str, int], tuple[tuple, VersionDescription]] = {}
        self._lock = threading.Lock()

    def describe(self, name: str) -> list[VersionDescription]:
        """Every version of a model, newest first, READY only where serving would load it.

        Raises:
            UnknownModel: the model has no version.
        """
        versions = self.store.list_versions(name)
        if not versions:
            raise UnknownModel(name)
        return [self._describe(name, version) for version in reversed(versions)]

    def _describe(self, name: str, version: int) -> VersionDescription:
        signature = self.store.version_signature(name, version)
        with self._lock:
            known = self._seen.get((name, version))
        if known and known[0] == signature:
            return known[1]

        def serving_check(model: str, number: int) -> dict[str, Any]:
            return load_version(self.store, model, number).manifest

        description = self.store.describe_version(name, version, serving_check)
        with self._lock:
            self._seen[(name, version)] = (signature, description)
        return description

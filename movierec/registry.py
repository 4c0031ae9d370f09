"""Which model versions a serving process has loaded, refreshed from the store.

`refresh()` verifies and loads new versions beside the old ones, then swaps in a new
immutable snapshot in one assignment: a request holds the LoadedVersion it started with, so
a swap never fails or changes a request in flight.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

from movierec.arrays import load_arrays
from movierec.catalog import CATALOG_FILE, load_catalog
from movierec.errors import CorruptVersion, ModelNotReady, UnknownModel, UnknownVersion
from movierec.kinds import KINDS
from movierec.kinds.base import Scorer
from movierec.model_store import (
    WEIGHTS_FILE,
    ModelStore,
    VersionDescription,
    check_model_name,
)

logger = logging.getLogger(__name__)

AVAILABLE, FAILED, UNLOADED = "AVAILABLE", "FAILED", "UNLOADED"


@dataclasses.dataclass(frozen=True)
class LoadedVersion:
    """A verified version in memory, ready to score."""

    name: str
    version: int
    kind: str
    objective: str
    manifest: dict[str, Any]
    scorer: Scorer


@dataclasses.dataclass(frozen=True)
class VersionState:
    """What the serving process made of one version folder."""

    version: int
    state: str
    kind: str = ""
    error: str = ""
    at: float = 0.0
    signature: tuple = ()


@dataclasses.dataclass(frozen=True)
class ModelState:
    """Serving state of one model: the serving version (0 if none) and each version's state,
    newest first.
    """

    name: str
    serving_version: int
    versions: tuple[VersionState, ...]


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    loaded: dict[str, dict[int, LoadedVersion]]
    states: dict[str, dict[int, VersionState]]


def load_version(store: ModelStore, name: str, version: int) -> LoadedVersion:
    """Verifies a version's format and checksums, loads it with its kind's numpy half
    (which checks the arrays' shapes and finiteness) and answers one real query per RPC on
    it, so that a version which cannot answer is never swapped in.

    Raises:
        CorruptVersion: incomplete, mismatching, unreadable, of another format version, or
            of a kind or objective this server does not know.
    """
    manifest = store.verify_version(name, version)
    label = f"{name} version {version}"
    kind = KINDS[manifest["kind"]]  # verify_version checked kind and objective
    folder = store.version_path(name, version)
    serving = kind.serving()
    try:
        catalog = load_catalog(folder / CATALOG_FILE)
        weights = load_arrays(folder / WEIGHTS_FILE, serving.WEIGHT_ARRAYS)
        scorer = serving.load_scorer(weights, catalog, manifest)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise CorruptVersion(f"{label}: unreadable arrays: {error}") from error
    try:
        scorer.probe()
    except (ValueError, IndexError, TypeError, FloatingPointError) as error:
        raise CorruptVersion(f"{label}: cannot answer: {error}") from error
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


class ModelRegistry:
    """Loaded versions of every model in a store, newest `keep_versions` of each.

    Args:
        store: The model store to watch.
        keep_versions: How many of a model's newest good versions stay loaded (>= 1).
    """

    def __init__(self, store: ModelStore, keep_versions: int = 2):
        if keep_versions < 1:
            raise ValueError(f"keep_versions must be >= 1, got {keep_versions}")
        self.store = store
        self.keep_versions = keep_versions
        self._snapshot = _Snapshot({}, {})
        self._refresh_lock = threading.Lock()

    def refresh(self) -> bool:
        """Polls the store once: loads new good versions, records refused ones, retires old
        ones beyond keep_versions. Never raises for a bad version folder.

        Returns:
            True when the set of loaded versions changed.
        """
        with self._refresh_lock:
            old = self._snapshot
            loaded: dict[str, dict[int, LoadedVersion]] = {}
            states: dict[str, dict[int, VersionState]] = {}
            for name in self.store.list_models():
                loaded[name], states[name] = self._refresh_model(
                    name, old.loaded.get(name, {}), old.states.get(name, {})
                )
            changed = {n: set(v) for n, v in loaded.items()} != {
                n: set(v) for n, v in old.loaded.items()
            }
            self._snapshot = _Snapshot(loaded, states)
            return changed

    def _refresh_model(
        self, name: str, old_loaded: dict[int, LoadedVersion], old_states: dict[int, VersionState]
    ) -> tuple[dict[int, LoadedVersion], dict[int, VersionState]]:
        loaded: dict[int, LoadedVersion] = {}
        states = dict(old_states)
        for version in reversed(self.store.list_versions(name)):
            if len(loaded) == self.keep_versions:
                break
            if version in old_loaded:
                loaded[version] = old_loaded[version]
                continue
            previous = old_states.get(version)
            signature = self.store.version_signature(name, version)
            if previous and previous.state == FAILED and previous.signature == signature:
                continue  # refused before and unchanged on disk: not hashed again
            try:
                loaded[version] = load_version(self.store, name, version)
            except Exception as error:  # noqa: BLE001 - one bad folder must not stop serving
                if previous is None or previous.error != str(error):
                    logger.warning("refusing %s version %d: %s", name, version, error)
                states[version] = VersionState(
                    version, FAILED, "", str(error), time.time(), signature
                )
                continue
            logger.info("loaded %s version %d", name, version)
            states[version] = VersionState(
                version, AVAILABLE, loaded[version].kind, "", time.time()
            )
        for version, entry in old_loaded.items():
            if version not in loaded:
                logger.info("unloaded %s version %d", name, version)
                states[version] = VersionState(version, UNLOADED, entry.kind, "", time.time())
        on_disk = set(self.store.list_versions(name))
        return loaded, {v: state for v, state in states.items() if v in on_disk or v in loaded}

    def get(self, name: str, version: int = 0) -> LoadedVersion:
        """The loaded version to answer with: `version`, or the newest loaded when 0.

        Raises:
            InvalidRequest: malformed name.
            ModelNotReady: nothing is loaded at all, or nothing of this model yet.
            UnknownModel: the model is not in the store while others are served.
            UnknownVersion: the version is not loaded (the message lists the loaded ones).
        """
        check_model_name(name)
        snapshot = self._snapshot
        versions = snapshot.loaded.get(name)
        if not versions:
            if not any(snapshot.loaded.values()):
                raise ModelNotReady("no model version is loaded yet")
            if name not in snapshot.states:
                raise UnknownModel(name)
            raise ModelNotReady(f"no version of model {name!r} is loaded yet")
        if version == 0:
            return versions[max(versions)]
        if version not in versions:
            loaded = ", ".join(str(v) for v in sorted(versions))
            raise UnknownVersion(name, version, f"loaded versions: {loaded}")
        return versions[version]

    def is_serving(self) -> bool:
        """True once at least one version of any model is loaded."""
        return any(self._snapshot.loaded.values())

    def status(self, name: str = "") -> list[ModelState]:
        """Serving state of one model (or all, sorted by name).

        Raises:
            UnknownModel: `name` given and never seen in the store.
        """
        snapshot = self._snapshot
        if name:
            check_model_name(name)
            if name not in snapshot.states:
                raise UnknownModel(name)
        names = [name] if name else sorted(snapshot.states)
        result = []
        for model in names:
            loaded = snapshot.loaded.get(model, {})
            states = snapshot.states.get(model, {})
            result.append(
                ModelState(
                    name=model,
                    serving_version=max(loaded) if loaded else 0,
                    versions=tuple(states[v] for v in sorted(states, reverse=True)),
                )
            )
        return result

"""Which model versions a serving process has loaded, refreshed from the store.

`refresh()` verifies and loads new versions beside the old ones, then swaps in a new
immutable snapshot in one assignment: a request holds the LoadedVersion it started with, so
a swap never fails or changes a request in flight.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import logging
import threading
import time
import weakref
from typing import Any, BinaryIO

from movierec.ann import DEFAULT_MIN_ITEMS, attach_indexes
from movierec.arrays import load_arrays
from movierec.catalog import CATALOG_FILE, load_catalog
from movierec.errors import (
    CorruptVersion,
    InvalidRequest,
    ModelNotReady,
    NotFound,
    PolicyConflict,
    UnknownModel,
    UnknownVersion,
)
from movierec.kinds import KINDS
from movierec.kinds.base import Scorer
from movierec.model_store import (
    WEIGHTS_FILE,
    ModelStore,
    VersionDescription,
    check_model_name,
)
from movierec.serving_policy import (
    FLAG,
    ServingPolicy,
    check_reason,
    policy_of_record,
    record_of,
)
from movierec.top_lists import DEFAULT_MAX_CELLS, attach_top_lists
from movierec.two_stage import check_source_in_store

logger = logging.getLogger(__name__)

AVAILABLE, FAILED, UNLOADED = "AVAILABLE", "FAILED", "UNLOADED"


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
    """Serving state of one model: the serving version (0 if none), each version's state,
    newest first, and the policy choosing the serving version.
    """

    name: str
    serving_version: int
    versions: tuple[VersionState, ...]
    policy: ServingPolicy = ServingPolicy()
    keep_versions: int = 0


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    loaded: dict[str, dict[int, LoadedVersion]]
    states: dict[str, dict[int, VersionState]]
    serving: dict[str, int]
    policies: dict[str, ServingPolicy]


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
    kind = KINDS[manifest["kind"]]  # check_version_files checked kind and objective
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


class ModelRegistry:
    """Loaded versions of every model in a store: the newest `keep_versions` good ones of
    each, and its pinned version (movierec.serving_policy) wherever that is.

    Args:
        store: The model store to watch.
        keep_versions: How many of a model's newest good versions stay loaded (>= 1).
        pins: Versions pinned by this process's flags, by model; they win over the store's
            policy files.
        ann_min_items: Catalogues of at least this many items answer Recommend and
            SimilarItems from an approximate index (movierec.ann).
        top_lists_max_cells: Versions whose users x items (for Recommend) or items x
            items (for SimilarItems) is at most this get top lists (movierec.top_lists)
            from build_top_lists; 0 builds none.
    """

    def __init__(
        self,
        store: ModelStore,
        keep_versions: int = 2,
        pins: dict[str, int] | None = None,
        ann_min_items: int = DEFAULT_MIN_ITEMS,
        top_lists_max_cells: int = DEFAULT_MAX_CELLS,
    ):
        if keep_versions < 1:
            raise ValueError(f"keep_versions must be >= 1, got {keep_versions}")
        self.store = store
        self.keep_versions = keep_versions
        self.pins = dict(pins or {})
        self.ann_min_items = ann_min_items
        self.top_lists_max_cells = top_lists_max_cells
        self._listed: weakref.WeakSet[LoadedVersion] = weakref.WeakSet()
        self._snapshot = _Snapshot({}, {}, {}, {})
        self._checked: dict[tuple[str, int], tuple[tuple, LoadedVersion]] = {}
        self._refresh_lock = threading.Lock()
        self.load_failures = 0
        """Versions refused so far (each refusal of a changed folder counts once)."""
        self.swaps = 0
        """Refreshes that changed what is loaded or served."""
        self.swap_seconds = 0.0
        """Total seconds of those refreshes (verifying, loading, probing)."""

    def refresh(self) -> bool:
        """Polls the store once: reads each model's policy, loads new good versions and the
        pinned one, records refused ones, retires old ones beyond keep_versions. Never
        raises for a bad version folder or policy file.

        Returns:
            True when the set of loaded versions, or a serving version, changed.
        """
        with self._refresh_lock:
            started = time.perf_counter()
            old = self._snapshot
            snapshot = _Snapshot({}, {}, {}, {})
            for name in self.store.list_models():
                policy = self._policy(name, old.policies.get(name))
                loaded, states = self._refresh_model(
                    name, policy.pinned_version, old.loaded.get(name, {}), old.states.get(name, {})
                )
                snapshot.loaded[name], snapshot.states[name] = loaded, states
                snapshot.serving[name], snapshot.policies[name] = _serving_version(
                    loaded, states, policy
                )
            changed = {n: set(v) for n, v in snapshot.loaded.items()} != {
                n: set(v) for n, v in old.loaded.items()
            } or snapshot.serving != old.serving
            for name, version in snapshot.serving.items():
                if old.serving.get(name) != version and version:
                    logger.info("%s now serves version %d", name, version)
            self._snapshot = snapshot
            if changed:
                self.swaps += 1
                self.swap_seconds += time.perf_counter() - started
            return changed

    def loaded(self) -> list[LoadedVersion]:
        """Every loaded version, by model name and version number."""
        snapshot = self._snapshot
        return [
            snapshot.loaded[name][number]
            for name in sorted(snapshot.loaded)
            for number in sorted(snapshot.loaded[name])
        ]

    def build_top_lists(self) -> int:
        """Ranks the top lists of every loaded version that is small enough and has none
        yet (seconds of CPU for the largest; call it off the request path). A version
        answers per call until its lists are in place, and the same afterwards.

        Returns:
            How many versions got lists.
        """
        built = 0
        for entry in self.loaded():
            if entry in self._listed:
                continue
            self._listed.add(entry)
            started = time.perf_counter()
            try:
                if attach_top_lists(entry.scorer, self.top_lists_max_cells):
                    built += 1
                    logger.info(
                        "ranked the top lists of %s version %d in %.2fs",
                        entry.name,
                        entry.version,
                        time.perf_counter() - started,
                    )
            except (MemoryError, ValueError, IndexError) as error:
                logger.warning(
                    "%s version %d answers per call: cannot rank its top lists: %s",
                    entry.name,
                    entry.version,
                    error,
                )
        return built

    def _policy(self, name: str, previous: ServingPolicy | None) -> ServingPolicy:
        if name in self.pins:
            return ServingPolicy(self.pins[name], FLAG, "--pin")
        try:
            return policy_of_record(self.store.read_policy(name))
        except CorruptVersion as error:
            if previous is None or previous.error != str(error):
                logger.warning("ignoring the serving policy of %s: %s", name, error)
            return ServingPolicy(error=str(error))

    def _refresh_model(
        self,
        name: str,
        pinned: int,
        old_loaded: dict[int, LoadedVersion],
        old_states: dict[int, VersionState],
    ) -> tuple[dict[int, LoadedVersion], dict[int, VersionState]]:
        loaded: dict[int, LoadedVersion] = {}
        states = dict(old_states)
        on_disk = self.store.list_versions(name)
        newest_first = list(reversed(on_disk))
        if pinned in on_disk:
            newest_first.remove(pinned)
            newest_first.insert(0, pinned)  # loaded whatever its age
        newest = 0
        for version in newest_first:
            if newest == self.keep_versions:
                break
            entry = self._load(name, version, old_loaded, old_states, states)
            if entry is not None:
                loaded[version] = entry
                newest += version != pinned
        for version, entry in old_loaded.items():
            if version not in loaded:
                logger.info("unloaded %s version %d", name, version)
                states[version] = VersionState(version, UNLOADED, entry.kind, "", time.time())
        kept = set(on_disk) | set(loaded)
        return loaded, {v: state for v, state in states.items() if v in kept}

    def _load(
        self,
        name: str,
        version: int,
        old_loaded: dict[int, LoadedVersion],
        old_states: dict[int, VersionState],
        states: dict[int, VersionState],
    ) -> LoadedVersion | None:
        """The version loaded (reused when already loaded), or None when it is refused;
        records the outcome in `states`."""
        if version in old_loaded:
            return old_loaded[version]
        previous = old_states.get(version)
        signature = self.store.version_signature(name, version)
        if previous and previous.state == FAILED and previous.signature == signature:
            return None  # refused before and unchanged on disk: not hashed again
        checked = self._checked.pop((name, version), None)
        try:
            if checked is not None and checked[0] == signature:
                entry = checked[1]  # loaded by set_policy a moment ago
            else:
                entry = load_version(self.store, name, version, self.ann_min_items)
        except Exception as error:  # noqa: BLE001 - one bad folder must not stop serving
            if previous is None or previous.error != str(error):
                logger.warning("refusing %s version %d: %s", name, version, error)
            self.load_failures += 1
            states[version] = VersionState(version, FAILED, "", str(error), time.time(), signature)
            return None
        logger.info("loaded %s version %d", name, version)
        states[version] = VersionState(version, AVAILABLE, entry.kind, "", time.time())
        return entry

    def get(self, name: str, version: int = 0) -> LoadedVersion:
        """The loaded version to answer with: `version`, or the serving one when 0 (the
        pinned version, else the newest loaded).

        Raises:
            InvalidRequest: malformed name.
            ModelNotReady: nothing is loaded at all, or nothing of this model yet.
            UnknownModel: the model is not in the store while others are served.
            UnknownVersion: the version is not loaded (the message lists the loaded ones).
        """
        snapshot = self._snapshot
        versions = snapshot.loaded.get(name)
        if not versions:
            check_model_name(name)  # loaded names are well formed
            if not any(snapshot.loaded.values()):
                raise ModelNotReady("no model version is loaded yet")
            if name not in snapshot.states:
                raise UnknownModel(name)
            raise ModelNotReady(f"no version of model {name!r} is loaded yet")
        if version == 0:
            return versions[snapshot.serving[name]]
        if version not in versions:
            loaded = ", ".join(str(v) for v in sorted(versions))
            raise UnknownVersion(name, version, f"loaded versions: {loaded}")
        return versions[version]

    def set_policy(
        self, name: str, version: int = 0, rollback: bool = False, reason: str = ""
    ) -> ModelState:
        """Pins `version` (0: follow the newest again), or with `rollback` the newest good
        version older than the one serving, in the store's policy file, so every serving
        process on the store follows; then refreshes this one. A version is pinned only
        once this process has loaded it and it has answered its probe queries.

        Returns:
            The model's state under the new policy.

        Raises:
            InvalidRequest: malformed name or reason, or a version < 0.
            UnknownModel: no version of the model in the store.
            UnknownVersion: no such version.
            NotFound: no good version older than the serving one to roll back to.
            CorruptVersion: the version cannot be served (the reason says why).
            PolicyConflict: this process pins the model by flag, or the store cannot be
                written.
        """
        check_model_name(name)
        check_reason(reason)
        if version < 0:
            raise InvalidRequest(f"version must be >= 1, got {version}")
        if name in self.pins:
            raise PolicyConflict(
                f"{name} is pinned to version {self.pins[name]} by --pin on this server;"
                " restart it without the flag to change the policy"
            )
        on_disk = self.store.list_versions(name)
        if not on_disk:
            raise UnknownModel(name)
        if rollback:
            version = self._rollback_target(name, on_disk)
            reason = reason or f"rollback from version {self._snapshot.serving.get(name, 0)}"
        elif version:
            if version not in on_disk:
                raise UnknownVersion(name, version, f"versions in the store: {on_disk}")
            self._check_servable(name, version)
        try:
            try:
                self.store.write_policy(name, record_of(version, reason, time.time()))
            except OSError as error:
                raise PolicyConflict(
                    f"cannot write the serving policy of {name}: {error}"
                ) from None
            self.refresh()
        finally:
            self._checked.clear()
        return self.status(name)[0]

    def _rollback_target(self, name: str, on_disk: list[int]) -> int:
        current = self._snapshot.serving.get(name, 0)
        if not current:
            raise ModelNotReady(f"no version of model {name!r} is serving; nothing to roll back")
        for candidate in reversed([v for v in on_disk if v < current]):
            try:
                self._check_servable(name, candidate)
            except CorruptVersion:
                continue
            return candidate
        raise NotFound(f"no good version of {name} older than version {current} to roll back to")

    def _check_servable(self, name: str, version: int) -> None:
        """Loads the version unless it is loaded, keeping it for the refresh that follows
        (so that it is not verified and loaded twice)."""
        if version in self._snapshot.loaded.get(name, {}):
            return
        signature = self.store.version_signature(name, version)
        try:
            loaded = load_version(self.store, name, version, self.ann_min_items)
        except CorruptVersion as error:
            raise CorruptVersion(f"{name} version {version} cannot be served: {error}") from None
        self._checked[(name, version)] = (signature, loaded)

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
            states = snapshot.states.get(model, {})
            result.append(
                ModelState(
                    name=model,
                    serving_version=snapshot.serving.get(model, 0),
                    versions=tuple(states[v] for v in sorted(states, reverse=True)),
                    policy=snapshot.policies.get(model, ServingPolicy()),
                    keep_versions=self.keep_versions,
                )
            )
        return result


def _serving_version(
    loaded: dict[int, LoadedVersion], states: dict[int, VersionState], policy: ServingPolicy
) -> tuple[int, ServingPolicy]:
    """The version answering by default, and the policy with the reason a pin is not
    honoured (the newest loaded version answers meanwhile)."""
    pinned = policy.pinned_version
    if not pinned or pinned in loaded:
        return (pinned or max(loaded, default=0)), policy
    state = states.get(pinned)
    why = state.error if state and state.error else "it is not in the store"
    error = f"pinned version {pinned} cannot be served ({why}); the newest good one answers"
    return max(loaded, default=0), dataclasses.replace(policy, error=error)

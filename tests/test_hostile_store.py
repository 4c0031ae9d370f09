"""Hostile data files in a version: every file a version holds, replaced by a FIFO, a link
(to /dev/zero, to a FIFO or a regular file outside the store), a folder, or a file of
another size, is refused with the reason, without blocking and without reading it, and the
next good version serves."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import threading
import time

import pytest

from movierec.errors import CorruptVersion
from movierec.kinds.versions import VersionAudit
from movierec.serving.registry import AVAILABLE, FAILED, ModelRegistry
from movierec.store.model_store import MANIFEST_FILE, ModelStore
from tests.fakes import publish_with_artifacts

FILES = ("weights.npz", "catalog.npz", "model.keras", "loss.png")
"""Every file of the test's versions: the serving arrays, the Keras model (hashed only) and
an artifact (streamed by GetArtifact)."""


def _fifo(path: pathlib.Path, outside: pathlib.Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _link_to_dev_zero(path: pathlib.Path, outside: pathlib.Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def _link_to_fifo_outside(path: pathlib.Path, outside: pathlib.Path) -> None:
    os.mkfifo(outside / "fifo")
    path.unlink()
    path.symlink_to(outside / "fifo")


def _link_to_file_outside(path: pathlib.Path, outside: pathlib.Path) -> None:
    copy = outside / path.name  # the same bytes: only the link is wrong
    shutil.copyfile(path, copy)
    path.unlink()
    path.symlink_to(copy)


def _folder(path: pathlib.Path, outside: pathlib.Path) -> None:
    path.unlink()
    path.mkdir()


def _longer(path: pathlib.Path, outside: pathlib.Path) -> None:
    with open(path, "ab") as out:
        out.write(b"\0" * 10)


HOSTILE = {
    "fifo": (_fifo, "is not a regular file"),
    "link to /dev/zero": (_link_to_dev_zero, "is a symbolic link"),
    "link to a FIFO outside": (_link_to_fifo_outside, "is a symbolic link"),
    "link to a file outside": (_link_to_file_outside, "is a symbolic link"),
    "folder": (_folder, "is not a regular file"),
    "size mismatch": (_longer, "bytes, the manifest says"),
}


def _publish(store: ModelStore) -> int:
    return publish_with_artifacts(
        store, "m", {"model.keras": b"keras bytes" * 100, "loss.png": b"png" * 1000}
    )


def _bounded(call, seconds: float = 5.0):
    """call() on a thread; fails the test, rather than hanging it, when call blocks."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds}s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], time.monotonic() - started


@pytest.mark.parametrize("filename", FILES)
@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_a_hostile_data_file_is_refused_at_once_and_the_next_good_version_serves(
    store, tmp_path, filename, hostile
):
    damage, reason = HOSTILE[hostile]
    _publish(store)
    _publish(store)
    _publish(store)
    outside = tmp_path / "outside"
    outside.mkdir()
    damage(store.version_path("m", 2) / filename, outside)

    registry = ModelRegistry(store, keep_versions=3)
    _, seconds = _bounded(registry.refresh)
    assert seconds < 1.0
    assert registry.get("m").version == 3
    states = {state.version: state for state in registry.status("m")[0].versions}
    assert [states[v].state for v in (3, 2, 1)] == [AVAILABLE, FAILED, AVAILABLE]
    assert filename in states[2].error and reason in states[2].error

    listed, _ = _bounded(lambda: VersionAudit(store).describe("m"))  # the trainer's ListModels
    assert [v.ready for v in listed] == [True, False, True]
    assert reason in listed[1].error
    if filename == "loss.png":  # the trainer's GetArtifact
        with pytest.raises(CorruptVersion, match=reason):
            _bounded(lambda: b"".join(store.open_artifact("m", 2, "loss.png").chunks()))


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_versions_without_recorded_sizes_are_still_checked_as_far_as_they_can_be(
    store, tmp_path, hostile
):
    damage, reason = HOSTILE[hostile]
    _publish(store)
    _publish(store)
    for version in (1, 2):  # as published before sizes were recorded
        path = store.version_path("m", version) / MANIFEST_FILE
        manifest = json.loads(path.read_text())
        del manifest["sizes"]
        path.write_text(json.dumps(manifest))
    outside = tmp_path / "outside"
    outside.mkdir()
    damage(store.version_path("m", 2) / "weights.npz", outside)

    registry = ModelRegistry(store)
    _bounded(registry.refresh)
    assert registry.get("m").version == 1  # an old manifest without sizes still loads
    refused = registry.status("m")[0].versions[0]
    assert refused.state == FAILED
    assert ("has sha256" if hostile == "size mismatch" else reason) in refused.error


@pytest.mark.parametrize(
    ("sizes", "reason"),
    [
        ({"weights.npz": 1}, "sizes do not list exactly its files"),
        ([], "sizes do not list exactly its files"),
        ("negative", "manifest size of weights.npz is -1"),
        ("true", "manifest size of weights.npz is True"),
    ],
)
def test_malformed_recorded_sizes_make_a_version_corrupt(store, sizes, reason):
    _publish(store)
    path = store.version_path("m", 1) / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    if sizes == "negative":
        manifest["sizes"]["weights.npz"] = -1
    elif sizes == "true":
        manifest["sizes"]["weights.npz"] = True
    else:
        manifest["sizes"] = sizes
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptVersion, match=reason):
        store.check_version_files("m", 1)


def test_publish_records_the_size_of_every_file(store):
    _publish(store)
    folder = store.version_path("m", 1)
    manifest = store.read_manifest("m", 1)
    assert set(manifest["sizes"]) == set(manifest["files"]) == set(FILES)
    assert all(manifest["sizes"][name] == (folder / name).stat().st_size for name in FILES)


@pytest.mark.service
def test_a_fifo_in_a_version_never_wedges_either_service(store, start_serving, start_trainer):
    from movierec_client.sdk import ServingClient, TrainerClient

    _publish(store)
    _publish(store)
    _publish(store)
    weights = store.version_path("m", 2) / "weights.npz"
    weights.unlink()
    os.mkfifo(weights)
    serving, serving_address = start_serving(store.root, keep_versions=3)
    _, trainer_address = start_trainer(store.root)
    with ServingClient(serving_address, timeout=5) as client:
        (status,) = client.status("m")
        assert status.serving_version == 3
        assert "weights.npz is not a regular file" in status.versions[1].error
        assert client.set_serving_version("m", 1).serving_version == 1
    with TrainerClient(trainer_address, timeout=5) as client:
        (model,) = client.list_models("m")
        assert [v.state for v in model.versions] == ["READY", "CORRUPT", "READY"]
    started = time.monotonic()
    serving.stop(1)
    assert time.monotonic() - started < 3

import json
import threading

import pytest

from movierec.errors import CorruptVersion, InvalidRequest, UnknownModel, UnknownVersion
from tests.fakes import publish_fake


def test_versions_count_up_from_one(store):
    assert [publish_fake(store, "m") for _ in range(3)] == [1, 2, 3]
    assert store.list_versions("m") == [1, 2, 3]
    assert store.latest_version("m") == 3
    assert store.list_models() == ["m"]


def test_manifest_records_checksums_and_metadata(store):
    publish_fake(store, "m")
    manifest = store.verify_version("m", 1)
    assert manifest["version"] == 1 and manifest["model_name"] == "m"
    assert manifest["kind"] == "dot"
    assert set(manifest["files"]) == {"weights.npz", "catalog.npz"}
    assert len(manifest["files"]["weights.npz"]) == 64 and manifest["format_version"] == 2


def test_staging_folders_are_invisible_and_removed_on_failure(store):
    def explode(folder):
        (folder / "partial.bin").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store.publish_version("m", {"kind": "dot"}, explode)
    assert store.list_versions("m") == []
    assert list(store.model_path("m").glob(".staging-*")) == []


def test_tampered_file_fails_verification(store):
    publish_fake(store, "m")
    bundle = store.version_path("m", 1) / "weights.npz"
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    with pytest.raises(CorruptVersion, match="weights.npz has sha256"):
        store.verify_version("m", 1)
    assert not store.describe_versions("m")[0].ready


def test_half_written_version_folder_is_corrupt(store):
    publish_fake(store, "m")
    (store.model_path("m") / "2").mkdir()  # e.g. a copy interrupted by hand
    with pytest.raises(CorruptVersion, match="unreadable manifest"):
        store.verify_version("m", 2)
    described = store.describe_versions("m")
    assert [(d.version, d.ready) for d in described] == [(2, False), (1, True)]


def test_missing_file_listed_in_manifest_is_corrupt(store):
    publish_fake(store, "m")
    folder = store.version_path("m", 1)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.keras"] = "0" * 64
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptVersion, match="model.keras is missing"):
        store.verify_version("m", 1)


def test_unknown_model_and_version(store):
    with pytest.raises(UnknownModel, match="'nope'"):
        store.latest_version("nope")
    publish_fake(store, "m")
    with pytest.raises(UnknownVersion, match="'m' has no version 7"):
        store.read_manifest("m", 7)


@pytest.mark.parametrize("name", ["", "../etc", ".hidden", "a/b", "x" * 65, "sp ace", "films\n"])
def test_bad_model_names_are_refused(store, name):
    with pytest.raises(InvalidRequest, match="bad model name"):
        store.model_path(name)


def test_concurrent_publishers_never_share_a_version(store):
    versions = []
    lock = threading.Lock()

    def publish():
        version = publish_fake(store, "m")
        with lock:
            versions.append(version)

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions) == list(range(1, 9))


def test_file_not_in_the_manifest_makes_a_version_corrupt(store):
    publish_fake(store, "m")
    (store.version_path("m", 1) / "extra.bin").write_bytes(b"?")
    with pytest.raises(CorruptVersion, match="files not in the manifest: extra.bin"):
        store.verify_version("m", 1)


def test_only_plain_positive_numbers_are_versions(store):
    publish_fake(store, "m")
    for name in ("0", "007", "\u00b2", "3a", ".staging-x"):
        (store.model_path("m") / name).mkdir()
    assert store.list_versions("m") == [1]

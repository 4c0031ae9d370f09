import os
import time

import numpy as np
import pytest

from movierec.errors import (
    InvalidRequest,
    ModelNotReady,
    UnknownModel,
    UnknownUser,
    UnknownVersion,
)
from movierec.kinds.features import UserFeatures
from movierec.kinds.versions import VersionAudit
from movierec.serving.dataplane import POPULAR, ServingDataPlane
from movierec.serving.registry import AVAILABLE, FAILED, UNLOADED, ModelRegistry
from tests.fakes import publish_fake


def corrupt(store, name, version):
    bundle = store.version_path(name, version) / "weights.npz"
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))


def test_nothing_loaded_is_not_ready(store):
    registry = ModelRegistry(store)
    registry.refresh()
    assert not registry.is_serving()
    with pytest.raises(ModelNotReady, match="no model version is loaded"):
        registry.get("any")


def test_newest_version_serves_and_older_stay_until_retired(store):
    registry = ModelRegistry(store, keep_versions=2)
    publish_fake(store, "m")
    assert registry.refresh()
    assert registry.get("m").version == 1
    publish_fake(store, "m", shift=0.1)
    publish_fake(store, "m", shift=0.2)
    assert registry.refresh()
    assert registry.get("m").version == 3
    assert registry.get("m", 2).version == 2
    with pytest.raises(UnknownVersion, match="no version 1 .loaded versions: 2, 3"):
        registry.get("m", 1)
    (status,) = registry.status("m")
    assert status.serving_version == 3
    assert [(v.version, v.state) for v in status.versions] == [
        (3, AVAILABLE),
        (2, AVAILABLE),
        (1, UNLOADED),
    ]
    assert not registry.refresh()


def test_corrupt_new_version_is_refused_and_the_last_good_keeps_serving(store, caplog):
    registry = ModelRegistry(store)
    publish_fake(store, "m")
    registry.refresh()
    publish_fake(store, "m", shift=0.5)
    corrupt(store, "m", 2)
    registry.refresh()
    assert registry.get("m").version == 1
    (status,) = registry.status("m")
    assert status.serving_version == 1
    refused = status.versions[0]
    assert (refused.version, refused.state) == (2, FAILED)
    assert "weights.npz has sha256" in refused.error
    assert "refusing m version 2" in caplog.text
    caplog.clear()
    registry.refresh()
    assert "refusing" not in caplog.text  # said once, not at every poll


def test_half_written_folder_is_never_loaded(store):
    registry = ModelRegistry(store)
    publish_fake(store, "m")
    (store.model_path("m") / "2").mkdir()
    (store.model_path("m") / "2" / "weights.npz").write_bytes(b"partial")
    registry.refresh()
    assert registry.get("m").version == 1
    assert "unreadable manifest" in registry.status("m")[0].versions[0].error


def test_unknown_model_while_others_serve(store):
    registry = ModelRegistry(store)
    publish_fake(store, "m")
    registry.refresh()
    with pytest.raises(UnknownModel, match="'other'"):
        registry.get("other")
    with pytest.raises(InvalidRequest, match="bad model name"):
        registry.get("../m")


def test_requests_in_flight_keep_their_version_across_a_swap(store):
    registry = ModelRegistry(store)
    publish_fake(store, "m")
    registry.refresh()
    held = registry.get("m")
    publish_fake(store, "m", shift=1.0)
    registry.refresh()
    assert registry.get("m").version == 2
    # the held version still answers with its own arrays
    scorer = held.scorer
    assert held.version == 1
    assert scorer.pair_scores(scorer.queries[[1]], np.array([1])).tolist() == [4.5]


@pytest.fixture
def plane(store):
    publish_fake(store, "m")
    registry = ModelRegistry(store)
    registry.refresh()
    return ServingDataPlane(registry, max_k=3, max_batch=2)


def test_plane_validates_k_and_batch(plane):
    with pytest.raises(InvalidRequest, match="k must be between 1 and 3, got 0"):
        plane.recommend("m", 0, 10, 0)
    with pytest.raises(InvalidRequest, match="got 4"):
        plane.similar_items("m", 0, 100, 4)
    with pytest.raises(InvalidRequest, match="1 to 2 instances, got 0"):
        plane.predict("m", 0, [], [])
    with pytest.raises(InvalidRequest, match="got 3"):
        plane.predict("m", 0, [10, 10, 10], [100, 101, 102])


def test_plane_answers_name_the_version(plane):
    answer = plane.recommend("m", 0, 10, 2)
    assert (answer.model.name, answer.model.version, answer.model.kind) == ("m", 1, "dot")
    assert answer.model.objective == "rating"
    assert [i.item_id for i in answer.value.items] == [102, 101]
    with pytest.raises(UnknownUser):
        plane.recommend("m", 0, 11, 2)


def test_plane_answers_features_for_dot_models_with_the_fallback(plane):
    answer = plane.recommend("m", 0, None, 2, features=UserFeatures({"Drama": 5.0}))
    assert answer.value.strategy == POPULAR


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (UserFeatures({}), "at least one genre"),
        (UserFeatures({"Western": 4.0}), r"genre_ratings\['Western'\]: unknown genre"),
        (UserFeatures({"Drama": float("nan")}), r"genre_ratings\['Drama'\] must be a finite"),
        (UserFeatures({"Drama": float("inf")}), "finite rating from 1 to 5"),
        (UserFeatures({"Drama": 6.0}), "finite rating from 1 to 5, got 6.0"),
        (UserFeatures({"Drama": 4.0}, mean_rating=0.5), "mean_rating"),
        (UserFeatures({"Drama": 4.0}, rating_count=-1), "rating_count"),
        (UserFeatures({"Drama": 4.0}, age=0), "age"),
        (UserFeatures({"Drama": 4.0}, gender="X"), "gender"),
    ],
)
def test_plane_refuses_bad_features_naming_the_field(plane, features, message):
    with pytest.raises(InvalidRequest, match=message):
        plane.recommend("m", 0, None, 2, features=features)
    with pytest.raises(InvalidRequest, match=message):
        plane.predict("m", 0, [None], [100], [features])


def test_plane_metrics_baseline_and_popularity(plane, store):
    evaluation, baseline, popular = plane.evaluate("m", 0)
    assert evaluation.split == "fake/test" and evaluation.num_ratings == 4
    # max_k is 3 here, so the default cut-off is 3 and is computed on demand
    assert {"rmse", "mae", "ndcg@3", "precision@3", "coverage@3"} <= set(evaluation.values)
    assert baseline is None
    # most-popular on the fake split: counts 100 1, 101 1, 104 1 (others 0), ties by row.
    # User 10 (seen 100, 104) gets 101 first: relevant {101} -> ndcg 1; user 30 (nothing
    # seen) gets 100, 101, 104 and its relevant 102 is not among them -> 0
    assert popular.model.name == "most-popular" and popular.values["ndcg@3"] == 0.5
    publish_fake(store, "m", shift=0.5)
    publish_fake(store, "other", shift=0.2)
    plane.registry.refresh()
    evaluation, baseline, _ = plane.evaluate("m", 0, baseline_version=1)
    assert (evaluation.model.version, baseline.model.version) == (2, 1)
    assert evaluation.values["mae"] != baseline.values["mae"]
    _, across, _ = plane.evaluate("m", 0, baseline_name="other", baseline_version=0)
    assert (across.model.name, across.model.version) == ("other", 1)
    strict = plane.evaluate("m", 0, k=2, threshold=5.0)[0].values
    assert strict["hit_rate@2"] == 1.0  # only user 30's 5-star 102 is relevant: ranked first
    with pytest.raises(InvalidRequest, match="relevance_threshold must be on the rating scale"):
        plane.evaluate("m", 0, threshold=7.0)


def test_plane_refuses_a_baseline_trained_on_other_data(plane, store):
    import json

    from movierec.store.model_store import MANIFEST_FILE

    publish_fake(store, "other")
    path = store.version_path("other", 1) / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "split": "fake/other"}))
    plane.registry.refresh()
    with pytest.raises(InvalidRequest, match="was trained on 'fake/other', not on the same"):
        plane.evaluate("m", 0, baseline_name="other", baseline_version=1)


@pytest.mark.parametrize("content", ["[]", '{"files": 3}', '{"files": {"../x": "ab"}}', "nul"])
def test_structurally_bad_manifest_is_refused_not_fatal(store, content):
    registry = ModelRegistry(store)
    publish_fake(store, "m")
    (store.model_path("m") / "2").mkdir()
    (store.model_path("m") / "2" / "manifest.json").write_text(content)
    registry.refresh()
    assert registry.get("m").version == 1
    assert registry.status("m")[0].versions[0].state == FAILED
    publish_fake(store, "m", shift=0.5)  # becomes version 3 and still loads
    registry.refresh()
    assert registry.get("m").version == 3
    assert not store.describe_versions("m")[1].ready


def test_refused_version_is_not_rehashed_until_it_changes(store, monkeypatch):
    import movierec.serving.registry as registry_module

    registry = ModelRegistry(store)
    publish_fake(store, "m")
    publish_fake(store, "m", shift=0.5)
    corrupt(store, "m", 2)
    attempts = []
    real_load = registry_module.load_version

    def counting_load(store_, name, version, *options):
        attempts.append(version)
        return real_load(store_, name, version, *options)

    monkeypatch.setattr(registry_module, "load_version", counting_load)
    registry.refresh()
    registry.refresh()
    assert attempts == [2, 1]  # version 2 refused once, version 1 loaded once
    publish_fake(store, "m", shift=0.5)  # version 3, good
    bundle = store.version_path("m", 2) / "weights.npz"
    bundle.write_bytes((store.version_path("m", 3) / "weights.npz").read_bytes())  # repaired
    registry.refresh()
    # keep_versions=2: 3 takes one slot; 2 changed on disk, so it is tried again and loads
    assert attempts == [2, 1, 3, 2]
    assert registry.get("m", 2).version == 2


def _rewrite_manifest(store, name, version, **changes):
    import json

    from movierec.store.model_store import MANIFEST_FILE

    path = store.version_path(name, version) / MANIFEST_FILE
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"format_version": 3}, "format version 3 is newer than this movierec reads"),
        ({"format_version": 1}, "format version 1 is not 2"),
        ({"kind": "matrix_magic"}, "serving cannot load kind 'matrix_magic'"),
        ({"objective": "clicks"}, "unknown objective 'clicks'"),
    ],
)
def test_version_of_unknown_format_kind_or_objective_is_refused(store, changes, reason):
    registry = ModelRegistry(store)
    publish_fake(store, "m")
    publish_fake(store, "m", shift=0.5)
    _rewrite_manifest(store, "m", 2, **changes)
    registry.refresh()
    assert registry.get("m").version == 1
    refused = registry.status("m")[0].versions[0]
    assert refused.state == FAILED and reason in refused.error
    assert not VersionAudit(store).describe("m")[0].ready  # the kind is the registry's to know


def _publish_arrays(store, weights=None, catalog=None):
    from movierec.store.arrays import save_arrays
    from movierec.store.catalog import CATALOG_FILE, save_catalog
    from movierec.store.model_store import WEIGHTS_FILE
    from tests.fakes import make_catalog, make_weights

    def write(folder):
        save_arrays(folder / WEIGHTS_FILE, weights or make_weights())
        save_catalog(folder / CATALOG_FILE, catalog or make_catalog())

    manifest = {"kind": "dot", "objective": "rating", "kind_params": {}, "split": "fake/test"}
    return store.publish_version("m", manifest, write)


def _bad_versions():
    import dataclasses

    from tests.fakes import make_catalog, make_weights

    wider = make_weights()
    wider["item_embeddings"] = np.hstack([wider["item_embeddings"], np.ones((6, 1), np.float32)])
    nan = make_weights()
    nan["user_embeddings"] = nan["user_embeddings"].copy()
    nan["user_embeddings"][2, 0] = np.nan
    short = dataclasses.replace(make_catalog(), seen_indptr=np.array([0, 0, 2], dtype=np.int64))
    huge_bias = make_weights()
    huge_bias["global_bias"] = np.array(np.inf, dtype=np.float32)
    return [
        ({"weights": wider}, "item vectors have shape"),
        ({"weights": nan}, "NaN or infinite"),
        ({"catalog": short}, "seen_indptr must have users + 2 entries"),
        ({"weights": huge_bias}, "NaN or infinite"),
    ]


@pytest.mark.parametrize(("arrays", "reason"), _bad_versions())
def test_version_that_cannot_answer_is_never_served(store, arrays, reason):
    registry = ModelRegistry(store)
    publish_fake(store, "m")
    _publish_arrays(store, **arrays)
    registry.refresh()
    assert registry.get("m").version == 1
    refused = registry.status("m")[0].versions[0]
    assert refused.version == 2 and refused.state == FAILED and reason in refused.error


def _refused_reason(store, name="m", version=2):
    registry = ModelRegistry(store)
    started = time.monotonic()
    registry.refresh()
    assert time.monotonic() - started < 5  # nothing blocks the watcher
    assert registry.get(name).version == 1
    refused = registry.status(name)[0].versions[0]
    assert refused.version == version and refused.state == FAILED
    assert not store.describe_versions(name)[0].ready  # ListModels agrees
    return refused.error


def test_a_fifo_manifest_never_blocks_the_watcher_or_listing(store):
    publish_fake(store, "m")
    folder = store.model_path("m") / "2"
    folder.mkdir()
    os.mkfifo(folder / "manifest.json")
    assert "manifest.json is not a regular file" in _refused_reason(store)


def test_a_manifest_linked_to_a_device_is_refused(store):
    publish_fake(store, "m")
    folder = store.model_path("m") / "2"
    folder.mkdir()
    (folder / "manifest.json").symlink_to("/dev/zero")
    assert "manifest.json is a symbolic link" in _refused_reason(store)


def test_a_version_folder_linked_outside_the_store_is_refused(store, tmp_path):
    from movierec.store.model_store import ModelStore

    elsewhere = ModelStore(tmp_path / "elsewhere")
    publish_fake(elsewhere, "m")
    publish_fake(store, "m")
    (store.model_path("m") / "2").symlink_to(elsewhere.version_path("m", 1))
    assert "is a symbolic link; versions are real folders" in _refused_reason(store)


def test_a_compressed_array_member_is_refused_even_with_a_valid_checksum(store):
    import json

    from movierec.store.model_store import MANIFEST_FILE, sha256_file
    from tests.fakes import make_weights

    publish_fake(store, "m")
    publish_fake(store, "m")
    folder = store.version_path("m", 2)
    np.savez_compressed(folder / "weights.npz", **make_weights())
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    manifest["files"]["weights.npz"] = sha256_file(folder / "weights.npz")
    manifest["sizes"]["weights.npz"] = (folder / "weights.npz").stat().st_size
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert "is compressed; arrays are stored uncompressed" in _refused_reason(store)


def test_version_audit_agrees_with_serving_and_does_not_recheck_unchanged_versions(
    store, monkeypatch
):
    import movierec.kinds.versions as versions_module

    publish_fake(store, "m")
    bad_arrays, reason = _bad_versions()[0]
    _publish_arrays(store, **bad_arrays)
    loads = []
    real_load = versions_module.load_version

    def counting_load(store_, name, version):
        loads.append(version)
        return real_load(store_, name, version)

    monkeypatch.setattr(versions_module, "load_version", counting_load)
    audit = VersionAudit(store)
    newest, oldest = audit.describe("m")
    assert not newest.ready and reason in newest.error and oldest.ready
    assert audit.describe("m") == [newest, oldest] and loads == [2, 1]  # cached
    publish_fake(store, "m")
    assert [v.ready for v in audit.describe("m")] == [True, False, True]
    assert loads == [2, 1, 3]

"""The kind registry: every kind's halves, and an unknown kind refused everywhere."""

import json
import subprocess
import sys

import grpc
import numpy as np
import pytest

from movierec.errors import InvalidRequest
from movierec.kinds import KINDS, get_kind
from movierec.kinds.base import KindParams
from movierec.kinds.versions import VersionAudit
from movierec.serving.registry import FAILED, ModelRegistry
from movierec.store.model_store import MANIFEST_FILE
from movierec.training.spec import build_train_spec
from movierec_client.v1 import trainer_pb2
from tests.fakes import make_catalog, publish_fake


@pytest.mark.service
@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_has_a_numpy_half_free_of_tensorflow_and_pandas(name):
    kind = KINDS[name]
    code = (
        f"import sys, {kind.serving_module} as m; "
        "assert callable(m.load_scorer) and m.WEIGHT_ARRAYS; "
        "print(sorted(n for n in ('tensorflow', 'keras', 'pandas') if n in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert issubclass(kind.params_class, KindParams)
    assert kind.training_module == f"movierec.training.kinds.{name}"


def test_an_unknown_kind_is_refused_at_every_door(store, start_serving, start_trainer):
    # the library
    with pytest.raises(InvalidRequest, match="unknown model kind 'svd'; known kinds: dot"):
        get_kind("svd")
    with pytest.raises(InvalidRequest, match="unknown model kind 'svd'"):
        build_train_spec("m", kind="svd")
    # the trainer service, before any job is queued
    _, trainer = start_trainer(store.root)
    with grpc.insecure_channel(trainer) as channel:
        train = channel.unary_unary(
            "/movierec.v1.TrainerService/Train",
            request_serializer=trainer_pb2.TrainRequest.SerializeToString,
            response_deserializer=trainer_pb2.Job.FromString,
        )
        with pytest.raises(grpc.RpcError) as caught:
            train(trainer_pb2.TrainRequest(model_name="m", kind="svd"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # a stored version of an unknown kind: never served, never listed as READY
    publish_fake(store, "m")
    publish_fake(store, "m")
    manifest_path = store.version_path("m", 2) / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "kind": "svd"}))
    registry = ModelRegistry(store)
    registry.refresh()
    assert registry.get("m").version == 1
    assert registry.status("m")[0].versions[0].state == FAILED
    assert "serving cannot load kind 'svd'" in VersionAudit(store).describe("m")[0].error


def test_two_tower_user_features_are_counted_once_per_catalogue_and_then_dropped():
    import gc

    from movierec.kinds import two_tower

    catalog = make_catalog()
    first, stats = two_tower.user_features_of(catalog, False)
    again, _ = two_tower.user_features_of(catalog, False)
    assert again is first and not first.flags.writeable  # shared, so read-only
    equal = make_catalog()
    other, _ = two_tower.user_features_of(equal, False)
    assert other is not first and np.array_equal(other, first)  # counted for that one
    del equal, other
    gc.collect()
    assert two_tower._remembered is None  # gone with its catalogue
    assert two_tower.user_features_of(catalog, False)[0] is not first  # counted again
    del catalog, first, again, stats
    gc.collect()
    assert two_tower._remembered is None  # gone with its catalogue

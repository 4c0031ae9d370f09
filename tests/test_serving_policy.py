"""Version policy: pin, follow the newest, roll back, shared by every server on a store."""

import json
import os
import subprocess
import sys

import pytest

from movierec.errors import (
    CorruptVersion,
    NotFound,
    PolicyConflict,
    UnknownModel,
    UnknownVersion,
)
from movierec.serving.policy import parse_pins
from movierec.serving.registry import ModelRegistry
from movierec_client import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ServingClient,
)
from tests.fakes import publish_fake
from tests.test_registry import corrupt

MOVIEREC = [sys.executable, "-m", "movierec_client.cli"]


@pytest.fixture
def four(store):
    for _ in range(4):
        publish_fake(store, "m")
    return store


def loaded(registry, name="m"):
    (state,) = registry.status(name)
    return {v.version for v in state.versions if v.state == "AVAILABLE"}


def test_a_pin_serves_its_version_and_outlives_newer_ones(four):
    registry = ModelRegistry(four, keep_versions=1)
    registry.refresh()
    assert registry.get("m").version == 4
    state = registry.set_policy("m", 2, reason="v3 and v4 rank badly")
    assert state.serving_version == 2 and registry.get("m").version == 2
    assert state.policy.mode == "PINNED" and state.policy.source == "store"
    assert state.policy.reason == "v3 and v4 rank badly"
    assert loaded(registry) == {2, 4}, "the pin is loaded besides the newest keep_versions"
    assert registry.get("m", 4).version == 4, "a request naming a version still gets it"
    publish_fake(four, "m")
    registry.refresh()
    assert registry.get("m").version == 2 and loaded(registry) == {2, 5}
    state = registry.set_policy("m", 0)
    assert state.serving_version == 5 and state.policy.mode == "LATEST"
    assert loaded(registry) == {5}


def test_every_server_on_the_store_follows_the_policy(four):
    first, replica = ModelRegistry(four), ModelRegistry(four)
    first.refresh()
    replica.refresh()
    first.set_policy("m", 1)
    assert replica.get("m").version == 4, "until its next poll"
    replica.refresh()
    assert replica.get("m").version == 1
    restarted = ModelRegistry(four)
    restarted.refresh()
    assert restarted.get("m").version == 1


def test_rollback_pins_the_newest_good_older_version(four):
    registry = ModelRegistry(four, keep_versions=1)
    registry.refresh()
    corrupt(four, "m", 3)
    state = registry.set_policy("m", rollback=True)
    assert state.serving_version == 2, "version 3 cannot be served, so it is skipped"
    assert state.policy.reason == "rollback from version 4"
    assert registry.set_policy("m", rollback=True).serving_version == 1
    with pytest.raises(NotFound, match="no good version of m older than version 1"):
        registry.set_policy("m", rollback=True)


def test_a_version_that_cannot_serve_is_never_pinned(four):
    registry = ModelRegistry(four)
    registry.refresh()
    corrupt(four, "m", 1)
    with pytest.raises(CorruptVersion, match="version 1"):
        registry.set_policy("m", 1)
    with pytest.raises(UnknownVersion):
        registry.set_policy("m", 9)
    with pytest.raises(UnknownModel):
        registry.set_policy("ghost", 1)
    assert registry.get("m").version == 4 and registry.status("m")[0].policy.mode == "LATEST"
    assert four.read_policy("m") is None


def test_a_flag_pin_wins_over_the_store(four):
    ModelRegistry(four).set_policy("m", 1)
    registry = ModelRegistry(four, pins={"m": 3})
    registry.refresh()
    assert registry.get("m").version == 3
    assert registry.status("m")[0].policy.source == "flag"
    with pytest.raises(PolicyConflict, match="pinned to version 3 by --pin"):
        registry.set_policy("m", 2)


def test_a_pin_that_cannot_be_honoured_says_why_and_the_newest_serves(four):
    import shutil

    registry = ModelRegistry(four)
    registry.set_policy("m", 1)
    shutil.rmtree(four.version_path("m", 1))
    registry.refresh()
    state = registry.status("m")[0]
    assert state.serving_version == 4
    assert "pinned version 1 cannot be served" in state.policy.error


@pytest.mark.parametrize(
    "content", [b"not json", b"[1]", b'{"pinned_version": "2"}', b'{"pinned_version": -1}']
)
def test_a_malformed_policy_file_is_ignored_with_the_reason(four, content):
    (four.model_path("m") / "serving_policy.json").write_bytes(content)
    registry = ModelRegistry(four)
    registry.refresh()
    state = registry.status("m")[0]
    assert state.serving_version == 4 and "serving policy" in state.policy.error


def test_a_fifo_policy_file_never_blocks_the_watcher(four):
    os.mkfifo(four.model_path("m") / "serving_policy.json")
    registry = ModelRegistry(four)
    registry.refresh()
    assert registry.get("m").version == 4
    assert "not a regular file" in registry.status("m")[0].policy.error


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["m"], "MODEL=VERSION"),
        (["m=0"], "VERSION >= 1"),
        ([f"m={10**20}"], "VERSION >= 1 and <= 999999999999999999"),
        (["m=²"], "MODEL=VERSION"),
        (["bad name=1"], "bad model name"),
        (["m=1", "m=2"], "twice"),
    ],
)
def test_bad_pin_flags_are_refused(flags, message):
    with pytest.raises(ValueError, match=message):
        parse_pins(flags)
    assert parse_pins(["a=1", "b.c=20"]) == {"a": 1, "b.c": 20}


@pytest.mark.service
def test_set_serving_version_over_grpc_and_the_cli(four, start_serving):
    _, address = start_serving(four.root)
    with ServingClient(address, timeout=10) as client:
        state = client.set_serving_version("m", 2, reason="canary")
        assert state.serving_version == 2 and state.policy.mode == "PINNED"
        assert client.recommend("m", 10, 2).model.version == 2
        (status,) = client.status("m")
        assert status.policy.pinned_version == 2 and status.policy.reason == "canary"
        assert status.policy.keep_versions == 2
        with pytest.raises(InvalidArgumentError, match="exactly one"):
            client.set_serving_version("m")
        with pytest.raises(NotFoundError, match="has no version 7"):
            client.set_serving_version("m", 7)
        corrupt(four, "m", 1)
        with pytest.raises(FailedPreconditionError, match="version 1"):
            client.set_serving_version("m", 1)
        client.set_serving_version("m", latest=True)
    rolled = subprocess.run(
        [*MOVIEREC, "rollback", "--model", "m", "--serving", address, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rolled.returncode == 0, rolled.stderr
    assert json.loads(rolled.stdout)["serving_version"] == 3, "the newest good one below 4"
    unpinned = subprocess.run(
        [*MOVIEREC, "unpin", "--model", "m", "--serving", address],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unpinned.returncode == 0 and "serves the newest good version" in unpinned.stdout


def test_a_version_checked_for_pinning_is_not_loaded_again(four, monkeypatch):
    import movierec.serving.registry as registry_module

    registry = ModelRegistry(four, keep_versions=1)
    registry.refresh()
    loads = []
    real_load = registry_module.load_version

    def counting_load(store_, name, version, *options):
        loads.append(version)
        return real_load(store_, name, version, *options)

    monkeypatch.setattr(registry_module, "load_version", counting_load)
    assert registry.set_policy("m", 2).serving_version == 2
    assert loads == [2], "verified and loaded once, for the check, then reused"


@pytest.mark.service
@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"pinned_version": 2**63}, "pins version 9223372036854775808, out of range"),
        ({"pinned_version": 10**30}, "out of range 0..999999999999999999"),
        ({"pinned_version": 10**18}, "out of range"),
        ({"pinned_version": -(2**63) - 1}, "out of range"),
        ({"pinned_version": 2, "updated_at": 10**400}, "is no finite time"),
        ({"pinned_version": 2, "updated_at": True}, "malformed serving policy"),
    ],
)
def test_an_out_of_range_policy_is_ignored_with_the_reason_never_internal(
    four, start_serving, record, reason
):
    (four.model_path("m") / "serving_policy.json").write_text(json.dumps(record))
    _, address = start_serving(four.root)
    with ServingClient(address, timeout=5) as client:
        (status,) = client.status("m")
        assert status.serving_version == 4 and status.policy.mode == "LATEST"
        assert reason in status.policy.error
        assert client.status()[0].policy.error == status.policy.error
        pinned = client.set_serving_version("m", 2, reason="over the hostile file")
        assert pinned.serving_version == 2 and pinned.policy.error == ""
    assert four.read_policy("m")["pinned_version"] == 2

"""A version's artifacts (its pictures): read only when its manifest lists them, checked
against their sha256, streamed by TrainerService.GetArtifact (no TensorFlow here)."""

import os

import pytest

from movierec.errors import CorruptVersion, InvalidRequest, NotFound, UnknownModel
from movierec_client.errors import InvalidArgumentError, NotFoundError
from movierec_client.sdk import TrainerClient
from tests.fakes import make_manifest_with_artifacts, publish_with_artifacts

PICTURE = bytes(range(256)) * 700  # 179,200 bytes: several 64 KiB chunks


def test_a_listed_artifact_streams_in_chunks_with_its_checksum(store):
    version = publish_with_artifacts(store, "m", {"loss.png": PICTURE})
    artifact = store.open_artifact("m", 0, "loss.png")
    assert (artifact.version, artifact.size, artifact.content_type) == (
        version,
        len(PICTURE),
        "image/png",
    )
    chunks = list(artifact.chunks())
    assert len(chunks) == 3 and b"".join(chunks) == PICTURE


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("weights.npz", NotFound, "has no artifact 'weights.npz' \\(it has: loss.png\\)"),
        ("absent.png", NotFound, "has no artifact 'absent.png'"),
        ("../1/manifest.json", InvalidRequest, "bad artifact name"),
        ("/etc/passwd", InvalidRequest, "bad artifact name"),
        ("", InvalidRequest, "bad artifact name"),
    ],
)
def test_only_names_the_manifest_lists_are_ever_opened(store, name, error, message):
    publish_with_artifacts(store, "m", {"loss.png": PICTURE})
    with pytest.raises(error, match=message):
        store.open_artifact("m", 1, name)


def test_a_manifest_listing_a_path_still_opens_nothing_outside(store):
    manifest = make_manifest_with_artifacts(["../secret.png"])
    store.publish_version("m", manifest, lambda folder: None)
    with pytest.raises(InvalidRequest, match="bad artifact name"):
        store.open_artifact("m", 1, "../secret.png")


def test_a_changed_or_linked_artifact_is_refused(store, tmp_path):
    publish_with_artifacts(store, "m", {"loss.png": PICTURE, "map.png": PICTURE})
    folder = store.version_path("m", 1)
    (folder / "loss.png").write_bytes(PICTURE[:-1] + b"x")
    with pytest.raises(CorruptVersion, match="does not match its checksum"):
        b"".join(store.open_artifact("m", 1, "loss.png").chunks())
    outside = tmp_path / "outside.png"
    outside.write_bytes(PICTURE)
    os.remove(folder / "map.png")
    os.symlink(outside, folder / "map.png")
    with pytest.raises(CorruptVersion, match="symbolic link"):
        store.open_artifact("m", 1, "map.png")
    with pytest.raises(UnknownModel):
        store.open_artifact("nobody", 0, "loss.png")


def test_the_trainer_lists_and_streams_artifacts(store, start_trainer):
    publish_with_artifacts(store, "m", {"loss.png": PICTURE, "item_map.png": b"map"})
    _, address = start_trainer(store.root)
    with TrainerClient(address) as client:
        (model,) = client.list_models("m")
        assert model.versions[0].artifacts == ("loss.png", "item_map.png")
        artifact = client.get_artifact("m", "loss.png")
        assert (artifact.version, artifact.name, artifact.data) == (1, "loss.png", PICTURE)
        assert artifact.content_type == "image/png"
        assert client.get_artifact("m", "item_map.png", version=1).data == b"map"
        with pytest.raises(NotFoundError, match="has no artifact 'model.keras'"):
            client.get_artifact("m", "model.keras")
        with pytest.raises(InvalidArgumentError, match="bad artifact name"):
            client.get_artifact("m", "../../etc/passwd")
        with pytest.raises(NotFoundError):
            client.get_artifact("m", "loss.png", version=7)

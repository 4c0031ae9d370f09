"""Synthetic versions: written straight into a store, served like trained ones."""

import numpy as np
import pytest

from movierec.data.synthetic import SynthSpec, publish_synthetic, synthesize
from movierec.errors import InvalidRequest
from movierec.kinds.versions import load_version
from movierec.serving.dataplane import ServingDataPlane
from movierec.serving.registry import ModelRegistry
from movierec_client.cli import main


def test_a_synthetic_version_serves_like_a_trained_one(store):
    spec = SynthSpec(users=50, items=400, dim=8, ratings_per_user=20, seed=3)
    assert publish_synthetic(store, "syn", spec) == 1
    loaded = load_version(store, "syn", 1)
    catalog = loaded.scorer.catalog
    assert catalog.num_users == 50 and catalog.num_items == 400
    registry = ModelRegistry(store)
    registry.refresh()
    plane = ServingDataPlane(registry)
    answer = plane.recommend("syn", 0, 7, 10).value
    seen = set(catalog.item_ids[catalog.seen(7) - 1].tolist())
    assert len(answer.items) == 10 and not seen & {i.item_id for i in answer.items}
    assert plane.evaluate("syn", 0, 10)[0].values["ndcg@10"] >= 0


def test_popularity_follows_the_skew():
    flat = synthesize(SynthSpec(users=300, items=1000, skew=0.0, seed=1))[1].popularity[1:]
    steep = synthesize(SynthSpec(users=300, items=1000, skew=1.2, seed=1))[1].popularity[1:]
    share = lambda counts: np.sort(counts)[-10:].sum() / counts.sum()  # noqa: E731
    assert share(steep) > 3 * share(flat)


def test_bad_synthetic_specs_are_refused(store):
    with pytest.raises(InvalidRequest, match="items must be 2"):
        publish_synthetic(store, "syn", SynthSpec(items=1))
    with pytest.raises(InvalidRequest, match="bad model name"):
        publish_synthetic(store, "bad name", SynthSpec())
    assert store.list_models() == []


def test_movierec_synth_writes_into_a_store(store, capsys):
    argv = ["synth", "--store", str(store.root), "--model", "s", "--users", "20", "--items", "50"]
    assert main(argv) == 0
    assert "published s version 1: 20 users, 50 items" in capsys.readouterr().out
    assert main([*argv[:3], "--model", "s", "--dim", "0"]) == 2

"""ListIds: the raw ids a served version knows, and `movierec load` drawing its requests
from them by default, so that every call is answered by the model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from movierec.serving.dataplane import evenly_spaced
from movierec_client import InvalidArgumentError, NotFoundError, ServingClient
from movierec_client.cli import main
from tests.fakes import publish_fake


@pytest.fixture(params=["threads", "aio"])
def served(request, store, start_serving):
    """A server of fake model "m" (users 10, 20, 30 and items 100-104 in training; user 40
    of the dataset held out only)."""
    publish_fake(store, "m")
    _, address = start_serving(store.root, io=request.param)
    with ServingClient(address, timeout=5) as client:
        client.wait_for_version("m", 1, timeout=30)
        yield address, client


def test_list_ids_answers_the_versions_users_counts_and_items(served):
    _, client = served
    ids = client.list_ids("m")
    assert (ids.model.name, ids.model.version) == ("m", 1)
    assert ids.user_ids == (10, 20, 30) and ids.item_ids == (100, 101, 102, 103, 104)
    # user 10 rated 100 and 104 in training, user 20 rated 101, user 30 nothing
    assert ids.user_rating_counts == (2, 1, 0)
    assert (ids.num_users, ids.num_items) == (3, 5)
    # at most 2 of each, evenly spaced: positions 0 and 3 // 2 = 1 of the users, 0 and
    # 5 // 2 = 2 of the items
    cut = client.list_ids("m", version=1, max_ids=2)
    assert cut.user_ids == (10, 20) and cut.user_rating_counts == (2, 1)
    assert cut.item_ids == (100, 102) and (cut.num_users, cut.num_items) == (3, 5)
    with pytest.raises(InvalidArgumentError, match="max_ids must be 0 to 1000000, got -1"):
        client.list_ids("m", max_ids=-1)
    with pytest.raises(NotFoundError):
        client.list_ids("nope")


@pytest.mark.parametrize(("n", "limit"), [(0, 3), (3, 3), (10, 3), (1_000_001, 100_000)])
def test_evenly_spaced_positions_are_distinct_sorted_and_start_at_the_first(n, limit):
    positions = evenly_spaced(n, limit)
    assert len(positions) == min(n, limit)
    assert len(np.unique(positions)) == len(positions) and np.all(np.diff(positions) > 0)
    assert not len(positions) or (positions[0] == 0 and positions[-1] < n)


def _load(address: str, *flags: str) -> dict:
    argv = ["load", "--serving", address, "--model", "m", "--mix"]
    argv += ["recommend=1,predict=1,similar=1", "--requests", "40", "--concurrency", "2"]
    return argv + ["--warmup", "0", "-k", "3", "--json", *flags]


def test_load_draws_users_and_items_from_the_served_version_by_default(served, capsys):
    address, _ = served
    assert main(_load(address)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["calls"] == 40 and report["errors"] == {}
    assert set(report["by_method"]) == {"recommend", "predict", "similar"}
    # by activity: user 30 (no training ratings) is never drawn; still no error
    assert main(_load(address, "--by-activity")) == 0
    assert json.loads(capsys.readouterr().out)["errors"] == {}
    # ranges still work, and name what the version does not know
    with pytest.raises(SystemExit, match=r"every call failed \(NOT_FOUND 40\)"):
        main(_load(address, "--items", "1", "2", "--mix", "similar=1"))
    assert main(_load(address, "--users", "10", "20", "--by-activity")) == 2
    assert "--by-activity draws the served version's users" in capsys.readouterr().err

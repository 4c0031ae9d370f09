"""Small hand-made model versions for tests that must not import TensorFlow.

The fake catalogue: users 10, 20, 30 trained on (40 is a dataset user absent from
training), items 100..104, embedding width 2, a dot model with linear output.
"""

from __future__ import annotations

import pathlib

import numpy as np

from movierec.store.arrays import save_arrays
from movierec.store.catalog import CATALOG_FILE, Catalog, save_catalog
from movierec.store.model_store import WEIGHTS_FILE, ModelStore

USERS = np.array([10, 20, 30], dtype=np.int64)
ITEMS = np.array([100, 101, 102, 103, 104], dtype=np.int64)
TITLES = np.array(["Alpha (1990)", "Beta (1991)", "Gamma (1992)", "Delta (1993)", "Eps (1994)"])
GENRES = np.array(["Action", "Comedy", "Drama"])


def make_catalog() -> Catalog:
    """User 10 rated 100 (4 stars) and 104 (2 stars) in training, user 20 rated 101 (5
    stars), user 30 nothing. Held out: 10 -> 101 (4), 20 -> 100 (3), 30 -> 102 (5), 40 ->
    100 (3).
    """
    return Catalog(
        rating_scale=np.array([1, 5], dtype=np.float32),
        user_ids=USERS,
        item_ids=ITEMS,
        dataset_user_ids=np.array([10, 20, 30, 40], dtype=np.int64),
        item_titles=TITLES,
        item_years=np.array([1990, 1991, 1992, 1993, 1994], dtype=np.int32),
        genre_names=GENRES,
        item_genre_flags=np.array(
            [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0]], dtype=bool
        ),
        popularity=np.array([0, 1, 1, 0, 0, 1], dtype=np.int64),
        item_mean_rating=np.array([11 / 3, 4, 5, 0, 0, 2], dtype=np.float32),
        seen_indptr=np.array([0, 0, 2, 3, 3], dtype=np.int64),
        seen_items=np.array([1, 5, 2], dtype=np.int64),
        seen_ratings=np.array([4, 2, 5], dtype=np.float32),
        user_ages=np.zeros(0, np.int32),
        user_genders=np.zeros(0, str),
        user_occupations=np.zeros(0, str),
        occupation_names=np.zeros(0, str),
        test_user_ids=np.array([10, 20, 30, 40], dtype=np.int64),
        test_item_ids=np.array([101, 100, 102, 100], dtype=np.int64),
        test_ratings=np.array([4, 3, 5, 3], dtype=np.float32),
    )


def make_weights(shift: float = 0.0) -> dict[str, np.ndarray]:
    """Dot weights whose scores are easy to work out by hand.

    Row 0 of every table is the zero OOV row. User 10 = [1, 0], 20 = [0, 1], 30 = [1, 1];
    items 100..104 = [1, 0], [0, 1], [0.5, 0.5], [-1, 0], [2, 2]; item biases 0, 0.1, 0.2,
    0.3, -3; user biases 0.5, 0, -0.5; global bias 3 + shift.
    """
    return {
        "user_embeddings": np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32),
        "item_embeddings": np.array(
            [[0, 0], [1, 0], [0, 1], [0.5, 0.5], [-1, 0], [2, 2]], dtype=np.float32
        ),
        "user_bias": np.array([0, 0.5, 0, -0.5], dtype=np.float32),
        "item_bias": np.array([0, 0, 0.1, 0.2, 0.3, -3], dtype=np.float32),
        "global_bias": np.array(3.0 + shift, dtype=np.float32),
    }


def write_fake(folder: pathlib.Path, shift: float = 0.0) -> None:
    """Writes the fake version's arrays into a folder."""
    save_arrays(folder / WEIGHTS_FILE, make_weights(shift))
    save_catalog(folder / CATALOG_FILE, make_catalog())


def publish_fake(
    store: ModelStore, name: str = "fake", shift: float = 0.0, objective: str = "rating"
) -> int:
    """Publishes the fake dot version (make_weights(shift)) of `name`; returns its number."""
    manifest = {
        "kind": "dot",
        "objective": objective,
        "kind_params": {"embedding_dim": 2, "l2": 0.0, "output": "linear"},
        "split": "fake/test",
        "metrics": {"rmse": 1.0, "mae": 1.0},
    }
    return store.publish_version(name, manifest, lambda folder: write_fake(folder, shift))


def make_two_tower_weights() -> dict[str, np.ndarray]:
    """A one-layer two_tower over the fake catalogue: 8 user features (3 genre means, 3
    genre shares, log count, mean), identity scaler, a kernel that maps genre means 0-2
    onto the two output dimensions, item vectors Action = [1, 0], Comedy = [0, 1].
    """
    kernel = np.zeros((8, 2), dtype=np.float32)
    kernel[0, 0] = kernel[1, 1] = 1.0
    kernel[2, 0] = kernel[2, 1] = 0.1
    items = np.array([[0, 0], [1, 0], [0, 1], [0.6, 0.8], [0.8, 0.6], [0, 1]], dtype=np.float32)
    return {
        "user_feature_mean": np.zeros(8, dtype=np.float32),
        "user_feature_std": np.ones(8, dtype=np.float32),
        "user_kernel_0": kernel,
        "user_bias_0": np.zeros(2, dtype=np.float32),
        "item_vectors": items,
    }


def publish_fake_two_tower(store: ModelStore, name: str = "tower") -> int:
    """Publishes the fake two_tower retrieval version of `name`; returns its number."""

    def write(folder: pathlib.Path) -> None:
        save_arrays(folder / WEIGHTS_FILE, make_two_tower_weights())
        save_catalog(folder / CATALOG_FILE, make_catalog())

    manifest = {
        "kind": "two_tower",
        "objective": "retrieval",
        "kind_params": {"layers": [2], "use_demographics": False},
        "split": "fake/test",
        "metrics": {},
    }
    return store.publish_version(name, manifest, write)


def make_ranking_weights() -> dict[str, np.ndarray]:
    """A ranking head over the fake catalogue: the dot fake's embeddings, one hidden layer
    adding user and item vectors (identity kernels, zero bias), output 3 + h0 + 2 h1 of
    h = relu(u + i). So user 10 = [1, 0] rates items 100..104 at 5, 6, 5.5, 3, 10: among
    its unseen items 101, 102, 103 the order is 101, 102, 103, where the fake dot
    retrieval version (scores 0.1, 0.7, -0.7) orders them 102, 101, 103.
    """
    dot = make_weights()
    eye = np.eye(2, dtype=np.float32)
    return {
        "user_embeddings": dot["user_embeddings"],
        "item_embeddings": dot["item_embeddings"],
        "hidden_kernel_0": np.vstack([eye, eye]),
        "hidden_bias_0": np.zeros(2, dtype=np.float32),
        "output_kernel": np.array([1.0, 2.0], dtype=np.float32),
        "output_bias": np.array([3.0], dtype=np.float32),
    }


def publish_fake_ranking(
    store: ModelStore,
    name: str = "ranker",
    candidate_model: str = "popularity",
    num_candidates: int = 3,
) -> int:
    """Publishes the fake ranking version of `name`, taking candidates from
    `candidate_model`; returns its number."""

    def write(folder: pathlib.Path) -> None:
        save_arrays(folder / WEIGHTS_FILE, make_ranking_weights())
        save_catalog(folder / CATALOG_FILE, make_catalog())

    manifest = {
        "kind": "ranking",
        "objective": "rating",
        "kind_params": {
            "embedding_dim": 2,
            "layers": [2],
            "l2": 0.0,
            "candidate_model": candidate_model,
            "num_candidates": num_candidates,
        },
        "split": "fake/test",
        "metrics": {},
    }
    return store.publish_version(name, manifest, write)


def job_manifest(job_id: str, rmse: float) -> dict:
    """Manifest of the fake dot version as a job with this id publishes it."""
    return {
        "kind": "dot",
        "objective": "rating",
        "kind_params": {"embedding_dim": 2, "l2": 0.0, "output": "linear"},
        "split": "fake/test",
        "metrics": {"rmse": rmse},
        "job_id": job_id,
    }


def publish_then_die(spec_dict, store_root, data_dir, job_id, conn) -> None:
    """A job process that publishes the fake version (recording its job id) and is then
    killed before it can report, as a SIGKILL right after the rename would leave it."""
    import os

    store = ModelStore(store_root)
    store.publish_version(spec_dict["model_name"], job_manifest(job_id, 1.5), write_fake, job_id)
    os._exit(9)


def die_before_publishing(spec_dict, store_root, data_dir, job_id, conn) -> None:
    """A job process killed before it publishes anything."""
    import os

    os._exit(9)


def publish_when_allowed(spec_dict, store_root, data_dir, job_id, conn) -> None:
    """A job process that asks to publish, publishes the fake version and reports it."""
    conn.send(("may_publish",))
    if conn.recv() is not True:
        conn.send(("failed", "not allowed to publish"))
        return
    version = ModelStore(store_root).publish_version(
        spec_dict["model_name"], job_manifest(job_id, 1.25), write_fake, job_id
    )
    conn.send(("succeeded", version, {"rmse": 1.25}))


def train_forever(spec_dict, store_root, data_dir, job_id, conn) -> None:
    """A job process that reports one epoch, writes its pid to <store>/<job id>.pid and
    trains until it is stopped, ending itself when its trainer dies."""
    import os
    import pathlib
    import time

    from trainer_service.jobs import exit_with_parent

    exit_with_parent(0.1)
    pathlib.Path(store_root).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(store_root) / f"{job_id}.pid").write_text(str(os.getpid()))
    conn.send(("epoch", {"epoch": 1, "loss": 0.5, "val_rmse": 1.0, "seconds": 0.1}))
    while True:
        time.sleep(0.05)


def record_environment(spec_dict, store_root, data_dir, job_id, conn) -> None:
    """A job process that writes the names of its MOVIEREC_* variables to
    <store>/environment.json and fails."""
    import json
    import os
    import pathlib

    names = sorted(name for name in os.environ if name.startswith("MOVIEREC_"))
    pathlib.Path(store_root).mkdir(parents=True, exist_ok=True)
    (pathlib.Path(store_root) / "environment.json").write_text(json.dumps(names))
    conn.send(("failed", "recorded the environment"))


def make_manifest_with_artifacts(names: list[str]) -> dict:
    """A fake dot manifest listing `names` as artifacts."""
    return {
        "kind": "dot",
        "objective": "rating",
        "kind_params": {"embedding_dim": 2, "l2": 0.0, "output": "linear"},
        "split": "fake/test",
        "metrics": {},
        "artifacts": names,
    }


def publish_with_artifacts(store: ModelStore, name: str, files: dict[str, bytes]) -> int:
    """Publishes the fake dot version of `name` with extra files listed as artifacts."""

    def write(folder: pathlib.Path) -> None:
        write_fake(folder)
        for file_name, data in files.items():
            (folder / file_name).write_bytes(data)

    return store.publish_version(name, make_manifest_with_artifacts(list(files)), write)


def make_context_ranking_weights() -> dict[str, np.ndarray]:
    """A ranking_context head over the fake catalogue: width-2 user, item, title and
    time-bucket vectors, 3 time buckets cut at 10 and 20 over a period 0..30 (mean 15,
    std 5), a first layer of 9 inputs and 2 units whose time column weighs 1 and -1, and
    an output 3 + 0.3 (h0 + h1) that keeps ratings inside the scale."""
    rng = np.random.default_rng(7)
    weights = make_ranking_weights()
    kernel = rng.normal(0, 0.5, (9, 2)).astype(np.float32)
    kernel[8] = [1.0, -1.0]
    weights.update(
        hidden_kernel_0=kernel,
        hidden_bias_0=np.array([0.5, 0.5], dtype=np.float32),
        title_vectors=rng.normal(0, 1, (6, 2)).astype(np.float32),
        bucket_embeddings=rng.normal(0, 1, (3, 2)).astype(np.float32),
        time_boundaries=np.array([10.0, 20.0]),
        time_stats=np.array([15.0, 5.0, 0.0, 30.0]),
        output_kernel=np.array([0.3, 0.3], dtype=np.float32),
        output_bias=np.array([3.0], dtype=np.float32),
    )
    weights["title_vectors"][0] = 0.0
    return weights


def publish_fake_context_ranking(store: ModelStore, name: str = "context") -> int:
    """Publishes the fake ranking_context version of `name` (candidates by popularity)."""

    def write(folder: pathlib.Path) -> None:
        save_arrays(folder / WEIGHTS_FILE, make_context_ranking_weights())
        save_catalog(folder / CATALOG_FILE, make_catalog())

    manifest = {
        "kind": "ranking_context",
        "objective": "rating",
        "kind_params": {"embedding_dim": 2, "layers": [2], "time_buckets": 3},
        "split": "fake/test",
        "metrics": {},
    }
    return store.publish_version(name, manifest, write)

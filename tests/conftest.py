"""Shared fixtures: where the data is, and stores of fake versions."""

from __future__ import annotations

import os
import pathlib

import pytest
from hypothesis import settings

from movierec.store.model_store import ModelStore

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Processes the tests start (services, the CLI, jobs) import this checkout's library and SDK
# (client/, which pyproject's pythonpath gives the tests themselves), whatever is installed.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT / "client"), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
)

# No example database: a test run leaves nothing behind in the checkout.
settings.register_profile("movierec", database=None)
settings.load_profile("movierec")


@pytest.fixture(autouse=True, scope="session")
def _column_cache_in_a_temporary_folder(tmp_path_factory):
    """Ratings column caches (movierec.data.ratings_cache) go to a folder of the test run, never
    to the user's cache; subprocesses inherit it."""
    previous = os.environ.get("MOVIEREC_CACHE_DIR")
    os.environ["MOVIEREC_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("MOVIEREC_CACHE_DIR", None)
    else:
        os.environ["MOVIEREC_CACHE_DIR"] = previous


DATA_DIR = pathlib.Path(
    os.environ.get("MOVIEREC_DATA_DIR", pathlib.Path(__file__).parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """The folder holding ml-100k (MOVIEREC_DATA_DIR, else ../shared/data)."""
    if not (DATA_DIR / "ml-100k" / "u.data").is_file():
        pytest.fail(f"ml-100k not found under {DATA_DIR}; set MOVIEREC_DATA_DIR")
    return DATA_DIR


@pytest.fixture
def store(tmp_path) -> ModelStore:
    """An empty model store in a temporary folder."""
    return ModelStore(tmp_path / "store")


@pytest.fixture
def start_serving():
    """Starts serving servers on 127.0.0.1:0 (keyword args go to ServingConfig); stops
    them at teardown. Returns (server, "127.0.0.1:port")."""
    from serving_service.server import ServingConfig, create_server

    servers = []

    def start(store_root, **settings):
        settings = {"poll_interval": 0.1, "port": 0, **settings}
        server, port = create_server(ServingConfig(store=str(store_root), **settings))
        servers.append(server.start())
        return server, f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(0)


@pytest.fixture
def start_trainer(data_dir):
    """Starts trainer servers on 127.0.0.1:0 (keyword args go to TrainerConfig); stops
    them, and their jobs, at teardown. Returns (server, "127.0.0.1:port")."""
    from trainer_service.server import TrainerConfig, create_server

    servers = []

    def start(store_root, **settings):
        settings = {"data_dir": str(data_dir), "port": 0, **settings}
        server, port = create_server(TrainerConfig(store=str(store_root), **settings))
        servers.append(server.start())
        return server, f"127.0.0.1:{port}"

    yield start
    for server in servers:
        server.stop(0)

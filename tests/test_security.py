"""Tokens and TLS: who may call, over what, and what is refused before a service listens."""

import json
import os
import subprocess
import sys
import time

import pytest

from movierec_client import ServingClient, TrainerClient, UnauthenticatedError, UnavailableError
from service_common.security import (
    ConfigError,
    check_exposure,
    resolve_token,
    server_credentials,
)
from tests.certs import make_pki
from tests.fakes import publish_fake

MOVIEREC = [sys.executable, "-m", "movierec_client.cli"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def served(store):
    publish_fake(store, "m")
    return store


@pytest.mark.parametrize(
    ("host", "token", "tls", "allowed", "refused"),
    [
        ("0.0.0.0", "t", False, False, True),
        ("10.1.2.3", "t", False, False, True),
        ("my-host", "t", False, False, True),
        ("[::]", "t", False, False, True),
        ("0.0.0.0", "t", True, False, False),
        ("0.0.0.0", "t", False, True, False),
        ("0.0.0.0", None, False, False, False),
        ("127.0.0.1", "t", False, False, False),
        ("127.0.0.2", "t", False, False, False),
        ("localhost", "t", False, False, False),
        ("[::1]", "t", False, False, False),
    ],
)
def test_a_token_never_crosses_a_network_in_clear_text(host, token, tls, allowed, refused):
    if refused:
        with pytest.raises(ConfigError, match="refusing to listen on .* with a token and no TLS"):
            check_exposure(host, token, tls, allowed)
    else:
        check_exposure(host, token, tls, allowed)


def test_tokens_come_from_a_file_or_the_environment_and_are_never_empty(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cret\n")
    assert resolve_token(None, str(secret), {}) == "s3cret"
    assert resolve_token(None, None, {"MOVIEREC_TOKEN_FILE": str(secret)}) == "s3cret"
    assert resolve_token(None, None, {"MOVIEREC_TOKEN": "env"}) == "env"
    assert resolve_token("given", None, {"MOVIEREC_TOKEN": "env"}) == "given"
    assert resolve_token(None, None, {}) is None
    with pytest.raises(ConfigError, match="the token is empty"):
        resolve_token(None, None, {"MOVIEREC_TOKEN": ""})
    with pytest.raises(ConfigError, match="the token is empty"):
        resolve_token("", None, {})
    with pytest.raises(ConfigError, match="without spaces"):
        resolve_token("two words", None, {})
    (tmp_path / "blank").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_token(None, str(tmp_path / "blank"), {})
    with pytest.raises(ConfigError, match="is not a regular file"):
        resolve_token(None, str(tmp_path / "missing"), {})


def test_tls_settings_that_cannot_work_are_refused(pki, tmp_path):
    with pytest.raises(ConfigError, match="go together"):
        server_credentials(pki.server_cert, None, None)
    with pytest.raises(ConfigError, match="needs --tls-cert"):
        server_credentials(None, None, pki.ca)
    with pytest.raises(ConfigError, match="not a PEM file holding a PRIVATE KEY"):
        server_credentials(pki.server_cert, pki.server_cert, None)
    assert server_credentials(pki.server_cert, pki.server_key, pki.ca) is not None


def test_tls_serving_answers_tls_clients_only(served, start_serving, pki):
    _, address = start_serving(served.root, tls_cert=pki.server_cert, tls_key=pki.server_key)
    with ServingClient(address, tls_ca=pki.ca, timeout=5) as client:
        assert client.recommend("m", 10, 2).model.version == 1
    with ServingClient(address, max_attempts=1, timeout=5) as plaintext:
        with pytest.raises(UnavailableError):
            plaintext.recommend("m", 10, 2)


def test_mutual_tls_wants_a_client_certificate_from_its_ca(served, start_serving, pki):
    _, address = start_serving(
        served.root,
        tls_cert=pki.server_cert,
        tls_key=pki.server_key,
        tls_client_ca=pki.ca,
        token="s3cret",
    )
    good = {"tls_ca": pki.ca, "tls_cert": pki.client_cert, "tls_key": pki.client_key}
    with ServingClient(address, token="s3cret", timeout=5, **good) as client:
        assert client.recommend("m", 10, 2).model.version == 1
    rogue = {"tls_ca": pki.ca, "tls_cert": pki.rogue_client_cert, "tls_key": pki.rogue_client_key}
    for options in ({"tls_ca": pki.ca}, rogue):
        with ServingClient(address, token="s3cret", max_attempts=1, timeout=5, **options) as c:
            with pytest.raises(UnavailableError):
                c.recommend("m", 10, 2)
    with ServingClient(address, timeout=5, **good) as no_token:
        with pytest.raises(UnauthenticatedError):
            no_token.recommend("m", 10, 2)


@pytest.mark.service
def test_the_cli_speaks_tls_with_a_token_file(served, start_serving, pki, tmp_path):
    _, address = start_serving(
        served.root, tls_cert=pki.server_cert, tls_key=pki.server_key, token="s3cret"
    )
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    args = ["status", "--serving", address, "--tls-ca", pki.ca, "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIEREC_TOKEN")}
    result = subprocess.run(
        [*MOVIEREC, *args, "--token-file", str(token_file)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["serving_version"] == 1
    empty = subprocess.run(
        [*MOVIEREC, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "MOVIEREC_TOKEN": ""},
    )
    assert empty.returncode == 2 and "the token is empty" in empty.stderr


@pytest.mark.service
@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        (["--host", "0.0.0.0"], {"MOVIEREC_TOKEN": "s3cret"}, "with a token and no TLS"),
        ([], {"MOVIEREC_TOKEN": ""}, "the token is empty"),
        (["--tls-cert", "/nonexistent.crt", "--tls-key", "/nonexistent.key"], {}, "not a regular"),
    ],
)
def test_a_service_that_would_be_unsafe_does_not_start(store, flags, env, message):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOVIEREC_TOKEN")}
    result = subprocess.run(
        [*MOVIEREC, "serving", "--port", "0", "--store", str(store.root), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr


@pytest.mark.service
def test_job_processes_do_not_inherit_the_token(store, start_trainer, monkeypatch):
    from tests.fakes import record_environment
    from trainer_service.server import TrainerConfig, create_server

    monkeypatch.setenv("MOVIEREC_TOKEN", "s3cret")
    server, port = create_server(TrainerConfig.from_env(store=str(store.root), port=0))
    server.jobs.job_target = record_environment
    server.start()
    try:
        assert "MOVIEREC_TOKEN" not in os.environ
        with TrainerClient(f"127.0.0.1:{port}", token="s3cret", timeout=10) as client:
            job = client.train("m", kind="dot", epochs=1)
            deadline = time.monotonic() + 30
            while not client.get_job(job.job_id).done:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        names = json.loads((store.root / "environment.json").read_text())
        assert "MOVIEREC_TOKEN" not in names and "MOVIEREC_TOKEN_FILE" not in names
    finally:
        server.stop(0)

"""Who may call a service, and over what: bearer tokens, TLS and mutual TLS, and the rule
that a token never crosses a network in clear text.

Everything here runs before a server binds, so a misconfigured service exits with a clear
message instead of listening insecurely.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
from collections.abc import Mapping

import grpc

TOKEN_ENV = "MOVIEREC_TOKEN"
TOKEN_FILE_ENV = "MOVIEREC_TOKEN_FILE"
MAX_SECRET_FILE_BYTES = 1 << 20


class ConfigError(ValueError):
    """A service setting that cannot work (empty token, missing key, unsafe exposure)."""


def check_token(token: str | None) -> None:
    """Raises ConfigError unless `token` is None (auth off) or a non-empty string of visible
    ASCII characters (what a gRPC metadata value can carry)."""
    if token is None:
        return
    if not token:
        raise ConfigError(
            f"the token is empty; unset {TOKEN_ENV} (and {TOKEN_FILE_ENV}) to turn auth off"
        )
    if not (token.isascii() and token.isprintable() and " " not in token):
        raise ConfigError("the token must be visible ASCII characters without spaces")


def read_secret_file(path: str | os.PathLike, what: str) -> bytes:
    """The bytes of a small regular file (a key, a certificate, a token).

    Raises:
        ConfigError: missing, unreadable, not a regular file, empty or over 1 MiB.
    """
    file = pathlib.Path(path)
    try:
        if not file.is_file():
            raise ConfigError(f"{what} {file} is not a regular file")
        data = file.read_bytes()[: MAX_SECRET_FILE_BYTES + 1]
    except OSError as error:
        raise ConfigError(f"cannot read {what} {file}: {error.strerror or error}") from None
    if not data.strip():
        raise ConfigError(f"{what} {file} is empty")
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise ConfigError(f"{what} {file} is over 1 MiB")
    return data


def resolve_token(
    token: str | None, token_file: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The token a service requires: `token_file`'s contents (surrounding whitespace
    stripped), else `token`, else MOVIEREC_TOKEN_FILE's file, else MOVIEREC_TOKEN, else None
    (auth off).

    Raises:
        ConfigError: an empty or malformed token, or an unreadable file.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    token_file = token_file or env.get(TOKEN_FILE_ENV) or None
    if token_file and token is None:
        token = read_secret_file(token_file, "token file").decode("ascii", "replace").strip()
    elif token is None:
        token = env.get(TOKEN_ENV)
    check_token(token)
    return token


def scrub_token_environment() -> None:
    """Removes MOVIEREC_TOKEN and MOVIEREC_TOKEN_FILE from this process's environment, so
    that processes it starts (training jobs run user-chosen data through TensorFlow) do not
    inherit the secret. Call it once the token has been read."""
    os.environ.pop(TOKEN_ENV, None)
    os.environ.pop(TOKEN_FILE_ENV, None)


def is_loopback(host: str) -> bool:
    """True for "localhost" and loopback IP literals; False for anything that may be
    reached from another host (wildcards, other addresses, other names)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, tls: bool, allow_plaintext_token: bool) -> None:
    """Refuses to serve a token-protected service in clear text beyond loopback.

    Raises:
        ConfigError: a token, no TLS, a non-loopback host, and no explicit permission.
    """
    if token and not tls and not is_loopback(host) and not allow_plaintext_token:
        raise ConfigError(
            f"refusing to listen on {host} with a token and no TLS: the token would cross the"
            " network in clear text; give --tls-cert and --tls-key, listen on 127.0.0.1, or"
            " pass --allow-plaintext-token if the network is trusted"
        )


def server_credentials(
    cert: str | None, key: str | None, client_ca: str | None
) -> grpc.ServerCredentials | None:
    """TLS credentials of a server: None without `cert`; with `client_ca`, clients must
    present a certificate it signed (mutual TLS).

    Raises:
        ConfigError: a certificate without its key (or the reverse), a client CA without a
            certificate, or a file that is unreadable or not PEM.
    """
    if not cert and not key:
        if client_ca:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if not (cert and key):
        raise ConfigError("--tls-cert and --tls-key go together")
    chain = _pem(cert, "TLS certificate", b"CERTIFICATE")
    private_key = _pem(key, "TLS key", b"PRIVATE KEY")
    roots = _pem(client_ca, "TLS client CA", b"CERTIFICATE") if client_ca else None
    return grpc.ssl_server_credentials(
        [(private_key, chain)], root_certificates=roots, require_client_auth=roots is not None
    )


def _pem(path: str, what: str, label: bytes) -> bytes:
    data = read_secret_file(path, what)
    if b"-----BEGIN " not in data or label not in data:
        raise ConfigError(f"{what} {path} is not a PEM file holding a {label.decode()}")
    return data


def add_security_arguments(parser) -> None:
    """The flags both services share for tokens and TLS."""
    parser.add_argument(
        "--token-file",
        help=f"file holding the bearer token clients must send ({TOKEN_FILE_ENV}; else"
        f" {TOKEN_ENV}; neither: no auth)",
    )
    parser.add_argument("--tls-cert", help="PEM certificate chain: serve TLS")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument(
        "--tls-client-ca", help="PEM CA bundle: require client certificates it signed (mTLS)"
    )
    parser.add_argument(
        "--allow-plaintext-token",
        action="store_true",
        help="let a token cross a trusted network without TLS (refused otherwise)",
    )


def security_settings(args) -> dict:
    """The config fields of the flags add_security_arguments adds, from parsed flags."""
    return {
        "token_file": args.token_file,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "tls_client_ca": args.tls_client_ca,
        "allow_plaintext_token": args.allow_plaintext_token,
    }

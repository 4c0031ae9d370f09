"""Certificates the TLS tests make for themselves: a CA, a server certificate for
127.0.0.1 and localhost, and client certificates (one signed by another CA)."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import pathlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclasses.dataclass(frozen=True)
class Pki:
    """Paths of the PEM files a test needs."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str
    rogue_client_cert: str
    rogue_client_key: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, public_key, signing_key, *, ca=False, server=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    elif server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(signing_key, hashes.SHA256())


def _write(folder: pathlib.Path, name: str, cert, key) -> tuple[str, str]:
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def make_pki(folder: pathlib.Path) -> Pki:
    """Writes a CA, a server and two client certificates (one from another CA) to folder."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    cas = {}
    for ca_name in ("ca", "rogue-ca"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(_name(ca_name), _name(ca_name), key.public_key(), key, ca=True)
        cas[ca_name] = (cert, key)
        paths[ca_name] = _write(folder, ca_name, cert, key)
    for name, ca_name, server in (
        ("server", "ca", True),
        ("client", "ca", False),
        ("rogue-client", "rogue-ca", False),
    ):
        ca_cert, ca_key = cas[ca_name]
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(_name(name), ca_cert.subject, key.public_key(), ca_key, server=server)
        paths[name] = _write(folder, name, cert, key)
    return Pki(
        ca=paths["ca"][0],
        server_cert=paths["server"][0],
        server_key=paths["server"][1],
        client_cert=paths["client"][0],
        client_key=paths["client"][1],
        rogue_client_cert=paths["rogue-client"][0],
        rogue_client_key=paths["rogue-client"][1],
    )

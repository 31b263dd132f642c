"""The lab's TLS: a certificate authority made at `lab up`, the portal front's certificate.

Production serves the portal over HTTPS with the city's certificates, and the
availability exporter must verify them and see their expiry coming. The lab does the
same with a CA of its own, so a certificate problem (an unknown issuer, a certificate
about to expire) is drilled for real. Everything lives under `state/<stack>/tls/`:
the CA's and the server's private keys are written 0600 and never go in the repo; only
the CA certificate (public) is handed to the exporter.

Keys are ECDSA P-256: as strong as RSA-3072 for a fraction of the handshake's CPU.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dvc_rollout import statedir

CA_DAYS = 3650
SERVER_DAYS = 90
# A certificate with fewer days left than this is renewed by `lab up`.
RENEW_DAYS = 30


@dataclass(frozen=True)
class Certificate:
    """A certificate and its private key, PEM text."""

    cert: str
    key: str

    def not_after(self) -> dt.datetime:
        return x509.load_pem_x509_certificate(self.cert.encode()).not_valid_after_utc

    def names(self) -> list[str]:
        ext = x509.load_pem_x509_certificate(self.cert.encode()).extensions
        alt = ext.get_extension_for_class(x509.SubjectAlternativeName).value
        return sorted(
            [str(n) for n in alt.get_values_for_type(x509.DNSName)]
            + [str(n) for n in alt.get_values_for_type(x509.IPAddress)]
        )


@dataclass(frozen=True)
class LabTls:
    """What `lab up` hands the stack: the CA certificate and the portal front's pair."""

    ca_cert: str
    server: Certificate


def tls_dir(stack: str) -> Path:
    return statedir.stack_dir(stack) / "tls"


def _write(path: Path, text: str, private: bool) -> None:
    """Write atomically; a private key is 0600 from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(path.suffix + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text)
    part.replace(path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def make_ca(common_name: str, days: int = CA_DAYS) -> Certificate:
    """A self-signed CA allowed to sign server certificates only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return Certificate(_cert_pem(cert), _key_pem(key))


def issue(ca: Certificate, names: Sequence[str], days: float = SERVER_DAYS) -> Certificate:
    """A server certificate for `names` (DNS names or IP addresses) signed by `ca`."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert.encode())
    ca_key = serialization.load_pem_private_key(ca.key.encode(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the lab CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Certificate(_cert_pem(cert), _key_pem(key))


def _read(path: Path) -> str | None:
    return path.read_text(encoding="ascii") if path.exists() else None


def ensure(stack: str, names: Sequence[str]) -> LabTls:
    """The stack's CA (made once) and a current server certificate for `names`.

    The server certificate is re-issued when missing, when its names changed or when it
    has fewer than RENEW_DAYS left, so `lab up` never hands out one about to expire.
    """
    folder = tls_dir(stack)
    ca_cert, ca_key = _read(folder / "ca.pem"), _read(folder / "ca.key")
    if ca_cert is None or ca_key is None:
        ca = make_ca(f"DVC lab CA ({stack})")
        _write(folder / "ca.key", ca.key, private=True)
        _write(folder / "ca.pem", ca.cert, private=False)
    else:
        ca = Certificate(ca_cert, ca_key)
    cert, key = _read(folder / "portal.pem"), _read(folder / "portal.key")
    server = Certificate(cert, key) if cert and key else None
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=RENEW_DAYS)
    if server is None or server.names() != sorted(names) or server.not_after() < soon:
        server = issue(ca, names)
        _write(folder / "portal.key", server.key, private=True)
        _write(folder / "portal.pem", server.cert, private=False)
    return LabTls(ca.cert, server)


def lab_ca(stack: str) -> Certificate:
    """The stack's CA, as `ensure` made it (for drills issuing other certificates)."""
    folder = tls_dir(stack)
    cert, key = _read(folder / "ca.pem"), _read(folder / "ca.key")
    if cert is None or key is None:
        raise FileNotFoundError(f"no lab CA under {folder}: run `dvc-rollout lab up` first")
    return Certificate(cert, key)

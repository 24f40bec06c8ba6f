"""A throw-away self-signed certificate for 127.0.0.1 (msal only accepts https authorities)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_LOCK = threading.Lock()
_PAIR: tuple[str, str] | None = None


def localhost_cert() -> tuple[str, str]:
    """``(cert_file, key_file)`` for 127.0.0.1/localhost, created once per process.

    Clients trust it through ``REQUESTS_CA_BUNDLE=<cert_file>`` (requests, and so msal).
    """
    global _PAIR
    with _LOCK:
        if _PAIR is None:
            _PAIR = _write_pair(Path(tempfile.mkdtemp(prefix="contacts-hub-tls-")))
        return _PAIR


def _write_pair(folder: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)

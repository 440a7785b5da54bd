"""TLS for every gRPC link: credentials from PEM files, and a throwaway local CA.

`throwaway_ca` (used by `meshpipe serve --tls` and the tests) makes, with `cryptography`, a
CA and one certificate for 127.0.0.1/localhost that serves both as server and as client
certificate (mutual TLS on the internal links). It is for trying TLS, not for production:
production certificates come from files (e.g. cert-manager Secrets, docs/security.md).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meshpipe.errors import ConfigurationError


def _read(path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None


def server_credentials(
    cert_file: str, key_file: str, ca_file: str = "", require_client_auth: bool = False
) -> grpc.ServerCredentials:
    """Server TLS from PEM files; with `require_client_auth`, clients must present a
    certificate signed by `ca_file` (mutual TLS)."""
    if require_client_auth and not ca_file:
        raise ConfigurationError("mutual TLS needs tls_ca_file (the CA of the client certificates)")
    return grpc.ssl_server_credentials(
        [(_read(key_file), _read(cert_file))],
        root_certificates=_read(ca_file) if ca_file else None,
        require_client_auth=require_client_auth,
    )


def channel_credentials(
    ca_file: str = "", cert_file: str = "", key_file: str = ""
) -> grpc.ChannelCredentials:
    """Client TLS: trust `ca_file` (empty = the system's roots); with a cert and key, the
    client presents them (mutual TLS)."""
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file) if ca_file else None,
        private_key=_read(key_file) if cert_file and key_file else None,
        certificate_chain=_read(cert_file) if cert_file and key_file else None,
    )


@dataclass(frozen=True)
class CaFiles:
    """Paths written by `throwaway_ca`."""

    ca_cert: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _usage(*, sign: bool, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
    )


def _ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    return (
        _builder("meshpipe throwaway CA", _name("meshpipe throwaway CA"), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign=False, cert_sign=True), critical=True)
        .sign(key, hashes.SHA256())
    )


def _leaf(
    key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    hosts: tuple[str, ...],
) -> x509.Certificate:
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    return (
        _builder("meshpipe", ca.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=True, cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def throwaway_ca(folder: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> CaFiles:
    """Write a new CA (ca.pem) and a certificate for `hosts` signed by it (node.pem,
    node.key, usable as server and client certificate) into `folder`; valid one day."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _ca(ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _leaf(key, ca, ca_key, hosts)
    files = CaFiles(folder / "ca.pem", folder / "node.pem", folder / "node.key")
    files.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.touch(mode=0o600)
    files.key.write_bytes(_key_pem(key))
    return files

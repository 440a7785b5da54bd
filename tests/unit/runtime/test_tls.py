"""The throwaway CA of `meshpipe serve --tls`, checked with cryptography's own verifier."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from meshpipe.errors import ConfigurationError
from meshpipe.runtime.tls import server_credentials, throwaway_ca


def test_the_node_certificate_verifies_against_the_ca_for_localhost(tmp_path: Path) -> None:
    files = throwaway_ca(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    node = x509.load_pem_x509_certificate(files.cert.read_bytes())
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("localhost"))
    chain = verifier.verify(node, [])
    assert chain[-1] == ca
    other = throwaway_ca(tmp_path / "other")
    stranger = x509.load_pem_x509_certificate(other.cert.read_bytes())
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(stranger, [])
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600


def test_missing_certificate_files_are_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        server_credentials(str(tmp_path / "no.pem"), str(tmp_path / "no.key"))
    files = throwaway_ca(tmp_path)
    with pytest.raises(ConfigurationError, match="mutual TLS needs"):
        server_credentials(str(files.cert), str(files.key), "", require_client_auth=True)

"""deploy/trust_store.py: certifi's bundle as a hashed directory that OpenSSL verifies against (in memory, no sockets)."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest
import trustme

from deploy.trust_store import write_hashed_dir


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> None:
    """A TLS handshake between two in-memory endpoints; raises ssl.SSLError when the client refuses."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_client = client.wrap_bio(c_in, c_out, server_hostname="oci.example")
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for endpoint in (tls_client, tls_server):
            try:
                endpoint.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done == 2:
            return
    raise AssertionError("the handshake did not finish")


def _server(ca: trustme.CA) -> ssl.SSLContext:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("oci.example").configure_cert(server)
    return server


def test_the_hashed_directory_trusts_the_bundle_and_nothing_else(tmp_path: Path) -> None:
    trusted, stranger = trustme.CA(), trustme.CA()
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + trusted.cert_pem.bytes())
    count = write_hashed_dir(bundle, tmp_path / "ca")
    assert count == Path(certifi.where()).read_text().count("BEGIN CERTIFICATE") + 1
    client = ssl.create_default_context(capath=str(tmp_path / "ca"))
    assert client.cert_store_stats()["x509_ca"] == 0  # nothing parsed up front: roots load when a chain needs one
    _handshake(client, _server(trusted))
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(ssl.create_default_context(capath=str(tmp_path / "ca")), _server(stranger))


def test_a_file_without_certificates_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("nothing here\n")
    with pytest.raises(ValueError):
        write_hashed_dir(empty, tmp_path / "ca")

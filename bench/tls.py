"""TLS for the benchmark's emulator: a local CA (trustme), a server certificate for 127.0.0.1, and the trust
store the gateway loads.

The gateway trusts certifi's roots (what the function image trusts) plus the local CA, laid out as the image
lays them out: a hashed directory (``SSL_CERT_DIR``, :mod:`deploy.trust_store`). ``trust_file`` is the same
roots as one bundle (``SSL_CERT_FILE``), to show what the directory saves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deploy.trust_store import write_hashed_dir


@dataclass(frozen=True)
class LocalTLS:
    cert_file: Path
    key_file: Path
    trust_file: Path
    """certifi's bundle plus the local CA, one file."""
    trust_dir: Path
    """The same roots as a hashed directory: what ``SSL_CERT_DIR`` points the gateway at (as in the image)."""


def make_local_tls(directory: Path) -> LocalTLS:
    import certifi
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, trust_file = directory / "server.pem", directory / "server.key", directory / "trust.pem"
    server.private_key_pem.write_to_path(str(key_file))
    cert_file.write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    trust_file.write_bytes(Path(certifi.where()).read_bytes() + b"\n" + ca.cert_pem.bytes())
    write_hashed_dir(trust_file, directory / "trust")
    return LocalTLS(cert_file, key_file, trust_file, directory / "trust")

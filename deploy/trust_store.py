"""Build time: certifi's CA bundle as an OpenSSL hashed directory: ``python3 deploy/trust_store.py DIR``.

OpenSSL reads a ``capath`` directory lazily: a TLS handshake loads only the roots its chain needs (about
1 ms), where a ``cafile`` is parsed whole for every new TLS context (certifi's ~140 roots cost 20-40 ms of
a function's cold start). The function image sets ``SSL_CERT_DIR`` to this directory; the roots trusted
are certifi's, as before. ``openssl rehash`` names the links (OpenSSL's own subject hash). Standard
library only, plus ``certifi`` when no bundle is given.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?\n-----END CERTIFICATE-----", re.S)


def write_hashed_dir(bundle: Path, directory: Path) -> int:
    """One file per certificate of ``bundle`` in ``directory``, plus OpenSSL's hash links; the count written."""
    blocks = _PEM.findall(bundle.read_text(encoding="ascii"))
    if not blocks:
        raise ValueError(f"{bundle} holds no PEM certificate")
    directory.mkdir(parents=True, exist_ok=True)
    for index, block in enumerate(blocks):
        (directory / f"ca-{index:03d}.pem").write_text(block + "\n", encoding="ascii")
    subprocess.run(["openssl", "rehash", str(directory)], check=True)
    return len(blocks)


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print("usage: trust_store.py DIR [BUNDLE]", file=sys.stderr)
        return 2
    if len(argv) == 2:
        bundle = Path(argv[1])
    else:
        import certifi

        bundle = Path(certifi.where())
    count = write_hashed_dir(bundle, Path(argv[0]))
    print(f"{count} certificates from {bundle} hashed into {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``python -m bench.emulator_main [local.emulator options] [--tls-cert PEM --tls-key PEM]``: the emulator on a
TCP_NODELAY socket, over HTTPS when given a certificate.

Same options and output line as ``python -m local.emulator``; only the listening socket differs
(see :mod:`bench.sockets`), so the emulator answers without Nagle stalls.
"""

from __future__ import annotations

import sys

from bench.sockets import bind_nodelay
from local.emulator.__main__ import build, parse_args
from local.emulator.server import make_server


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    tls = {name: _take(argv, f"--tls-{name}") for name in ("cert", "key")}
    args = parse_args(argv)
    emulator = build(args)
    sock = bind_nodelay(args.host, args.port)
    server = make_server(emulator, args.host)
    scheme = "http"
    if tls["cert"] and tls["key"]:
        server.config.ssl_certfile, server.config.ssl_keyfile = tls["cert"], tls["key"]
        scheme = "https"
    print(f"OCI emulator listening on {scheme}://{args.host}:{sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])
    return 0


def _take(argv: list[str], option: str) -> str | None:
    """Remove ``option VALUE`` from ``argv`` and return the value."""
    if option not in argv:
        return None
    at = argv.index(option)
    value = argv[at + 1]
    del argv[at:at + 2]
    return value


if __name__ == "__main__":
    sys.exit(main())

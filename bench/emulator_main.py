"""``python -m bench.emulator_main [local.emulator options]``: the emulator on a TCP_NODELAY socket.

Same options and output line as ``python -m local.emulator``; only the listening socket differs
(see :mod:`bench.sockets`), so the emulator answers without Nagle stalls.
"""

from __future__ import annotations

import sys

from bench.sockets import bind_nodelay
from local.emulator.__main__ import build, parse_args
from local.emulator.server import make_server


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emulator = build(args)
    sock = bind_nodelay(args.host, args.port)
    print(f"OCI emulator listening on http://{args.host}:{sock.getsockname()[1]}", flush=True)
    make_server(emulator, args.host).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

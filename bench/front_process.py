"""``python -m bench.front_process --workers N [--func PATH] [--timeout S]``: pool + HTTP front, own process.

The function environment is this process's environment. Prints one line,
``front http://127.0.0.1:PORT pids=1,2,3``, once every fdk process is ready and the front accepts,
then serves until its **stdin closes**, and stops the pool. (Not on SIGTERM: uvicorn re-raises a
captured SIGTERM after shutting down, which would kill this process before it stops its pool.) Runs apart from the load generator so the
two do not share a GIL, and listens on a TCP_NODELAY socket (:mod:`bench.sockets`).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

from bench.sockets import bind_nodelay
from local.fdk.pool import FdkPool
from local.fdk.process import DEFAULT_FUNC
from local.front import GatewayFront, _uvicorn_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.front_process")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--func", default=str(DEFAULT_FUNC))
    parser.add_argument("--timeout", type=float, default=30.0, help="function timeout (Fn-Deadline), seconds")
    args = parser.parse_args(argv)
    pool = FdkPool(args.workers, None, func_path=args.func, base_env=dict(os.environ))
    pool.start()
    try:
        sock = bind_nodelay("127.0.0.1", 0)
        server = _uvicorn_server(GatewayFront(pool, timeout_s=args.timeout), access_log=False)
        pids = ",".join(str(p.pid) for p in pool.processes)

        def stop_on_eof() -> None:
            sys.stdin.read()  # returns at EOF: the parent closed our stdin (or died)
            server.should_exit = True

        threading.Thread(target=stop_on_eof, name="stdin-watch", daemon=True).start()
        print(f"front http://127.0.0.1:{sock.getsockname()[1]} pids={pids}", flush=True)
        server.run(sockets=[sock])
    finally:
        pool.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

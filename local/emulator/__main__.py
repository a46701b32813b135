"""``python -m local.emulator --port 8081 [--public-key-file PEM --key-id ID]...``

Runs the emulator in the foreground until interrupted; prints the URL once it is bound so a
parent process can wait for that line. Keys are paired in order: the n-th ``--key-id`` uses
the n-th ``--public-key-file``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .server import Emulator, bind_socket, make_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--public-key-file", action="append", default=[], help="PEM public (or private) key")
    parser.add_argument("--key-id", action="append", default=[], help="keyId the matching key signs as")
    parser.add_argument("--dedicated-endpoint", action="append", default=[], metavar="OCID=MODEL_ID")
    parser.add_argument("--no-verify", action="store_true", help="accept unsigned requests")
    parser.add_argument("--seed", type=int, default=0, help="seed for probability-mode faults")
    args = parser.parse_args(argv)
    if len(args.key_id) != len(args.public_key_file):
        parser.error("give one --key-id per --public-key-file")
    return args


def build(args: argparse.Namespace) -> Emulator:
    emulator = Emulator(verify_signatures=not args.no_verify, seed=args.seed)
    for key_id, key_file in zip(args.key_id, args.public_key_file):
        emulator.add_key(key_id, Path(key_file).read_bytes())
    for pair in args.dedicated_endpoint:
        ocid, _, model_id = pair.partition("=")
        emulator.add_dedicated_endpoint(ocid, model_id)
    return emulator


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emulator = build(args)
    sock = bind_socket(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"OCI emulator listening on http://{shown}:{port}", flush=True)
    make_server(emulator, args.host).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())

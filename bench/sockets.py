"""Listening sockets for benchmarked servers, created so that asyncio turns Nagle off.

asyncio sets ``TCP_NODELAY`` on an accepted connection only when the listening socket was
created with ``proto=IPPROTO_TCP``; ``socket.socket(AF_INET, SOCK_STREAM)`` has ``proto == 0``,
so its connections keep Nagle on. A server that writes the response headers and body in two
``send`` calls (uvicorn does) then stalls each response ~40 ms on the client's delayed ACK,
which would swamp every number this benchmark reports.
"""

from __future__ import annotations

import socket


def bind_nodelay(host: str = "127.0.0.1", port: int = 0, backlog: int = 1024) -> socket.socket:
    """A bound, listening, non-blocking TCP socket whose accepted connections get TCP_NODELAY."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (for servers that insist on binding themselves)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])

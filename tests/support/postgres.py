"""A real PostgreSQL with pgvector for the tests (the PyPI package ``pgserver``), its data in a temporary folder.

One server per test session; each test that asks gets a database of its own (created from ``template0`` and
dropped afterwards), so no test sees another's rows.
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Any

_numbers = itertools.count()


def start_server(folder: Path) -> Any:
    import pgserver

    return pgserver.get_server(folder, cleanup_mode="delete")


def psql(server: Any, command: str, database: str = "postgres") -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    done = subprocess.run([str(POSTGRES_BIN_PATH / "psql"), server.get_uri(database), "-v", "ON_ERROR_STOP=1",
                           "-At", "-c", command], capture_output=True, text=True, timeout=60)
    if done.returncode:
        log = Path(server.pgdata) / "log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no server log)"
        raise RuntimeError(f"psql failed: {done.stderr.strip()}\nserver log:\n{tail}")
    return done.stdout


def new_database(server: Any) -> tuple[str, str]:
    """(name, URL) of a new, empty database."""
    name = f"test_{next(_numbers)}"
    psql(server, f"CREATE DATABASE {name} TEMPLATE template0")
    return name, server.get_uri(name)


def drop_database(server: Any, name: str) -> None:
    psql(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

"""Process-wide state, in one place: settings, credentials, one OCI client per event loop, and caches.

A warm function container answers many calls; whatever they share lives here and nowhere else, so
:func:`reset` forgets all of it at once (tests, a changed environment).
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Hashable, TypeVar

from core.errors import ConfigError
from core.settings import ROLES, Settings

if TYPE_CHECKING:
    from core.aliases import Alias
    from core.oci.client import OCIClient
    from core.vectorstores.database import Database

T = TypeVar("T")

FUNCTION_DIR = Path(__file__).resolve().parents[1]
"""Relative alias-file paths are resolved against the function's directory (where ``func.py`` lives)."""


class _State:
    """Everything cached for the life of the process."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.credentials: Any = None
        self.clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OCIClient] = weakref.WeakKeyDictionary()
        self.memo: dict[Hashable, Any] = {}
        self.lock = threading.Lock()
        self.databases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Database] = weakref.WeakKeyDictionary()
        self.database_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
            weakref.WeakKeyDictionary()


_state = _State()


def settings() -> Settings:
    """The environment's settings, read once (a malformed value is a ConfigError naming it)."""
    if _state.settings is None:
        _state.settings = Settings.from_env()
    return _state.settings


def log_level() -> str:
    """``LOG_LEVEL``, or INFO when a setting is malformed (the problem is then reported at error level)."""
    try:
        return settings().log_level
    except ConfigError:
        return "INFO"


def role() -> str:
    """``GATEWAY_ROLE``, readable even when another setting is malformed (so ``/health`` can say which)."""
    try:
        return settings().gateway_role
    except ConfigError:
        import os

        raw = os.environ.get("GATEWAY_ROLE", "").strip()
        return raw if raw in ROLES else ROLES[0]


def credentials() -> Any:
    """The process's OCI credentials, loaded once (a ConfigError names what is missing)."""
    if _state.credentials is None:
        from core.oci.credentials import load_credentials

        _state.credentials = load_credentials(settings())
    return _state.credentials


def loaded_credentials() -> Any:
    """Credentials already loaded for a request, or None (loading may need the network)."""
    return _state.credentials


def set_credentials(value: Any) -> None:
    """Install credentials (tests, tools that load them their own way)."""
    _state.credentials = value


def client() -> "OCIClient":
    """The pooled OCI client of the running event loop."""
    loop = asyncio.get_running_loop()
    found = _state.clients.get(loop)
    if found is None:
        from core.oci.client import OCIClient

        found = OCIClient(settings(), credentials())
        _state.clients[loop] = found
    return found


def set_client(value: "OCIClient") -> None:
    """Install a client for the running loop (tests, alternative transports)."""
    _state.clients[asyncio.get_running_loop()] = value


async def close_client() -> None:
    """Close the running loop's client (clean shutdown)."""
    found = _state.clients.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.aclose()


async def database() -> "Database":
    """The vector-store database connection of the running event loop, opened on first use (and again after it
    broke). Only the ingest role and the gateway's vector-store routes call this: psycopg loads here."""
    loop = asyncio.get_running_loop()
    found = _state.databases.get(loop)
    if found is not None and not found.closed:
        return found
    lock = _state.database_locks.setdefault(loop, asyncio.Lock())
    async with lock:
        found = _state.databases.get(loop)
        if found is None or found.closed:
            from core.vectorstores.database import open_database

            found = await open_database(settings(), client)
            _state.databases[loop] = found
    return found


async def close_database() -> None:
    """Close the running loop's database connection (clean shutdown, tests)."""
    found = _state.databases.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()


def memo(key: Hashable, build: Callable[[], T]) -> T:
    """``build()``'s value, built once per process per ``key`` (token tables, the tokenizer, stores)."""
    try:
        return _state.memo[key]  # type: ignore[no-any-return]
    except KeyError:
        pass
    with _state.lock:
        if key not in _state.memo:
            _state.memo[key] = build()
        return _state.memo[key]  # type: ignore[no-any-return]


def is_memoized(key: Hashable) -> bool:
    return key in _state.memo


def aliases(current: Settings | None = None) -> dict[str, "Alias"]:
    """The deployment's alias table: ``MODEL_ALIASES_FILE`` then ``MODEL_ALIASES`` over it, read once."""
    current = current or settings()
    key = ("aliases", current.model_aliases_file, json.dumps(current.model_aliases, sort_keys=True))
    return memo(key, lambda: _load_aliases(current))


def _load_aliases(current: Settings) -> dict[str, "Alias"]:
    from core.aliases import parse_aliases

    table: dict[str, Alias] = {}
    if current.model_aliases_file:
        table.update(_read_alias_file(current.model_aliases_file))
    if current.model_aliases is not None:
        table.update(parse_aliases(current.model_aliases, "setting MODEL_ALIASES"))
    return table


def _read_alias_file(path: str) -> dict[str, "Alias"]:
    from core.aliases import parse_aliases

    full = Path(path)
    if not full.is_absolute():
        full = FUNCTION_DIR / full
    try:
        text = full.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"setting MODEL_ALIASES_FILE={path!r}: cannot read the file ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"setting MODEL_ALIASES_FILE={path!r}: not valid JSON ({exc})") from None
    return parse_aliases(data, f"setting MODEL_ALIASES_FILE={path!r}")


def reset() -> None:
    """Forget every cached value: settings, credentials, clients and memos (tests)."""
    global _state
    _state = _State()

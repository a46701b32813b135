"""The vector-store database: where it is, how we talk to it, and the ``vector`` type on the wire.

* The connection string is ``VECTOR_STORE_URL`` (a ``postgresql://`` URL or ``key=value`` pairs) or the
  content of the Vault secret ``VECTOR_STORE_URL_SECRET_OCID``. Outside localhost (and Unix sockets) TLS is
  required: no ``sslmode`` means ``require``, and a mode that allows plain text is refused.
* Every statement runs under ``VECTOR_STORE_STATEMENT_TIMEOUT_MS``; connecting gives up after 10 s.
* One connection per container (:func:`core.runtime.database` keeps it). Its users take turns through
  :meth:`Database.session`, so a transaction never mixes with another coroutine's statements; a broken
  connection is closed and the next call opens a new one.
* Embeddings are sent in pgvector's binary form (``int16 dim, int16 0, float4[dim]``, big-endian) by a psycopg
  dumper for :class:`Embedding`; the text form costs several times more CPU to build and to parse.

Errors never carry the connection string: a failure is a 503 naming the SQLSTATE and psycopg's first line.
"""

from __future__ import annotations

import asyncio
import re
import struct
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg.conninfo import conninfo_to_dict
from psycopg.types import TypeInfo

from core.errors import SERVER, TIMEOUT, APIError, ConfigError
from core.settings import Settings

if TYPE_CHECKING:
    from core.oci.client import OCIClient

LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})
TLS_MODES = frozenset({"require", "verify-ca", "verify-full"})
_SECRETISH = re.compile(r"(password\s*=\s*)\S+", re.IGNORECASE)


class Embedding(list):  # type: ignore[type-arg]
    """Floats to send as a pgvector ``vector`` (binary)."""


def connection_params(url: str, settings: Settings) -> dict[str, Any]:
    """psycopg's connection parameters for ``url`` with our rules applied (TLS, timeouts, name)."""
    try:
        params: dict[str, Any] = conninfo_to_dict(url.strip())
    except psycopg.ProgrammingError:
        raise ConfigError("the vector store connection string is not a valid postgresql:// URL or "
                          "key=value list") from None
    hosts = str(params.get("host") or "").split(",")
    local = all(h in LOCAL_HOSTS or h.startswith("/") for h in hosts)
    mode = params.get("sslmode")
    if not local:
        if mode is None:
            params["sslmode"] = "require"
        elif mode not in TLS_MODES:
            raise ConfigError(f"the vector store is not on localhost: sslmode={mode} would allow plain text; use "
                              "require, verify-ca or verify-full")
    params.setdefault("connect_timeout", "10")
    timeout = max(1, int(settings.vector_store_statement_timeout_ms))
    params["options"] = f"{params.get('options', '')} -c statement_timeout={timeout}".strip()
    params.setdefault("application_name", "oci-genai-gateway")
    return params


async def resolve_url(settings: Settings, client: Callable[[], "OCIClient"]) -> str:
    """The connection string: the setting, else the Vault secret's content."""
    if settings.vector_store_url:
        return settings.vector_store_url.reveal()
    if not settings.vector_store_url_secret_ocid:
        raise ConfigError("no vector store: set VECTOR_STORE_URL or VECTOR_STORE_URL_SECRET_OCID")
    from core.oci.vault import read_secret

    raw = await read_secret(client(), settings.vector_store_url_secret_ocid, setting="VECTOR_STORE_URL_SECRET_OCID")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("the Vault secret named by VECTOR_STORE_URL_SECRET_OCID is not UTF-8 text") from None


def database_error(exc: Exception) -> APIError:
    """A 503 saying what the database answered, without the connection string."""
    first = _SECRETISH.sub(r"\1***", str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    state = getattr(exc, "sqlstate", None)
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return APIError(503, f"The vector store database did not answer in time ({first[:200]}).", type=TIMEOUT,
                        code="vector_store_timeout")
    where = f"SQLSTATE {state}: " if state else ""
    return APIError(503, f"The vector store database failed ({where}{first[:200]}).", type=SERVER,
                    code="vector_store_unavailable")


class Database:
    """The process's connection, taken in turns; ``closed`` once it broke."""

    def __init__(self, connection: psycopg.AsyncConnection[Any], pgvector_version: str) -> None:
        self.connection = connection
        self.pgvector_version = pgvector_version
        self._turn = asyncio.Lock()
        self.schema_ready = False

    @property
    def closed(self) -> bool:
        return bool(self.connection.closed)

    @property
    def iterative_scan(self) -> bool:
        """pgvector 0.8 can widen an HNSW scan until enough rows pass a filter."""
        return _version(self.pgvector_version) >= (0, 8)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The connection, alone; database failures become :func:`database_error` (a broken one is closed)."""
        async with self._turn:
            try:
                yield self.connection
            except psycopg.OperationalError as exc:
                if not isinstance(exc, psycopg.errors.QueryCanceled):
                    await self.connection.close()
                raise database_error(exc) from None
            except psycopg.Error as exc:
                raise database_error(exc) from None

    async def close(self) -> None:
        await self.connection.close()


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3]) or (0,)


def _vector_dumper(oid: int) -> type[Dumper]:
    class VectorDumper(Dumper):
        format = pq.Format.BINARY

        def dump(self, obj: Any) -> bytes:
            return struct.pack(f">HH{len(obj)}f", len(obj), 0, *obj)

    VectorDumper.oid = oid
    return VectorDumper


async def open_database(settings: Settings, client: Callable[[], "OCIClient"]) -> Database:
    """Connect, make sure pgvector is there, and teach the connection the ``vector`` type."""
    params = connection_params(await resolve_url(settings, client), settings)
    try:
        connection = await psycopg.AsyncConnection.connect(autocommit=True, **params)
    except psycopg.Error as exc:
        raise database_error(exc) from None
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        info = await TypeInfo.fetch(connection, "vector")
        row = await (await connection.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'")).fetchone()
    except psycopg.Error as exc:
        await connection.close()
        raise database_error(exc) from None
    if info is None or row is None:
        await connection.close()
        raise ConfigError("the vector store database has no pgvector extension (CREATE EXTENSION vector)")
    connection.adapters.register_dumper(Embedding, _vector_dumper(info.oid))
    return Database(connection, str(row[0]))

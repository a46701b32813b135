"""Object Storage operations on top of the signed, retrying client (``core.oci.client``).

Only what the ingestion pipeline needs: conditional GET (streamed, with ``Range``), HEAD,
PUT (``if-match`` / ``if-none-match: *``), DELETE (``if-match``) and ListObjects. Object names
are percent-encoded with ``safe=''`` exactly as the oci SDK does (``a/b c`` -> ``a%2Fb%20c``),
so the signed ``(request-target)`` is the path that is sent.

Conditional outcomes (304, 404, 412) are answers, not errors: they come back as an
:class:`ObjectResult` status so the caller decides (a 412 on ``if-match`` means the object was
overwritten since the event; a 404 means it was deleted). Everything else that is not 2xx raises
:class:`core.errors.APIError` after the client's retries (GET and HEAD are retried after any transport
failure; PUT and DELETE only when the request never left, see :mod:`core.oci.retry`).

A streamed GET whose body breaks off is re-opened from the first byte not yet received (``Range``,
with ``if-match`` on the ETag of the first answer, so the rest is never another version's); after
:data:`MAX_RESUMES` breaks, or when the object changed meanwhile, :class:`ReadInterrupted` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable
from urllib.parse import quote, urlencode

from core.errors import SERVER, APIError
from core.oci.client import OCIClient, StreamBroken, UpstreamError, UpstreamResponse, UpstreamStatus
from core.oci.deployment import objectstorage_url
from core.oci.failures import api_error

SERVICE = "OCI Object Storage"
CONDITIONAL = (304, 404, 412)
MAX_RESUMES = 3
"""Times a broken GET body is re-opened from where it broke before the read is given up."""


class ReadInterrupted(APIError):
    """An object's body could not be read to the end (the connection kept breaking, or the object changed)."""

    def __init__(self, message: str, *, changed: bool = False) -> None:
        super().__init__(503, message, type=SERVER, code="read_interrupted")
        self.changed = changed


def object_path(namespace: str, bucket: str, name: str) -> str:
    """``/n/{ns}/b/{bucket}/o/{object}`` with every part quoted like the SDK (``safe=''``)."""
    return f"/n/{_segment(namespace)}/b/{_segment(bucket)}/o/{_segment(name)}"


def _segment(value: str) -> str:
    """One path segment; a bare ``.``/``..`` is escaped so no URL normalizer can collapse it."""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def list_path(namespace: str, bucket: str) -> str:
    return f"/n/{quote(namespace, safe='')}/b/{quote(bucket, safe='')}/o"


@dataclass
class ObjectInfo:
    """What HEAD (or a GET's headers) say about an object."""

    status: int
    etag: str | None = None
    size: int | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class ObjectStream:
    """An open GET: :attr:`info` plus the body to iterate; always :meth:`aclose` it.

    ``reopen(offset)`` (set by :meth:`ObjectStorage.open`) opens the same version again from ``offset``.
    """

    info: ObjectInfo
    _stream: Any = None
    reopen: Callable[[int], Awaitable["ObjectStream"]] | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        """Decoded body bytes, as they arrive; a break is resumed from the next byte (see the module)."""
        received = 0
        resumes = 0
        while self._stream is not None:
            try:
                async for chunk in self._stream.chunks():
                    received += len(chunk)
                    yield chunk
                return
            except StreamBroken as exc:
                failure = str(exc)
            resumes += 1
            await self._resume(received, resumes, failure)

    async def _resume(self, received: int, resumes: int, failure: str) -> None:
        """Replace the broken stream with one from byte ``received``, or raise :class:`ReadInterrupted`."""
        await self.aclose()
        self._stream = None
        encoded = self.info.headers.get("content-encoding", "identity") not in ("", "identity")
        if self.reopen is None or encoded or resumes > MAX_RESUMES:
            raise ReadInterrupted(f"{SERVICE} broke off the object's body {resumes} times ({failure}) after "
                                  f"{received} bytes")
        again = await self.reopen(received)
        if again.info.status in CONDITIONAL:
            raise ReadInterrupted(f"the object changed while it was being read (HTTP {again.info.status})",
                                  changed=True)
        self._stream = again._stream

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()


@dataclass(frozen=True)
class ListedObject:
    name: str
    etag: str | None = None
    size: int | None = None
    time_modified: str | None = None


def _info(status: int, headers: Any) -> ObjectInfo:
    length = headers.get("content-length")
    total = None
    content_range = headers.get("content-range")  # bytes a-b/size: the object's size, not the range's
    if content_range and "/" in content_range:
        tail = content_range.rsplit("/", 1)[1]
        total = int(tail) if tail.isdigit() else None
    size = total if total is not None else (int(length) if length and length.isdigit() else None)
    return ObjectInfo(status, headers.get("etag"), size, headers.get("content-type"),
                      {k.lower(): v for k, v in headers.items()})


class ObjectStorage:
    """Object Storage calls for one deployment (endpoint from settings or the credentials' region).

    ``connect`` returns the OCI client of the running event loop (:func:`core.runtime.client`).
    """

    def __init__(self, connect: Callable[[], OCIClient]) -> None:
        self._connect = connect

    @property
    def client(self) -> OCIClient:
        return self._connect()

    async def _request(self, method: str, url: str, **kwargs: Any) -> UpstreamResponse:
        try:
            return await self.client.request(method, url, service=SERVICE, **kwargs)
        except UpstreamError as exc:
            raise api_error(exc) from None

    def _url(self, path: str, query: dict[str, Any] | None = None) -> str:
        client = self.client
        base = objectstorage_url(client.settings, client.credentials)
        url = base.rstrip("/") + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None}, quote_via=quote)
        return url

    async def head(self, namespace: str, bucket: str, name: str, *, if_match: str | None = None,
                   deadline: float | None = None) -> ObjectInfo:
        headers = {"if-match": if_match} if if_match else {}
        result = await self._request("HEAD", self._url(object_path(namespace, bucket, name)), headers=headers,
                                     deadline=deadline, ok_statuses=CONDITIONAL)
        return _info(result.status, result.headers)

    async def get_bytes(self, namespace: str, bucket: str, name: str, *, if_match: str | None = None,
                        byte_range: tuple[int, int] | None = None,
                        deadline: float | None = None) -> tuple[ObjectInfo, bytes]:
        """A small object (or a range) read whole; the body is empty unless the status is 2xx."""
        headers = _conditions(if_match, None, byte_range)
        result = await self._request("GET", self._url(object_path(namespace, bucket, name)), headers=headers,
                                     deadline=deadline, ok_statuses=CONDITIONAL, accept="*/*")
        info = _info(result.status, result.headers)
        return info, (result.body if info.ok else b"")

    async def open(self, namespace: str, bucket: str, name: str, *, if_match: str | None = None,
                   byte_range: tuple[int, int | None] | None = None, deadline: float | None = None) -> ObjectStream:
        """A streamed GET: never holds the object in memory. 304/404/412 come back with no body."""
        headers = _conditions(if_match, None, byte_range)
        url = self._url(object_path(namespace, bucket, name))
        try:
            stream = await self.client.open_stream("GET", url, headers=headers, deadline=deadline,
                                                   service=SERVICE, accept="*/*")
        except UpstreamStatus as exc:
            if exc.status in CONDITIONAL:
                return ObjectStream(ObjectInfo(exc.status))
            raise api_error(exc, known_model=False) from None  # a 404 stays a 404 (not an IAM 503)
        except UpstreamError as exc:
            raise api_error(exc) from None
        info = _info(stream.response.status_code, stream.headers)
        start = byte_range[0] if byte_range else 0
        version = info.etag or if_match

        async def reopen(offset: int) -> ObjectStream:
            return await self.open(namespace, bucket, name, if_match=version, byte_range=(start + offset, None),
                                   deadline=deadline)

        return ObjectStream(info, stream, reopen)

    async def put(self, namespace: str, bucket: str, name: str, body: bytes, *,
                  content_type: str = "application/octet-stream", if_match: str | None = None,
                  if_none_match: bool = False, deadline: float | None = None) -> ObjectInfo:
        """PutObject; ``if_none_match=True`` sends ``if-none-match: *`` (create only). 412 is returned."""
        headers = {"content-type": content_type}
        if if_match:
            headers["if-match"] = if_match
        if if_none_match:
            headers["if-none-match"] = "*"
        result = await self._request("PUT", self._url(object_path(namespace, bucket, name)), content=body,
                                     headers=headers, deadline=deadline, ok_statuses=(412,))
        return _info(result.status, result.headers)

    async def delete(self, namespace: str, bucket: str, name: str, *, if_match: str | None = None,
                     deadline: float | None = None) -> int:
        """DeleteObject; returns 204, or 404 (already gone) / 412 (changed since ``if_match``)."""
        headers = {"if-match": if_match} if if_match else {}
        result = await self._request("DELETE", self._url(object_path(namespace, bucket, name)),
                                     headers=headers, deadline=deadline, ok_statuses=(404, 412))
        return result.status

    async def list_page(self, namespace: str, bucket: str, *, prefix: str | None = None, start: str | None = None,
                        limit: int = 1000, fields: str = "name,etag,size,timeModified",
                        deadline: float | None = None) -> tuple[list[ListedObject], str | None]:
        """One ListObjects page and the ``nextStartWith`` cursor (None at the end)."""
        query = {"prefix": prefix, "start": start, "limit": limit, "fields": fields}
        result = await self._request("GET", self._url(list_path(namespace, bucket), query), deadline=deadline)
        data = result.json()
        objects = [ListedObject(o["name"], o.get("etag"), o.get("size"), o.get("timeModified"))
                   for o in data.get("objects") or [] if isinstance(o, dict) and "name" in o]
        return objects, data.get("nextStartWith")

    async def list(self, namespace: str, bucket: str, *, prefix: str | None = None,
                   deadline: float | None = None, page_size: int = 1000) -> AsyncIterator[ListedObject]:
        """Every object under ``prefix``, following ``nextStartWith`` pages."""
        start: str | None = None
        while True:
            objects, start = await self.list_page(namespace, bucket, prefix=prefix, start=start, limit=page_size,
                                                  deadline=deadline)
            for item in objects:
                yield item
            if not start:
                return

    async def get_namespace(self, deadline: float | None = None) -> str:
        result = await self._request("GET", self._url("/n/"), deadline=deadline)
        value = result.json()
        return str(value)


def _conditions(if_match: str | None, if_none_match: str | None,
                byte_range: tuple[int, int | None] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if if_match:
        headers["if-match"] = if_match
    if if_none_match:
        headers["if-none-match"] = if_none_match
    if byte_range is not None:
        headers["range"] = f"bytes={byte_range[0]}-{'' if byte_range[1] is None else byte_range[1]}"
    return headers


def names(objects: Iterable[ListedObject]) -> list[str]:
    return [o.name for o in objects]

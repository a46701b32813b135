"""OCI Object Storage for the emulator: namespaces, buckets and objects in memory.

Operations of the Object Storage REST API, answering as OCI does:

* ``GET /n/`` -> the namespace as a JSON string;
* ``GET|HEAD /n/{ns}/b/{bucket}/o/{object}``: ``if-match`` (412 on mismatch), ``if-none-match``
  (304, no body, on a match), ``range: bytes=a-b`` / ``a-`` / ``-n`` (206 with
  ``content-range``; 416 outside the object); bodies are streamed in slices;
* ``PUT`` on the same path: ``if-match`` (412 unless it matches), ``if-none-match: *`` (412 if
  the object exists; any other value 400); a new UUID-like ETag on every write;
* ``DELETE``: ``if-match`` (412), 204, 404 for a missing object;
* ``GET /n/{ns}/b/{bucket}/o`` (ListObjects): ``prefix``, ``start``, ``end``, ``limit``,
  ``fields`` (``name`` always; ``etag``, ``size``, ``md5``, ``timeCreated``, ``timeModified``),
  ``nextStartWith`` when truncated.

Missing buckets are 404 ``BucketNotFound``, missing objects 404 ``ObjectNotFound``, like OCI.
:meth:`ObjectStorageState.break_reads` makes the next GETs of an object stop after some bytes and drop
the connection (what a network failure mid-body looks like to the client).
Every request goes through the emulator's pipeline, so it must be signed; PutObject is
registered with ``sign_body=False`` (the SDK does not hash PutObject bodies).

Tests call :func:`install_objectstorage` and seed data with :meth:`ObjectStorageState.put`.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl, unquote

from .server import route
from .wire import EmuRequest, EmuResponse, OciError

DEFAULT_NAMESPACE = "emulatorns"
ROUTE_PREFIX = "objectstorage."
SLICE = 256 * 1024
MAX_LIST_LIMIT = 1000
LIST_FIELDS = ("name", "etag", "size", "md5", "timeCreated", "timeModified", "storageTier", "archivalState")

_SEGMENT = r"[^/?]+"
OBJECT_PATH = rf"/n/(?P<ns>{_SEGMENT})/b/(?P<bucket>{_SEGMENT})/o/(?P<object>.+)"
LIST_PATH = rf"/n/(?P<ns>{_SEGMENT})/b/(?P<bucket>{_SEGMENT})/o/?"
NAMESPACE_PATH = r"/n/?"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _http_date() -> str:
    import email.utils

    return email.utils.formatdate(usegmt=True)


@dataclass
class StoredObject:
    data: bytes
    etag: str
    content_type: str
    md5: str
    created: str
    modified: str
    last_modified_http: str
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectStorageState:
    """The emulated store. Thread-safe: tests seed it while the server thread serves it."""

    def __init__(self, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = namespace
        self.buckets: dict[tuple[str, str], dict[str, StoredObject]] = {}
        self.breaks: dict[tuple[str, str], list[int]] = {}  # (bucket, object) -> [bytes sent before the break, times]
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"ObjectStorageState({self.namespace!r}, {len(self.buckets)} buckets)"

    # --- seeding / inspection ------------------------------------------------------------------
    def create_bucket(self, bucket: str, namespace: str | None = None) -> None:
        with self._lock:
            self.buckets.setdefault((namespace or self.namespace, bucket), {})

    def put(self, bucket: str, name: str, data: bytes, content_type: str = "application/octet-stream",
            namespace: str | None = None, metadata: dict[str, str] | None = None) -> str:
        """Store an object (creating the bucket if needed); returns its new ETag."""
        with self._lock:
            self.create_bucket(bucket, namespace)
            return self._write(self.buckets[(namespace or self.namespace, bucket)], name, data, content_type,
                               metadata or {})

    def get(self, bucket: str, name: str, namespace: str | None = None) -> StoredObject | None:
        with self._lock:
            return self.buckets.get((namespace or self.namespace, bucket), {}).get(name)

    def remove(self, bucket: str, name: str, namespace: str | None = None) -> bool:
        with self._lock:
            return self.buckets.get((namespace or self.namespace, bucket), {}).pop(name, None) is not None

    def names(self, bucket: str, prefix: str = "", namespace: str | None = None) -> list[str]:
        with self._lock:
            objects = self.buckets.get((namespace or self.namespace, bucket), {})
            return sorted(n for n in objects if n.startswith(prefix))

    def reset(self) -> None:
        with self._lock:
            self.buckets.clear()
            self.breaks.clear()

    def break_reads(self, bucket: str, name: str, *, after: int, times: int = 1) -> None:
        """The next ``times`` GETs of the object send ``after`` body bytes, then the connection drops."""
        with self._lock:
            self.breaks[(bucket, name)] = [after, times]

    def _take_break(self, bucket: str, name: str) -> int | None:
        with self._lock:
            found = self.breaks.get((bucket, name))
            if not found or found[1] <= 0:
                return None
            found[1] -= 1
            return found[0]

    # --- internals ---------------------------------------------------------------------------
    @staticmethod
    def _write(objects: dict[str, StoredObject], name: str, data: bytes, content_type: str,
               metadata: dict[str, str], md5: str | None = None) -> str:
        previous = objects.get(name)
        now = _now()
        etag = str(uuid.uuid4())  # OCI ETags are UUID-like, not content hashes, and change on every write
        objects[name] = StoredObject(
            data=bytes(data), etag=etag, content_type=content_type or "application/octet-stream",
            md5=md5 or content_md5(data),
            created=previous.created if previous else now, modified=now, last_modified_http=_http_date(),
            metadata=dict(metadata),
        )
        return etag

    def _bucket(self, namespace: str, bucket: str) -> dict[str, StoredObject]:
        if namespace != self.namespace and not any(ns == namespace for ns, _ in self.buckets):
            raise OciError(404, "NamespaceNotFound", f"Either the namespace {namespace} does not exist or you "
                                                     "are not authorized to access it")
        found = self.buckets.get((namespace, bucket))
        if found is None:
            raise OciError(404, "BucketNotFound", f"Either the bucket named '{bucket}' does not exist in the "
                                                  f"namespace '{namespace}' or you are not authorized to access it")
        return found


def _object_not_found(name: str, bucket: str, namespace: str) -> OciError:
    return OciError(404, "ObjectNotFound", f"The object '{name}' was not found in the bucket '{bucket}'")


def _etag_matches(header: str, etag: str) -> bool:
    values = [v.strip().strip('"') for v in header.split(",")]
    return "*" in values or etag in values


def _object_headers(obj: StoredObject) -> dict[str, str]:
    headers = {
        "etag": obj.etag,
        "content-type": obj.content_type,
        "content-md5": obj.md5,
        "last-modified": obj.last_modified_http,
        "accept-ranges": "bytes",
        "archival-state": "Available",
        "storage-tier": "Standard",
    }
    for key, value in obj.metadata.items():
        headers[f"opc-meta-{key}"] = value
    return headers


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``a-`` / ``-n`` -> inclusive (start, end); None when unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        raise OciError(400, "InvalidRange", f"Unsupported range {header!r}.")
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            count = int(last)
            if count <= 0:
                return None
            return max(0, size - count), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        raise OciError(400, "InvalidRange", f"Malformed range {header!r}.") from None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


class BodyBroken(Exception):
    """Raised mid-body so the server drops the connection (an injected network failure)."""


def content_md5(data: bytes) -> str:
    """The object's ``Content-MD5`` (base64 of the MD5 digest), as OCI reports it."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


async def _slices(data: bytes, start: int, end: int, break_after: int | None = None) -> AsyncIterator[bytes]:
    view = memoryview(data)
    stop = end if break_after is None else min(end, start + break_after)
    for position in range(start, stop, SLICE):
        yield bytes(view[position:min(stop, position + SLICE)])
    if break_after is not None:
        raise BodyBroken(f"injected: the connection drops after {break_after} bytes")


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


def install_objectstorage(emulator: Any, namespace: str = DEFAULT_NAMESPACE,
                          state: ObjectStorageState | None = None) -> ObjectStorageState:
    """Serve Object Storage from ``emulator`` (replacing an earlier install); returns the store."""
    store = state or ObjectStorageState(namespace)

    def params(request: EmuRequest) -> tuple[str, str, str]:
        return (unquote(request.params["ns"]), unquote(request.params["bucket"]),
                unquote(request.params.get("object", "")))

    async def get_namespace(_emulator: Any, request: EmuRequest) -> EmuResponse:
        return EmuResponse.json(200, store.namespace)

    def read(request: EmuRequest, with_body: bool) -> EmuResponse:
        namespace, bucket, name = params(request)
        with store._lock:
            obj = store._bucket(namespace, bucket).get(name)
        if obj is None:
            raise _object_not_found(name, bucket, namespace)
        headers = _object_headers(obj)
        if_match = request.headers.get("if-match")
        if if_match is not None and not _etag_matches(if_match, obj.etag):
            raise OciError(412, "IfMatchFailed", f"The If-Match header ({if_match}) does not match the current "
                                                 f"ETag of object '{name}'.")
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and _etag_matches(if_none_match, obj.etag):
            return EmuResponse(304, b"", {"etag": obj.etag})
        size = len(obj.data)
        status, start, end = 200, 0, size
        range_header = request.headers.get("range")
        if range_header:
            found = parse_range(range_header, size)
            if found is None:
                response = EmuResponse.json(416, {"code": "InvalidRange",
                                                  "message": f"The range {range_header!r} is not satisfiable."})
                response.headers["content-range"] = f"bytes */{size}"
                return response
            status, start, end = 206, found[0], found[1] + 1
            headers["content-range"] = f"bytes {start}-{end - 1}/{size}"
        headers["content-length"] = str(end - start)
        stream = _slices(obj.data, start, end, store._take_break(bucket, name)) if with_body else _empty()
        return EmuResponse(status, b"", headers, stream=stream)

    async def get_object(_emulator: Any, request: EmuRequest) -> EmuResponse:
        return read(request, True)

    async def head_object(_emulator: Any, request: EmuRequest) -> EmuResponse:
        return read(request, False)

    async def put_object(_emulator: Any, request: EmuRequest) -> EmuResponse:
        namespace, bucket, name = params(request)
        if "content-length" not in request.headers:
            raise OciError(411, "MissingContentLength", "The Content-Length header is required.")
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and if_none_match.strip() != "*":
            raise OciError(400, "InvalidParameter", "The only supported value of If-None-Match is '*'.")
        metadata = {k[len("opc-meta-"):]: v for k, v in request.headers.items() if k.startswith("opc-meta-")}
        body = request.body
        # A large body is hashed in a thread (hashlib lets go of the GIL): other calls' answers are not held up.
        md5 = await asyncio.to_thread(content_md5, body) if len(body) > 1 << 20 else content_md5(body)
        with store._lock:
            objects = store._bucket(namespace, bucket)
            current = objects.get(name)
            if_match = request.headers.get("if-match")
            if if_match is not None and (current is None or not _etag_matches(if_match, current.etag)):
                if current is None:
                    raise _object_not_found(name, bucket, namespace)
                raise OciError(412, "IfMatchFailed", f"The If-Match header ({if_match}) does not match the current "
                                                     f"ETag of object '{name}'.")
            if if_none_match is not None and current is not None:
                raise OciError(412, "IfNoneMatchFailed", f"The object '{name}' already exists.")
            etag = store._write(objects, name, body, request.headers.get("content-type", "application/octet-stream"),
                                metadata, md5)
            stored = objects[name]
        return EmuResponse(200, b"", {"etag": etag, "content-md5": stored.md5,
                                      "last-modified": stored.last_modified_http})

    async def delete_object(_emulator: Any, request: EmuRequest) -> EmuResponse:
        namespace, bucket, name = params(request)
        with store._lock:
            objects = store._bucket(namespace, bucket)
            current = objects.get(name)
            if current is None:
                raise _object_not_found(name, bucket, namespace)
            if_match = request.headers.get("if-match")
            if if_match is not None and not _etag_matches(if_match, current.etag):
                raise OciError(412, "IfMatchFailed", f"The If-Match header ({if_match}) does not match the current "
                                                     f"ETag of object '{name}'.")
            del objects[name]
        return EmuResponse(204, b"", {"last-modified": _http_date()})

    async def list_objects(_emulator: Any, request: EmuRequest) -> EmuResponse:
        namespace, bucket, _ = params(request)
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        prefix = query.get("prefix", "")
        start = query.get("start")
        end = query.get("end")
        try:
            limit = int(query.get("limit", MAX_LIST_LIMIT))
        except ValueError:
            raise OciError(400, "InvalidParameter", "limit must be an integer.") from None
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise OciError(400, "InvalidParameter", f"limit must be between 1 and {MAX_LIST_LIMIT}.")
        wanted = {f.strip() for f in query.get("fields", "name").split(",") if f.strip()}
        unknown = wanted - set(LIST_FIELDS)
        if unknown:
            raise OciError(400, "InvalidParameter", f"Unknown fields: {', '.join(sorted(unknown))}.")
        with store._lock:
            objects = store._bucket(namespace, bucket)
            selected = sorted((n, o) for n, o in objects.items() if n.startswith(prefix)
                              and (start is None or n >= start) and (end is None or n < end))
        page, rest = selected[:limit], selected[limit:]
        items = []
        for name, obj in page:
            item: dict[str, Any] = {"name": name}
            values = {"etag": obj.etag, "size": len(obj.data), "md5": obj.md5, "timeCreated": obj.created,
                      "timeModified": obj.modified, "storageTier": "Standard", "archivalState": "Available"}
            item.update({k: v for k, v in values.items() if k in wanted})
            items.append(item)
        body: dict[str, Any] = {"objects": items, "prefixes": []}
        if rest:
            body["nextStartWith"] = rest[0][0]
        return EmuResponse.json(200, body)

    routes = [
        route("GET", NAMESPACE_PATH, get_namespace, ROUTE_PREFIX + "getNamespace"),
        route("GET", LIST_PATH, list_objects, ROUTE_PREFIX + "listObjects"),
        route("GET", OBJECT_PATH, get_object, ROUTE_PREFIX + "getObject"),
        route("HEAD", OBJECT_PATH, head_object, ROUTE_PREFIX + "headObject"),
        route("PUT", OBJECT_PATH, put_object, ROUTE_PREFIX + "putObject", sign_body=False),
        route("DELETE", OBJECT_PATH, delete_object, ROUTE_PREFIX + "deleteObject"),
    ]
    emulator.routes[:] = [r for r in emulator.routes if not r.name.startswith(ROUTE_PREFIX)]
    for new_route in routes:
        emulator.add_route(new_route)
    emulator.objectstorage = store
    return store

"""``make serve``'s local bucket: drop a file into a folder, and it is ingested into a searchable vector store.

In emulator mode the serve command starts, next to the gateway:

* an embedded PostgreSQL with pgvector (the PyPI package ``pgserver``), its data in a temporary folder removed at
  exit; it starts on a thread while the functions start, so ``make serve`` is not slower for it;
* the ingest function (the same ``func.py``, ``GATEWAY_ROLE=ingest``) under the real fdk;
* a folder watcher: every file put in (or changed in, or removed from) the folder is put in (or removed from) the
  emulator's bucket ``local-docs``, and the matching OCI Events CloudEvent is delivered to the ingest function,
  as OCI Events would. The emulator's Functions API lets the ingest function continue itself as in OCI.

The gateway then answers ``/v1/vector_stores/vs_local-docs/search``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

INPUT_BUCKET = "local-docs"
OUTPUT_BUCKET = "local-embeddings"
STORE = "vs_" + INPUT_BUCKET
FUNCTION_ID = "ocid1.fnfunc.oc1..local"
"""What the local fdk runner sets as ``FN_FN_ID``: the emulator's Functions API answers for it."""


class EmbeddedPostgres:
    """A PostgreSQL with pgvector in a temporary folder, started on a thread (:meth:`start`, :meth:`wait`)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gw-pg-"))
        self.data = self.folder / "data"
        self.server: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="embedded-postgres", daemon=True)

    @property
    def url(self) -> str:
        """Known before the server is up: it listens on a Unix socket in its data folder."""
        return f"postgresql://postgres:@/postgres?host={self.data}"

    def start(self) -> "EmbeddedPostgres":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            import logging

            import pgserver

            logging.getLogger("pgserver").setLevel(logging.WARNING)  # it narrates every step at INFO
            self.server = pgserver.get_server(self.data, cleanup_mode="delete")
        except BaseException as exc:  # noqa: BLE001 - reported by wait()
            self.error = exc

    def wait(self, timeout: float = 60.0) -> str:
        self._thread.join(timeout)
        if self.error is not None or self.server is None:
            raise RuntimeError(f"the embedded PostgreSQL did not start: {self.error!r}")
        return str(self.server.get_uri())

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)


def ingest_environment(url: str, emulator_url: str) -> dict[str, str]:
    return {"GATEWAY_ROLE": "ingest", "INGEST_INPUT_BUCKETS": INPUT_BUCKET, "INGEST_OUTPUT_BUCKET": OUTPUT_BUCKET,
            "VECTOR_STORE_URL": url, "OCI_FUNCTIONS_ENDPOINT": emulator_url}


def cloud_event(kind: str, namespace: str, name: str, etag: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"bucketName": INPUT_BUCKET, "namespace": namespace}
    if etag:
        details["eTag"] = etag
    return {"eventType": f"com.oraclecloud.objectstorage.{kind}", "cloudEventsVersion": "0.1",
            "eventTypeVersion": "2.0", "source": "ObjectStorage", "contentType": "application/json",
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "eventID": str(uuid.uuid4()),
            "data": {"resourceName": name, "resourceId": f"/n/{namespace}/b/{INPUT_BUCKET}/o/{name}",
                     "additionalDetails": details}}


@dataclass
class FolderWatcher:
    """Mirrors a folder into the emulator's input bucket and tells the ingest function, like OCI Events."""

    folder: Path
    objects: Any  # the emulator's ObjectStorageState
    deliver: Callable[[dict[str, Any]], Any]
    interval: float = 1.0
    seen: dict[str, tuple[float, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "FolderWatcher":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.objects.create_bucket(INPUT_BUCKET)
        self.objects.create_bucket(OUTPUT_BUCKET)
        threading.Thread(target=self._loop, name="local-bucket", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception as exc:  # noqa: BLE001 - a local convenience: say it and go on
                print(f"local bucket: {type(exc).__name__}: {exc}", flush=True)
            self._stop.wait(self.interval)

    def scan(self) -> None:
        """One pass: put new or changed files, remove deleted ones, one event each."""
        now: dict[str, tuple[float, int]] = {}
        for path in sorted(self.folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                now[path.relative_to(self.folder).as_posix()] = (stat.st_mtime, stat.st_size)
        for name, signature in now.items():
            if self.seen.get(name) != signature:
                etag = self.objects.put(INPUT_BUCKET, name, (self.folder / name).read_bytes(), _content_type(name))
                self._tell("createobject" if name not in self.seen else "updateobject", name, etag)
        for name in set(self.seen) - set(now):
            self.objects.remove(INPUT_BUCKET, name)
            self._tell("deleteobject", name, None)
        self.seen = now

    def _tell(self, kind: str, name: str, etag: str | None) -> None:
        answer = self.deliver(cloud_event(kind, self.objects.namespace, name, etag))
        print(f"local bucket: {kind} {name} -> {answer}", flush=True)


def _content_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def fdk_deliverer(proc: Any, timeout_s: float) -> Callable[[dict[str, Any]], str]:
    """Deliver a CloudEvent to an fdk process; the outcome status (or the failure) as text."""

    def deliver(body: dict[str, Any]) -> str:
        result = proc.call_invoke(json.dumps(body), intent="cloudevent", deadline_s=timeout_s)
        try:
            return str(json.loads(result.body).get("status") or result.status)
        except ValueError:
            return f"HTTP {result.status}"

    return deliver


def register_continuations(emulator: Any, proc: Any, timeout_s: float) -> None:
    """The emulator's Functions API runs the ingest function's detached self-invocations on the same process."""
    from local.emulator.functions import install_functions

    async def invoke(body: bytes, invoke_type: str, intent: str) -> tuple[int, bytes]:
        result = await proc.acall_invoke(body, intent=intent, deadline_s=timeout_s, invoke_type=invoke_type)
        return result.status, result.body

    install_functions(emulator).register(FUNCTION_ID, invoke)

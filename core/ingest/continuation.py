"""Going on with an object that did not fit in one invocation: the function invokes itself, detached.

Whether OCI Events invokes a function synchronously (at most 300 s) or detached is not documented, so a run
never assumes more time than its ``Fn-Deadline`` gives it. When it must stop, it saves its progress (a
``partial`` manifest) and sends the same event, marked as a continuation, to a detached invocation of this
very function, which may run for the function's ``detached_mode_timeout_in_seconds`` (up to 3600 s) and
resumes after the last written part. The chain stops at ``INGEST_MAX_INVOCATIONS``; the scheduled
reconciliation picks up whatever is left. See docs/ingestion.md for why this and not a marker object or a queue.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Callable

from core.errors import ConfigError
from core.ingest import output as out
from core.ingest.events import ObjectEvent
from core.oci.functions import invoke_detached, invoke_endpoint
from core.settings import Settings

if TYPE_CHECKING:
    from core.oci.client import OCIClient

CALL_SECONDS = 8.0
"""Time the two calls of a hand-on (look up the endpoint once, invoke) may take, whatever the run had left."""
CONTINUABLE = frozenset({out.DEADLINE, out.READ_FAILED, out.CUT_FAILED})
"""Why a run stopped early that another invocation can fix at once (not a throttled upstream: that waits)."""


class Continuation:
    """Sends an unfinished object version to a new detached invocation of this function."""

    def __init__(self, settings: Settings, connect: Callable[[], "OCIClient"]) -> None:
        self.settings = settings
        self._connect = connect
        self._endpoint: str | None = None

    @property
    def function_id(self) -> str | None:
        return self.settings.fn_fn_id

    @property
    def enabled(self) -> bool:
        mode = self.settings.ingest_continuation
        return mode == "invoke" or (mode == "auto" and bool(self.function_id))

    def lease(self, seconds: float = 3600.0) -> dict[str, str]:
        """What a partial manifest says while a continuation owns the object (the reconciliation waits)."""
        until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
        return {"mode": "invoke", "until": until}

    async def send(self, event: ObjectEvent, invocation: int, *, deadline: float | None) -> str:
        """Invoke this function, detached, with ``event`` as continuation number ``invocation``; OCI's request id."""
        body = ObjectEvent(event.event_type, event.namespace, event.bucket, event.name, event.etag, event.event_id,
                           event.event_time, invocation).as_body()
        return await self.send_body(body, deadline=deadline)

    async def send_body(self, body: dict[str, Any], *, deadline: float | None) -> str:
        """Invoke this function, detached, with ``body`` (an event or a reconciliation to go on with)."""
        function_id = self.function_id
        if not function_id:
            raise ConfigError("INGEST_CONTINUATION=invoke needs the function's OCID (FN_FN_ID, set by OCI Functions)")
        client = self._connect()
        deadline = _call_deadline(deadline)
        if self._endpoint is None:
            self._endpoint = await invoke_endpoint(client, function_id, deadline=deadline)
        return await invoke_detached(client, self._endpoint, function_id, json.dumps(body).encode(), deadline=deadline)


def _call_deadline(deadline: float | None) -> float | None:
    """Handing on is worth a few seconds past a run's own budget: without it the work waits for the reconciliation."""
    return None if deadline is None else max(deadline, time.time() + CALL_SECONDS)

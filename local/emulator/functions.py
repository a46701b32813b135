"""OCI Functions for the emulator: a function's record and its invoke endpoint, sync or detached.

* ``GET /20181201/functions/{id}`` answers the function (``invokeEndpoint`` is this emulator);
* ``POST /20181201/functions/{id}/actions/invoke`` runs the function registered under that OCID with the
  request body. ``fn-invoke-type: detached`` answers 202 at once and runs it in the background, as OCI does;
  ``sync`` (the default) answers with the function's own status and body.

Tests register what an invocation runs (:meth:`FunctionsState.register`), typically a call into a real fdk
process; every invocation is recorded with its type and the outcome.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import unquote

from .server import route
from .wire import EmuRequest, EmuResponse, NotFound, OciError

ROUTE_PREFIX = "functions."
_ID = r"(?P<function_id>[^/?]+)"
Invoker = Callable[[bytes, str, str], Awaitable[tuple[int, bytes]]]
"""(body, invoke type, intent) -> (status, body) of the function's answer."""


@dataclass
class Invocation:
    function_id: str
    invoke_type: str
    body: bytes
    status: int | None = None
    answer: bytes = b""
    error: str | None = None


@dataclass
class FunctionsState:
    functions: dict[str, Invoker] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def register(self, function_id: str, invoker: Invoker) -> None:
        self.functions[function_id] = invoker

    def running(self) -> int:
        return sum(1 for task in self.tasks if not task.done())


async def _run(state: FunctionsState, invocation: Invocation, invoker: Invoker, intent: str) -> None:
    try:
        invocation.status, invocation.answer = await invoker(invocation.body, invocation.invoke_type, intent)
    except Exception as exc:  # noqa: BLE001 - recorded: a detached invocation has no caller to tell
        invocation.error = f"{type(exc).__name__}: {exc}"


def install_functions(emulator: Any) -> FunctionsState:
    """Serve the Functions routes from ``emulator`` (replacing an earlier install); returns the state."""
    state = FunctionsState()

    def invoker_of(request: EmuRequest) -> tuple[str, Invoker]:
        function_id = unquote(request.params["function_id"])
        found = state.functions.get(function_id)
        if found is None:
            raise NotFound(f"function {function_id}")
        return function_id, found

    async def get_function(_emulator: Any, request: EmuRequest) -> EmuResponse:
        function_id, _ = invoker_of(request)
        host = request.headers.get("host", "127.0.0.1")
        return EmuResponse.json(200, {
            "id": function_id, "displayName": function_id.rsplit(".", 1)[-1], "lifecycleState": "ACTIVE",
            "invokeEndpoint": f"http://{host}", "timeoutInSeconds": 300, "detachedModeTimeoutInSeconds": 3600,
            "timeCreated": dt.datetime.now(dt.timezone.utc).isoformat()})

    async def invoke(_emulator: Any, request: EmuRequest) -> EmuResponse:
        function_id, invoker = invoker_of(request)
        invoke_type = request.headers.get("fn-invoke-type", "sync").lower()
        if invoke_type not in ("sync", "detached"):
            raise OciError(400, "InvalidParameter", "fn-invoke-type must be sync or detached.")
        invocation = Invocation(function_id, invoke_type, request.body)
        state.invocations.append(invocation)
        work = _run(state, invocation, invoker, request.headers.get("fn-intent", "httprequest"))
        if invoke_type == "detached":
            task = asyncio.create_task(work)
            state.tasks.add(task)
            task.add_done_callback(state.tasks.discard)
            return EmuResponse(202, b"", {})
        await work
        return EmuResponse(invocation.status or 502, invocation.answer, {"content-type": "application/json"})

    emulator.routes[:] = [r for r in emulator.routes if not r.name.startswith(ROUTE_PREFIX)]
    emulator.add_route(route("GET", rf"/20181201/functions/{_ID}", get_function, ROUTE_PREFIX + "getFunction"))
    emulator.add_route(route("POST", rf"/20181201/functions/{_ID}/actions/invoke", invoke,
                             ROUTE_PREFIX + "invokeFunction"))
    emulator.functions = state
    return state

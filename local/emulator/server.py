"""The emulator: state, route table, a plain ASGI app, and a background-thread runner.

Request pipeline for a service route (order matters, it is OCI's):

1. record the request (method, path, headers, parsed JSON body);
2. added latency (``latency``);
3. signature check -> 401 ``NotAuthenticated``;
4. scripted/random fault -> the injected status;
5. the service handler (validation 400, unknown model 404, then the answer);
6. optional "slow body" delay between the response headers and the body.

``/_emulator/...`` control routes skip all of that and are never recorded.
Service routes live in ``ROUTES`` (a list of :class:`Route`); a later service (Object Storage)
appends its routes with :meth:`Emulator.add_route`.
"""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from . import genai, guardrails, management, rerank
from .control import CONTROL_ROUTES, PREFIX
from .faults import FaultPlan
from .models import ModelTable
from .signature import KeyStore, Verification, redact_key_id, verify_request
from .streaming import StreamSettings
from .validation import RequestInvalid, parse_json
from .wire import AUTH_FAILED_MESSAGE, EmuRequest, EmuResponse, OciError, oci_error, redact_headers

Handler = Callable[[Any, EmuRequest], Awaitable[EmuResponse]]


@dataclass(frozen=True)
class Route:
    """One service operation. ``sign_body=False`` is the PutObject-style exemption."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str
    sign_body: bool = True

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def route(method: str, path_regex: str, handler: Handler, name: str, *, sign_body: bool = True) -> Route:
    return Route(method.upper(), re.compile(path_regex), handler, name, sign_body)


ROUTES: list[Route] = [
    route("POST", r"/20231130/actions/chat", genai.chat, "genai.chat"),
    route("POST", r"/20231130/actions/embedText", genai.embed_text, "genai.embedText"),
    route("POST", r"/20231130/actions/rerankText", rerank.rerank_text, "genai.rerankText"),
    route("POST", r"/20231130/actions/applyGuardrails", guardrails.apply_guardrails, "genai.applyGuardrails"),
    route("GET", r"/20231130/models", management.list_models, "genai.listModels"),
    route("GET", r"/20231130/modelDiscovery", management.list_model_discovery, "genai.listModelDiscovery"),
]


@dataclass
class RecordedRequest:
    """What the emulator received, for tests to inspect. ``repr`` and ``to_json`` hide secrets."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any
    verified: bool
    verify_reason: str
    key_id: str | None
    route: str | None
    timestamp: float
    request_id: str = ""
    status: int | None = None
    fault: int | None = None
    stream_sent: int | None = None  # streamed responses: chunks the server has written so far
    stream_total: int | None = None

    @property
    def stream_finished(self) -> bool:
        """True once every chunk of a streamed response has been written."""
        return self.stream_total is not None and self.stream_sent == self.stream_total

    def __repr__(self) -> str:
        return (
            f"RecordedRequest({self.method} {self.path}, status={self.status}, verified={self.verified}, "
            f"key_id={redact_key_id(self.key_id)!r}, reason={self.verify_reason!r})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": redact_headers(self.headers),
            "json": self.json,
            "verified": self.verified,
            "verifyReason": self.verify_reason,
            "keyId": redact_key_id(self.key_id),
            "route": self.route,
            "requestId": self.request_id,
            "status": self.status,
            "fault": self.fault,
            "streamSent": self.stream_sent,
            "streamTotal": self.stream_total,
            "timestamp": self.timestamp,
        }


class Emulator:
    """OCI Generative AI on loopback: holds all state and is itself the ASGI application."""

    def __init__(
        self,
        *,
        verify_signatures: bool = True,
        seed: int = 0,
        models: ModelTable | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.verify_signatures = verify_signatures
        self.keys = KeyStore()
        self.models = models if models is not None else ModelTable.seeded()
        self.faults = FaultPlan(seed=seed)
        self.requests: list[RecordedRequest] = []
        self.routes: list[Route] = list(ROUTES)
        self.clock = clock
        self.stream = StreamSettings()
        self.precomputed_embeddings = False
        self.latency_includes_work = False
        """True: ``latency`` runs from the request's arrival, the emulator's own work included (an upstream that
        answers in exactly ``latency``, as the ingestion bench's bound assumes); False: it is added before the work."""
        self.storage_latency: float | None = None
        """Seconds for Object Storage requests (``/n/...``) instead of ``latency``; None: ``latency`` for them too."""
        from .objectstorage import install_objectstorage  # here, not at module level: it imports this module
        from .responses import install_responses
        from .vault import install_vault

        self.objectstorage = install_objectstorage(self)
        self.vault = install_vault(self, {})
        self.responses = install_responses(self)
        from .identity import install_identity

        self.policies = install_identity(self)

    # --- configuration -----------------------------------------------------------------------
    def now(self) -> float:
        return self.clock()

    def add_key(self, key_id: str, public_key: object) -> None:
        """Accept signatures by ``key_id`` (``tenancy/user/fp`` or ``ST$<token>``) made with this key."""
        self.keys.add(key_id, public_key)

    def add_dedicated_endpoint(self, endpoint_ocid: str, model_id: str) -> None:
        self.models.add_dedicated_endpoint(endpoint_ocid, model_id)

    def add_route(self, new_route: Route) -> None:
        """Serve another operation (checked before the built-in routes)."""
        self.routes.insert(0, new_route)

    # --- injection ---------------------------------------------------------------------------
    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        body: dict | None = None,
        path_contains: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (after signature checks)."""
        self.faults.inject(
            status, times=times, retry_after=retry_after, body=body, path_contains=path_contains, headers=headers
        )

    def inject_random(
        self,
        probabilities: Mapping[int, float],
        *,
        seed: int | None = None,
        retry_after: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Probability mode, e.g. ``{429: 0.2, 500: 0.05}``; seeded, so reproducible."""
        self.faults.inject_random(probabilities, seed=seed, retry_after=retry_after, path_contains=path_contains)

    @property
    def latency(self) -> float:
        """Seconds added before every service response starts."""
        return self.faults.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.faults.latency = max(0.0, float(seconds))

    def latency_of(self, path: str) -> float:
        """The latency for a request to ``path``: ``storage_latency`` for Object Storage when set."""
        if self.storage_latency is not None and path.startswith("/n/"):
            return self.storage_latency
        return self.latency

    @property
    def slow_body(self) -> float:
        """Seconds between sending the response headers and the body."""
        return self.faults.slow_body

    @slow_body.setter
    def slow_body(self, seconds: float) -> None:
        self.faults.slow_body = max(0.0, float(seconds))

    def configure_stream(
        self,
        *,
        delay: float | None = None,
        events_per_write: int | None = None,
        max_write_bytes: int | None | str = "keep",
        separator: str | None = None,
        pad: bool | None = None,
        cohere_done: bool | None = None,
        v2_restates_tool_calls: bool | None = None,
    ) -> None:
        """Pacing and framing of SSE answers (see :mod:`local.emulator.streaming`); None keeps a value."""
        self.stream.configure(
            delay=delay,
            events_per_write=events_per_write,
            max_write_bytes=max_write_bytes,
            separator=separator,
            pad=pad,
            cohere_done=cohere_done,
            v2_restates_tool_calls=v2_restates_tool_calls,
        )

    def break_streams(
        self, after: int, *, code: str | None = None, message: str | None = None, times: int = 1
    ) -> None:
        """The next ``times`` streams send ``after`` events, then ``{"code","message"}``, then end."""
        self.stream.break_streams(after, code=code, message=message, times=times)

    def reset(self) -> None:
        """Clear faults, latency, stream and embedding settings and recorded requests. Keys, models and endpoints
        stay."""
        self.faults.reset()
        self.stream.reset()
        self.precomputed_embeddings = False
        self.latency_includes_work = False
        self.storage_latency = None
        self.requests.clear()

    # --- request handling --------------------------------------------------------------------
    def _find(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        path_known = False
        for candidate in self.routes:
            params = candidate.match(path)
            if params is None:
                continue
            path_known = True
            if candidate.method == method:
                return candidate, params, True
        return None, {}, path_known

    def _verify(self, request: EmuRequest, sign_body: bool) -> Verification:
        if not self.verify_signatures:
            return Verification(True, "verification disabled")
        return verify_request(
            method=request.method,
            target=request.target,
            headers=request.headers,
            body=request.body,
            keys=self.keys,
            now=self.now(),
            require_body_headers=sign_body,
        )

    async def handle(self, request: EmuRequest) -> EmuResponse:
        """Run one request through the pipeline (see the module docstring)."""
        arrived = time.monotonic()
        if request.path.startswith(PREFIX + "/") or request.path == PREFIX:
            control = CONTROL_ROUTES.get((request.method, request.path))
            if control is None:
                return oci_error(404, "NotFound", f"no control endpoint {request.method} {request.path}")
            try:
                response = await control(self, request)
            except OciError as exc:
                response = exc.response()
            response.headers.setdefault("opc-request-id", request.request_id)
            return response

        found, params, path_known = self._find(request.method, request.path)
        request.params = params
        sent_headers = dict(request.headers)  # before request_id may add a generated one
        try:
            request.json = parse_json(request.body) if request.body else None
        except RequestInvalid:
            request.json = None
        verification = self._verify(request, found.sign_body if found else True)
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=sent_headers,
            body=request.body,
            json=request.json,
            verified=verification.ok,
            verify_reason=verification.reason,
            key_id=verification.key_id,
            route=found.name if found else None,
            timestamp=self.now(),
            request_id=request.request_id,
        )
        self.requests.append(record)
        headers = {"opc-request-id": request.request_id}

        def on_stream(sent: int, total: int) -> None:
            record.stream_sent, record.stream_total = sent, total

        request.on_stream = on_stream

        latency = self.latency_of(request.path)
        if latency > 0 and not self.latency_includes_work:
            await asyncio.sleep(latency)
        response = await self._respond(request, found, path_known, verification, record, headers)
        if latency > 0 and self.latency_includes_work:
            await asyncio.sleep(max(0.0, arrived + latency - time.monotonic()))
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        record.status = response.status
        return response

    async def _respond(
        self,
        request: EmuRequest,
        found: Route | None,
        path_known: bool,
        verification: Verification,
        record: RecordedRequest,
        headers: dict[str, str],
    ) -> EmuResponse:
        if not verification.ok:
            return oci_error(401, "NotAuthenticated", AUTH_FAILED_MESSAGE, headers)
        fault = self.faults.next_fault(request.path)
        if fault is not None:
            record.fault = fault.status
            return EmuResponse.json(fault.status, fault.response_body(), {**headers, **fault.response_headers()})
        if found is None:
            if path_known:
                message = f"{request.method} is not allowed on {request.path}."
                return oci_error(405, "MethodNotAllowed", message, headers)
            return oci_error(404, "NotAuthorizedOrNotFound", f"Unknown resource {request.path}.", headers)
        try:
            return await found.handler(self, request)
        except OciError as exc:
            return exc.response(headers)
        except Exception:  # an emulator bug: say so rather than hang the client
            traceback.print_exc(file=sys.stderr)
            return oci_error(500, "InternalServerError", "Emulator internal error.", headers)

    # --- ASGI ----------------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = await _read_request(scope, receive)
        response = await self.handle(request)
        await self._send(response, send)

    async def _send(self, response: EmuResponse, send: Callable) -> None:
        headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
        if response.stream is None:
            headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if self.slow_body > 0:
            await asyncio.sleep(self.slow_body)
        if response.stream is None:
            await send({"type": "http.response.body", "body": response.body, "more_body": False})
            return
        async for chunk in response.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _read_request(scope: dict[str, Any], receive: Callable) -> EmuRequest:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope["path"]
    return EmuRequest(
        method=scope["method"].upper(),
        path=path,
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=b"".join(chunks),
    )


# ------------------------------------------------------------------------------------------------
# Serving


@dataclass
class RunningEmulator:
    """A live emulator on loopback; stop it (or leave the ``with`` block) to free the port."""

    emulator: Emulator
    url: str
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> "RunningEmulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before starting uvicorn so the real port is known immediately (port 0 = any free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only then (else a 40 ms Nagle stall).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def make_server(emulator: Emulator, host: str) -> Any:
    import uvicorn  # imported lazily: only the runner needs it

    config = uvicorn.Config(
        emulator,
        host=host,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws="none",
        timeout_graceful_shutdown=1,
        server_header=False,
    )
    return uvicorn.Server(config)


def serve_in_thread(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
    """Serve ``emulator`` from a daemon thread with its own event loop; return once it accepts."""
    sock = bind_socket(host, port)
    server = make_server(emulator, host)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="oci-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("emulator failed to start")
        time.sleep(0.002)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    return RunningEmulator(emulator, f"http://{shown_host}:{bound_port}", server, thread)

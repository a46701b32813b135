"""Unsigned ``/_emulator/...`` endpoints, so a separate process can drive the emulator over HTTP.

Everything here mirrors a Python method on :class:`~local.emulator.server.Emulator`; the HTTP
form exists for tests that run the emulator as ``python -m local.emulator``. Bodies are JSON
with camelCase keys, like OCI's. Never exposed outside loopback in practice, but still never
echoes secrets: recorded Authorization headers come back redacted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .models import ModelSpec
from .validation import parse_json
from .wire import EmuRequest, EmuResponse, OciError

if TYPE_CHECKING:
    from .server import Emulator

PREFIX = "/_emulator"
ControlHandler = Callable[["Emulator", EmuRequest], Awaitable[EmuResponse]]


def _bad(message: str) -> OciError:
    return OciError(400, "400", message)


def _body(request: EmuRequest) -> dict[str, Any]:
    return parse_json(request.body) if request.body else {}


def _ok(payload: Any = None) -> EmuResponse:
    return EmuResponse.json(200, payload if payload is not None else {"ok": True})


async def health(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    return _ok({"ok": True, "verifySignatures": emu.verify_signatures})


async def list_requests(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    return _ok([recorded.to_json() for recorded in list(emu.requests)])


async def clear_requests(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    emu.requests.clear()
    return _ok()


async def get_faults(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    return _ok(emu.faults.to_json())


async def add_fault(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"status": 429, "times": 2, "retryAfter": "1", "body": {...}, "pathContains": "chat"}``."""
    body = _body(request)
    try:
        emu.inject(
            int(body["status"]),
            times=int(body.get("times", 1)),
            retry_after=None if body.get("retryAfter") is None else str(body["retryAfter"]),
            body=body.get("body"),
            path_contains=body.get("pathContains"),
            headers=body.get("headers"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"invalid fault: {exc}")
    return _ok(emu.faults.to_json())


async def clear_faults(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    emu.faults.clear_faults()
    return _ok()


async def random_faults(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"probabilities": {"429": 0.2, "500": 0.05}, "seed": 7, "retryAfter": "1"}``; ``{}`` turns it off."""
    body = _body(request)
    try:
        emu.inject_random(
            {int(k): float(v) for k, v in (body.get("probabilities") or {}).items()},
            seed=body.get("seed"),
            retry_after=None if body.get("retryAfter") is None else str(body["retryAfter"]),
            path_contains=body.get("pathContains"),
        )
    except (TypeError, ValueError) as exc:
        raise _bad(f"invalid probabilities: {exc}")
    return _ok(emu.faults.to_json())


async def set_latency(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"seconds": 0.2, "storageSeconds": 0.05, "slowBodySeconds": 1.0, "includesWork": true}``: any key may be
    omitted; ``storageSeconds`` null gives Object Storage ``seconds`` too."""
    body = _body(request)
    try:
        if "seconds" in body:
            emu.latency = float(body["seconds"])
        if "storageSeconds" in body:
            storage = body["storageSeconds"]
            emu.storage_latency = None if storage is None else max(0.0, float(storage))
        if "slowBodySeconds" in body:
            emu.slow_body = float(body["slowBodySeconds"])
    except (TypeError, ValueError) as exc:
        raise _bad(f"invalid latency: {exc}")
    if "includesWork" in body:
        if not isinstance(body["includesWork"], bool):
            raise _bad("invalid latency: includesWork must be true or false")
        emu.latency_includes_work = body["includesWork"]
    return get_latency_of(emu)


def get_latency_of(emu: "Emulator") -> EmuResponse:
    return _ok({"seconds": emu.latency, "storageSeconds": emu.storage_latency, "slowBodySeconds": emu.slow_body,
                "includesWork": emu.latency_includes_work})


async def get_latency(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    return get_latency_of(emu)


async def reset(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    emu.reset()
    return _ok()


async def add_key(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"keyId": "...", "publicKeyPem": "-----BEGIN PUBLIC KEY-----..."}``."""
    body = _body(request)
    try:
        emu.add_key(str(body["keyId"]), str(body["publicKeyPem"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"invalid key: {type(exc).__name__}")
    return _ok()


async def add_dedicated_endpoint(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"endpointId": "ocid1.generativeaiendpoint...", "modelId": "meta.llama-3.3-70b-instruct"}``."""
    body = _body(request)
    try:
        emu.add_dedicated_endpoint(str(body["endpointId"]), str(body["modelId"]))
    except KeyError as exc:
        raise _bad(f"invalid endpoint: {exc}")
    return _ok()


async def list_models(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    models = [
        {"modelId": m.model_id, "kind": m.kind, "apiFormats": list(m.api_formats), "dimensions": m.dimensions}
        for m in emu.models.models.values()
    ]
    return _ok({"models": models, "dedicatedEndpoints": dict(emu.models.endpoints)})


async def add_model(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"modelId", "kind": "chat"|"embed", "apiFormats": [...], "version", "dimensions", "outputDimensions",
    "multimodal": bool, "reasoning": bool}``."""
    body = _body(request)
    kind = str(body.get("kind", "chat"))
    try:
        emu.models.add(
            ModelSpec(
                model_id=str(body["modelId"]),
                kind=kind,
                version=str(body.get("version", "1.0.0")),
                api_formats=tuple(body.get("apiFormats") or (("GENERIC",) if kind == "chat" else ())),
                dimensions=int(body.get("dimensions", 0)),
                output_dimensions=tuple(int(d) for d in body.get("outputDimensions") or ()),
                multimodal=bool(body.get("multimodal", False)),
                reasoning=bool(body.get("reasoning", False)),
            )
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"invalid model: {exc}")
    return _ok()


async def set_verification(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"enabled": false}`` switches signature checking off (it is on by default)."""
    emu.verify_signatures = bool(_body(request).get("enabled", True))
    return _ok({"verifySignatures": emu.verify_signatures})


async def get_stream(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    return _ok(emu.stream.to_json())


async def set_stream(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"delaySeconds": 0.2, "eventsPerWrite": 3, "maxWriteBytes": 7, "separator": "\\n", "pad": true,
    "cohereDone": false, "v2RestatesToolCalls": false}``: omitted keys keep their value; ``"maxWriteBytes": null``
    clears it."""
    body = _body(request)
    try:
        emu.configure_stream(
            delay=None if body.get("delaySeconds") is None else float(body["delaySeconds"]),
            events_per_write=None if body.get("eventsPerWrite") is None else int(body["eventsPerWrite"]),
            max_write_bytes=body["maxWriteBytes"] if "maxWriteBytes" in body else "keep",
            separator=body.get("separator"),
            pad=body.get("pad"),
            cohere_done=body.get("cohereDone"),
            v2_restates_tool_calls=body.get("v2RestatesToolCalls"),
        )
    except (TypeError, ValueError) as exc:
        raise _bad(f"invalid stream settings: {exc}")
    return _ok(emu.stream.to_json())


async def set_stream_error(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"afterEvents": 3, "code": "InternalServerError", "message": "...", "times": 1}``."""
    body = _body(request)
    try:
        emu.break_streams(
            int(body["afterEvents"]),
            code=None if body.get("code") is None else str(body["code"]),
            message=None if body.get("message") is None else str(body["message"]),
            times=int(body.get("times", 1)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(f"invalid stream error: {exc}")
    return _ok(emu.stream.to_json())


async def clear_stream_error(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    emu.stream.clear_error()
    return _ok(emu.stream.to_json())


# (method, path) -> handler. Exact paths: the control surface is small and flat.
async def set_embeddings(emu: "Emulator", request: EmuRequest) -> EmuResponse:
    """``{"precomputed": true}``: answer every text from a fixed pool of vectors (benchmarks); false: each
    text's own vector (the default)."""
    emu.precomputed_embeddings = bool(_body(request).get("precomputed", False))
    return _ok({"precomputed": emu.precomputed_embeddings})


CONTROL_ROUTES: dict[tuple[str, str], ControlHandler] = {
    ("GET", f"{PREFIX}/health"): health,
    ("GET", f"{PREFIX}/requests"): list_requests,
    ("DELETE", f"{PREFIX}/requests"): clear_requests,
    ("GET", f"{PREFIX}/faults"): get_faults,
    ("POST", f"{PREFIX}/faults"): add_fault,
    ("DELETE", f"{PREFIX}/faults"): clear_faults,
    ("POST", f"{PREFIX}/faults/random"): random_faults,
    ("GET", f"{PREFIX}/latency"): get_latency,
    ("POST", f"{PREFIX}/latency"): set_latency,
    ("POST", f"{PREFIX}/reset"): reset,
    ("POST", f"{PREFIX}/keys"): add_key,
    ("POST", f"{PREFIX}/dedicated-endpoints"): add_dedicated_endpoint,
    ("GET", f"{PREFIX}/models"): list_models,
    ("POST", f"{PREFIX}/models"): add_model,
    ("POST", f"{PREFIX}/verification"): set_verification,
    ("GET", f"{PREFIX}/stream"): get_stream,
    ("POST", f"{PREFIX}/stream"): set_stream,
    ("POST", f"{PREFIX}/stream/error"): set_stream_error,
    ("DELETE", f"{PREFIX}/stream/error"): clear_stream_error,
    ("POST", f"{PREFIX}/embeddings"): set_embeddings,
}

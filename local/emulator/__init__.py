"""A loopback emulator of OCI Generative AI inference, for tests, ``make serve`` and bench.

Not a mock: a real HTTP server (ASGI under uvicorn) that verifies OCI request signatures,
rejects bodies OCI would reject, answers deterministically in OCI's wire format, and can inject
faults and latency. Chat answers can call tools (scripted with ``call:<name>`` in the user text,
see :mod:`local.emulator.tools`) and stream as OCI's SSE events (:mod:`local.emulator.streaming`).
Start one with :func:`serve_in_thread` or ``python -m local.emulator``.
"""

from .faults import FaultPlan
from .models import ModelSpec, ModelTable
from .server import Emulator, RecordedRequest, Route, RunningEmulator, route, serve_in_thread
from .signature import KeyStore, Verification, verify_request
from .streaming import MidStreamError, StreamSettings

__all__ = [
    "Emulator",
    "FaultPlan",
    "KeyStore",
    "MidStreamError",
    "ModelSpec",
    "ModelTable",
    "RecordedRequest",
    "Route",
    "RunningEmulator",
    "StreamSettings",
    "Verification",
    "route",
    "serve_in_thread",
    "verify_request",
]

"""The gateway in this process, talking HTTP to an OCI emulator on loopback.

The router, the services and the real pooled client run here; the emulator (signatures checked,
OCI's refusals applied) runs in a thread. Fast enough for a test per fact, honest enough that a
body OCI would refuse fails. Import the fixtures (``served``, ``env``, ``emu``) into a test module.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from core import runtime
from core.exchange import HTTP, Headers, Request, Response
from handlers.router import dispatch
from local.emulator import Emulator, serve_in_thread
from tests.support.runtime import reset_settings


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Emulator, str]]:
    emulator = Emulator()
    running = serve_in_thread(emulator)
    yield emulator, running.url
    running.stop()


@pytest.fixture
def env(clean_config):
    """The gateway's environment (a monkeypatch): region, compartment, no retries on 5xx, and OCI's model list
    not read (a test about it sets ``MODEL_LIST_TTL_SECONDS``)."""
    clean_config.setenv("OCI_REGION", "us-chicago-1")
    clean_config.setenv("OCI_COMPARTMENT_ID", "ocid1.compartment.oc1..aaaaaaaalive")
    clean_config.setenv("OCI_MAX_RETRIES", "0")
    clean_config.setenv("MODEL_LIST_TTL_SECONDS", "0")
    return clean_config


@pytest.fixture
def emu(env, api_key_credentials, served) -> Emulator:
    """The emulator, clean, with the gateway pointed at it (fresh process state for each test)."""
    emulator, url = served
    emulator.reset()
    emulator.add_key(api_key_credentials.key.key_id, api_key_credentials.key.private_key)
    env.setenv("OCI_GENAI_ENDPOINT", url)
    env.setenv("OCI_GENAI_MANAGEMENT_ENDPOINT", url)
    reset_settings()
    runtime.reset()
    runtime.set_credentials(api_key_credentials)
    return emulator


def configure(env, **values: Any) -> None:
    for key, value in values.items():
        env.setenv(key, value if isinstance(value, str) else json.dumps(value))
    reset_settings()


async def post(path: str, body: dict[str, Any]) -> tuple[Response, dict[str, Any]]:
    return await call("POST", path, body)


async def get(path: str, query: str = "", **headers: str) -> tuple[Response, dict[str, Any]]:
    return await call("GET", path, None, query, headers)


async def call(method: str, path: str, body: dict[str, Any] | None, query: str = "",
               headers: dict[str, str] | None = None) -> tuple[Response, dict[str, Any]]:
    sent = Headers({"content-type": "application/json", **(headers or {})})
    request = Request(method=method, path=path, query=query, headers=sent,
                      body=json.dumps(body).encode() if body is not None else b"", kind=HTTP, request_id="")
    response = await dispatch(request)
    raw = await response.read()
    return response, (json.loads(raw) if not response.is_streaming else {"events": sse(raw)})


def sse(raw: bytes) -> list[Any]:
    lines = [line[len(b"data: "):] for line in raw.split(b"\n") if line.startswith(b"data: ")]
    return [json.loads(line) for line in lines if line != b"[DONE]"]

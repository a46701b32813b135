"""Fixtures for the contract suite: the real clients against the local gateway.

The gateway runs exactly as in the integration tests (``func.py`` under the real fdk, behind
the API-Gateway-like front, calling the OCI emulator), so the integration fixtures are
reused as they are. Added here:

* ``direct_gateway``: the same handlers served by uvicorn (``adapters.asgi``) in a
  subprocess with the gateway's environment, for real incremental streaming; a subprocess
  because settings and credentials are process-global;
* ``offline_tiktoken``: tiktoken's cl100k_base file seeded from the copy the gateway ships
  (``core/embeddings`` data), so LangChain's token counting never downloads;
* ``alias_front``: a front whose deployment declares OpenAI-named aliases, for clients that
  only accept OpenAI model names.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.integration.conftest import *  # noqa: F401,F403 - the emulator, fdk and front fixtures
from tests.integration.conftest import REPO_ROOT

CHAT_MODEL = "meta.llama-3.3-70b-instruct"
EMBED_MODEL = "cohere.embed-v4.0"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
ALIASES = {
    "text-embedding-3-small": {"model": EMBED_MODEL, "params": {"dimensions": 1536}},
    "gpt-4o-mini": CHAT_MODEL,
}
WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def chat_calls(emulator) -> list:
    """The emulator's recorded chat calls (every one must carry a valid signature)."""
    calls = [r for r in emulator.requests if r.path.endswith("/actions/chat")]
    assert all(c.verified for c in calls), [c.verify_reason for c in calls]
    return calls


def embed_calls(emulator) -> list:
    calls = [r for r in emulator.requests if r.path.endswith("/actions/embedText")]
    assert all(c.verified for c in calls), [c.verify_reason for c in calls]
    return calls


@pytest.fixture(scope="session")
def tiktoken_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiktoken cache directory holding cl100k_base (tiktoken names the file by the sha1 of its URL)."""
    from core.token_ranks import rank_file

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    blob = gzip.decompress(rank_file("cl100k_base").read_bytes())
    (cache / hashlib.sha1(CL100K_URL.encode()).hexdigest()).write_bytes(blob)
    return cache


@pytest.fixture
def offline_tiktoken(tiktoken_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tiktoken reads the seeded cache and fails the test if it ever tries the network."""
    import tiktoken.load

    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache))

    def no_network(url: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {url}")

    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    return tiktoken_cache


@pytest.fixture
def alias_front(gateway_front_factory):
    return gateway_front_factory({"MODEL_ALIASES": json.dumps(ALIASES)})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def direct_gateway(gateway_env: dict[str, str]) -> Iterator[str]:
    """``python -m uvicorn adapters.asgi:app`` with the gateway's environment; yields its base URL."""
    port = _free_port()
    env = {**os.environ, **gateway_env, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "adapters.asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError("uvicorn exited: " + error[-2000:]) from None
                if time.time() > deadline:
                    raise RuntimeError("uvicorn did not start listening") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

"""The smoke test through a local deployment: Functions behind the front (buffered) and the ASGI server (streamed).

The emulator paces its stream, so a first byte well before the end means the events arrived as generated; the
two deployments must be told apart the way the smoke test reports it on a real one.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import Any

import pytest

from deploy import smoke
from tests.contract.conftest import direct_gateway  # noqa: F401 - the ASGI server against the emulator
from tests.deploy.conftest import REPO

pytestmark = pytest.mark.integration

EMBEDDING_MODEL = "cohere.embed-v4.0"


@pytest.fixture
def paced(emulator: Any) -> Any:
    emulator.configure_stream(delay=0.12)
    return emulator


def _steps(base_url: str) -> dict[str, smoke.Step]:
    steps = smoke.run(base_url, "sk-local", "meta.llama-3.3-70b-instruct", EMBEDDING_MODEL)
    return {step.name: step for step in steps}


def test_through_functions_every_step_passes_and_the_stream_is_buffered(front: Any, paced: Any) -> None:
    steps = _steps(f"{front.url}/v1")
    assert all(step.ok for step in steps.values()), steps
    assert "arrived at once (buffered)" in steps["streaming chat"].detail


def test_through_the_asgi_server_the_stream_arrives_as_generated(direct_gateway: str, paced: Any) -> None:  # noqa: F811
    steps = _steps(f"{direct_gateway}/v1")
    assert all(step.ok for step in steps.values()), steps
    assert "streamed as generated" in steps["streaming chat"].detail


def test_a_failed_step_fails_the_run(front: Any, emulator: Any) -> None:
    emulator.inject(404, path_contains="/actions/embedText")
    out = io.StringIO()
    ok = smoke.report(smoke.run(f"{front.url}/v1", "sk-local", "meta.llama-3.3-70b-instruct", EMBEDDING_MODEL), out)
    assert ok is False
    assert "FAIL  embeddings" in out.getvalue() and "Some steps failed." in out.getvalue()


def test_the_command_needs_a_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    result = subprocess.run([sys.executable, "-m", "deploy.smoke", "--base-url", "http://127.0.0.1:9/v1"],
                            cwd=REPO, env=env, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "set OPENAI_API_KEY" in result.stderr

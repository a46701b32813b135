"""The ASGI app with a bad setting: it starts, logs the problem at error level, and answers each request with an
OpenAI-shaped 500 naming the setting (before: the lifespan failed and each request raised)."""

from __future__ import annotations

import json

import pytest

from adapters.asgi import app
from tests.support.runtime import reset_settings


@pytest.fixture
def bad_setting(monkeypatch):
    monkeypatch.setenv("MAX_BODY_BYTES", "lots")
    reset_settings()
    yield
    monkeypatch.delenv("MAX_BODY_BYTES")
    reset_settings()


async def run(scope: dict, incoming: list[dict]) -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_bad_setting_is_logged_at_startup_and_answered_as_a_500_naming_it(bad_setting, capsys):
    started = await run({"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert [m["type"] for m in started] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    problems = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "configuration_problem" in line]
    assert problems and problems[0]["level"] == "error" and "MAX_BODY_BYTES" in problems[0]["message"]

    sent = await run({"type": "http", "method": "GET", "path": "/v1/models", "headers": []},
                     [{"type": "http.request", "body": b"", "more_body": False}])

    assert sent[0]["status"] == 500
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == "gateway_misconfigured" and "MAX_BODY_BYTES" in error["message"]

"""Structured logs: one JSON object per line, nothing secret, no library noise.

Function logs are read by operators and shipped to OCI Logging, so every line the
gateway writes is a JSON object an operator can filter and sum (request id,
route, model, status, latency, token counts). Prompts, completions, keys, tokens,
signatures and Authorization headers are never logged: :func:`log_event` only
accepts scalar fields and drops any field whose name suggests a secret.

``import fdk`` sets the root logger to DEBUG, which would put every httpx/httpcore
debug line into the function log; :func:`configure` quiets those libraries.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LOGGER_NAME = "gateway"
_NOISY_LIBRARIES = ("httpx", "httpcore", "hpack", "asyncio", "urllib3", "charset_normalizer", "h11", "uvicorn.access")
_SECRET_WORDS = ("authorization", "secret", "password", "passphrase", "token", "private", "signature", "api_key",
                 "apikey", "key_content", "pem", "cookie")

_logger = logging.getLogger(LOGGER_NAME)
_configured = False


class _JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = getattr(record, "fields", None)
        if payload is None:
            payload = {"event": "log", "message": record.getMessage()}
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(), **payload}
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (test runners and the fdk may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001
        pass


def configure(level: str = "INFO") -> None:
    """Install the JSON line handler on the gateway logger and silence noisy libraries (idempotent)."""
    global _configured
    for name in _NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    _logger.setLevel(getattr(logging, level.upper(), logging.INFO))
    if _configured:
        return
    handler = _StderrHandler()
    handler.setFormatter(_JsonLineFormatter())
    _logger.addHandler(handler)
    _logger.propagate = False  # the fdk's root handler would prefix and duplicate the line
    _configured = True


def _is_secret_name(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith("_tokens") or lowered in ("tokens_in", "tokens_out"):
        return False  # token *counts* are fine
    return any(word in lowered for word in _SECRET_WORDS)


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Keep scalar, non-secret fields only."""
    kept: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None or _is_secret_name(key):
            continue
        if isinstance(value, (str, int, float, bool)):
            kept[key] = value[:300] if isinstance(value, str) else value
    return kept


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Write one structured line, e.g. ``log_event("request", route="chat", status=200, latency_ms=12)``."""
    if not _logger.isEnabledFor(level):
        return
    _logger.log(level, event, extra={"fields": {"event": event, **clean_fields(fields)}})


class Stopwatch:
    """Milliseconds since creation, for latency fields."""

    __slots__ = ("_start",)

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self._start) * 1000, 2)

"""API-key authorization for OCI API Gateway's authorizer function (multi-argument contract).

API Gateway invokes it with ``{"type": "USER_DEFINED", "data": {"<argument>": <value>}}``
(the deployment maps e.g. ``authorization: request.headers[Authorization]`` and
``api-key: request.headers[api-key]``; multi-valued sources arrive as arrays, missing ones are
left out) or, in the older single-argument form, ``{"type": "TOKEN", "token": "<value>"}``.

It always answers HTTP 200 with JSON, because API Gateway turns an authorizer 5xx into a 502
for the client:

* ``{"active": true, "principal": <key id>, "scope": ["gateway"], "expiresAt": <ISO-8601>,
  "context": {"key_id", "owner", "allowed_models", "admin", "guardrails"}}``; the deployment copies the
  context into the ``X-Gateway-Key-Id`` / ``X-Gateway-Allowed-Models`` / ``X-Gateway-Admin`` /
  ``X-Gateway-Guardrails`` headers of the call to the gateway;
* ``{"active": false, "wwwAuthenticate": "Bearer ..."}`` (the client gets a 401) for a
  missing, malformed, unknown, disabled or expired key, or when the key table cannot be
  loaded. Why is logged (with the key id, never the key), not told to the client.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from core import logs, runtime
from core.apikeys import KeyRecord, format_time, parse_key, verify
from core.errors import APIError, ConfigError
from core.keystore import get_store
from core.settings import Settings

REALM = "oci-genai-gateway"
SCOPE = ("gateway",)
MAX_ARGUMENT_CHARS = 4096
_KEY_ARGUMENTS = frozenset({"api-key", "x-api-key", "apikey", "key", "token"})
"""Argument names (case-insensitive, ``_`` same as ``-``) holding a bare key; ``authorization`` holds a Bearer."""


def _bearer(value: str) -> str:
    """The credential of an Authorization value: ``Bearer <key>`` (any case) or a bare key."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() == "bearer":
        return rest.strip()
    return value


def _values(raw: Any) -> list[str] | None:
    """An argument's values (a string or an array of strings); None if it is anything else."""
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(item, str) for item in items):
        return None
    return [item for item in items if item.strip()]


def presented_key(body: Any) -> tuple[str | None, str]:
    """(key, "ok") or (None, why not) from an authorizer input document. Pure; never raises."""
    arguments = _arguments(body)
    if arguments is None:
        return None, "bad_input"
    candidates, reason = _candidates(arguments)
    if candidates is None:
        return None, reason
    distinct = list(dict.fromkeys(c for c in candidates if c))
    if not distinct:
        return None, "missing"
    if len(distinct) > 1:
        return None, "ambiguous"
    return distinct[0], "ok"


def _arguments(body: Any) -> list[tuple[Any, Any]] | None:
    """The (name, value) arguments of a TOKEN or USER_DEFINED input; None if the document is neither."""
    if not isinstance(body, dict):
        return None
    kind = body.get("type")
    if kind == "TOKEN":
        token = body.get("token")
        return [("authorization", token)] if token is not None else []
    if kind == "USER_DEFINED":
        data = body.get("data")
        if data is None:
            return []
        return list(data.items()) if isinstance(data, dict) else None
    return None


def _key_argument(name: Any) -> str | None:
    """The normalised name of an argument that may carry a key ("authorization" or a bare-key name), else None."""
    label = str(name).strip().lower().replace("_", "-")
    return label if label == "authorization" or label in _KEY_ARGUMENTS else None


def _candidates(arguments: list[tuple[Any, Any]]) -> tuple[list[str] | None, str]:
    """(every credential the key arguments carry, "ok") or (None, "bad_input" / "malformed")."""
    candidates: list[str] = []
    for name, raw in arguments:
        label = _key_argument(name)
        if label is None:
            continue
        values = _values(raw)
        if values is None:
            return None, "bad_input"
        if any(len(value) > MAX_ARGUMENT_CHARS for value in values):
            return None, "malformed"
        candidates.extend(_bearer(value) if label == "authorization" else value.strip() for value in values)
    return candidates, "ok"


def active(record: KeyRecord, settings: Settings, now: datetime) -> dict[str, Any]:
    expires = now + timedelta(seconds=max(1, settings.api_keys_auth_ttl_seconds))
    if record.expires is not None:
        expires = min(expires, record.expires)
    return {
        "active": True,
        "principal": record.key_id,
        "scope": list(SCOPE),
        "expiresAt": format_time(expires),
        "context": {"key_id": record.key_id, "owner": record.owner, "allowed_models": record.allowed_models(),
                    "admin": "true" if record.admin else "false", "guardrails": record.guardrails.text()},
    }


def inactive(reason: str) -> dict[str, Any]:
    challenge = f'Bearer realm="{REALM}"'
    if reason != "missing":
        challenge += ', error="invalid_token"'
    return {"active": False, "wwwAuthenticate": challenge}


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


async def authorize(body: bytes, *, deadline: float | None = None,
                    request_id: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """One authorization decision and facts for the log line; never raises."""
    watch = logs.Stopwatch()
    key_id: str | None = None
    try:
        key, reason = presented_key(_parse(body))
        if key is not None:
            key_id = parse_key(key)
            settings = runtime.settings()
            try:
                material = await get_store().get(settings, deadline=deadline, request_id=request_id or None)
            except (ConfigError, APIError) as exc:
                logs.log_event("apikeys_unavailable", logging.ERROR, request_id=request_id,
                               error=type(exc).__name__, detail=_safe_detail(exc))
                reason = "table_unavailable"
            else:
                now = datetime.now(timezone.utc)
                verdict = verify(key, material.table, material.pepper, now)
                reason = verdict.reason
                if verdict.record is not None:
                    logs.log_event("auth", outcome="ok", key_id=verdict.record.key_id, owner=verdict.record.owner,
                                   latency_ms=watch.ms(), request_id=request_id)
                    return active(verdict.record, settings, now), _meta(key_id=key_id, auth_outcome="ok")
    except Exception as exc:  # noqa: BLE001 - an authorizer 5xx becomes a client 502: answer inactive instead
        logs.log_event("auth_failed_unexpectedly", logging.ERROR, request_id=request_id, error=type(exc).__name__)
        reason = "internal_error"
    logs.log_event("auth", outcome=reason, key_id=key_id, latency_ms=watch.ms(), request_id=request_id)
    return inactive(reason), _meta(key_id=key_id, auth_outcome=reason)


def _meta(**facts: Any) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if v is not None}


def _safe_detail(exc: Exception) -> str:
    """What an operator needs: a ConfigError's message (never holds a secret) or an upstream error code."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, APIError):
        return f"{exc.status} {exc.code}: {exc.message}"
    return type(exc).__name__

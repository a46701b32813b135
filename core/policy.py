"""Per-key policy in the gateway: the model allow-list API Gateway's authorizer passes along.

The authorizer (``core/authorizer.py``) answers with a context; the API Gateway deployment
copies it into request headers of every call to the gateway function, *overwriting* whatever
the client sent under those names:

* ``X-Gateway-Key-Id``: the key id (logged on every request line, for per-key usage);
* ``X-Gateway-Allowed-Models``: comma-separated model names, aliases or globs;
* ``X-Gateway-Admin``: ``true`` for a key allowed to run ``GET /health?deep=1``;
* ``X-Gateway-Guardrails``: the key's guardrail modes (``pii=mask,prompt_injection=block``), which can
  only make the deployment's and the alias's stricter.

When either header is present an allow-list applies: the model name the caller used must match one
pattern, else 403 ``model_not_allowed``. Only that name is judged, never what it resolves to: an
alias may point at a dedicated endpoint billed to another compartment, so a key allowed
``meta.llama-3.3-70b-instruct`` may not call an alias of it unless the alias's name is listed too.
An empty or missing list then allows nothing (fail closed). When neither header is present
(local runs, ``fn invoke``, which OCI authenticates with IAM) there is no allow-list.

Pure and cheap to import: the gateway's cold start pays for nothing but ``fnmatch``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Iterable

from core.errors import PERMISSION, APIError
from core.exchange import Request
from core.guardrails.policy import HEADER as GUARDRAILS_HEADER
from core.guardrails.policy import NO_GUARDRAILS, GuardrailPolicy, parse_policy

KEY_ID_HEADER = "x-gateway-key-id"
ALLOWED_MODELS_HEADER = "x-gateway-allowed-models"
ADMIN_HEADER = "x-gateway-admin"
IDENTITY_HEADERS = (KEY_ID_HEADER, ALLOWED_MODELS_HEADER, ADMIN_HEADER, GUARDRAILS_HEADER)
"""Every identity header the gateway trusts; terraform/locals.tf sets or blocks each (a test compares them)."""


@dataclass(frozen=True)
class KeyPolicy:
    """What the authorizer granted this call. ``patterns`` is None when no allow-list applies."""

    key_id: str | None
    patterns: tuple[str, ...] | None
    guardrails: GuardrailPolicy = NO_GUARDRAILS
    """The key's guardrail modes (``X-Gateway-Guardrails``), combined with the deployment's and the alias's."""

    def allows(self, name: str | None) -> bool:
        """True when there is no allow-list, or ``name`` (as the caller wrote it) matches a pattern (case-sensitive
        globs)."""
        if self.patterns is None:
            return True
        return model_allowed(self.patterns, name)


def split_models(value: str) -> tuple[str, ...]:
    """A comma list (the ``X-Gateway-Allowed-Models`` header) as patterns."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def model_allowed(patterns: Iterable[str], *names: str | None) -> bool:
    """True when any of ``names`` matches any glob pattern."""
    candidates = [name for name in names if name]
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in candidates)


def key_id_of(request: Request) -> str | None:
    """The key id in ``X-Gateway-Key-Id`` (None for IAM-authenticated calls), trimmed for log lines."""
    value = request.headers.get(KEY_ID_HEADER)
    if not isinstance(value, str):
        return None
    return value.strip()[:64] or None


def owner_of(request: Request) -> str | None:
    """Who owns what this call stores: the whole ``X-Gateway-Key-Id`` (a key id, or a token's subject), never cut."""
    value = request.headers.get(KEY_ID_HEADER)
    return (value.strip() or None) if isinstance(value, str) else None


def policy_of(request: Request) -> KeyPolicy:
    """The call's policy, read from the headers the API Gateway deployment sets."""
    key_id = key_id_of(request)
    raw = request.headers.get(ALLOWED_MODELS_HEADER)
    guardrails = parse_policy(request.headers.get(GUARDRAILS_HEADER) or None, f"header {GUARDRAILS_HEADER}")
    if raw is None and key_id is None:
        return KeyPolicy(None, None, guardrails)
    return KeyPolicy(key_id, split_models(raw or ""), guardrails)


def is_admin(request: Request) -> bool:
    """The key is marked admin (``X-Gateway-Admin: true``); never true without API Gateway's header."""
    return str(request.headers.get(ADMIN_HEADER) or "").strip().lower() == "true"


def model_not_allowed(name: str, policy: KeyPolicy) -> APIError:
    allowed = ", ".join(policy.patterns or ()) or "none"
    if len(allowed) > 200:
        allowed = allowed[:197] + "..."
    return APIError(403, f"This API key may not use the model '{name}' (allowed: {allowed}).",
                    type=PERMISSION, param="model", code="model_not_allowed")


def check_model_allowed(request: Request, name: str) -> None:
    """Raise 403 ``model_not_allowed`` unless the call's allow-list covers ``name``, the model the caller named.

    Call it before any upstream call.
    """
    policy = policy_of(request)
    if not policy.allows(name):
        raise model_not_allowed(name, policy)

"""Guardrail policies: for each check, what the gateway does when OCI flags a text (pure).

Three checks (content moderation, prompt injection, PII), each ``off``, ``inform`` (report only),
``block`` (refuse) or, for PII only, ``mask`` (replace each detected span with ``[LABEL]``).
A policy comes from three places and the strictest mode per check wins
(``off < inform < mask < block``): the deployment (``GUARDRAILS``), the model's alias
(``"guardrails"`` in its entry) and the caller's API key (the ``X-Gateway-Guardrails`` header the
API Gateway deployment sets from the authorizer's context or a JWT claim). Because a source can
only make checks stricter, a header a client forged could never loosen the operator's policy.

Written as ``content_moderation=block,pii=mask`` (short names ``cm``, ``pi`` accepted) or as a
JSON object ``{"content_moderation": "block", "pii": "mask"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError

CONTENT_MODERATION = "content_moderation"
PROMPT_INJECTION = "prompt_injection"
PII = "pii"
CHECKS = (CONTENT_MODERATION, PROMPT_INJECTION, PII)
SHORT_NAMES = {"cm": CONTENT_MODERATION, "pi": PROMPT_INJECTION}

OFF, INFORM, MASK, BLOCK = "off", "inform", "mask", "block"
STRICTNESS = {OFF: 0, INFORM: 1, MASK: 2, BLOCK: 3}
HEADER = "x-gateway-guardrails"
"""Request header carrying the API key's policy (set by API Gateway with OVERWRITE, never by a client)."""


@dataclass(frozen=True)
class GuardrailPolicy:
    """The mode of each check."""

    content_moderation: str = OFF
    prompt_injection: str = OFF
    pii: str = OFF

    def mode(self, check: str) -> str:
        return str(getattr(self, check))

    @property
    def active(self) -> bool:
        return any(self.mode(check) != OFF for check in CHECKS)

    def checks(self, *, output: bool = False) -> tuple[str, ...]:
        """The checks to run; prompt injection is an input check only."""
        return tuple(c for c in CHECKS if self.mode(c) != OFF and not (output and c == PROMPT_INJECTION))

    def must_wait(self, *, output: bool = False) -> bool:
        """True when a result can change the text or stop the call (``block`` or ``mask``), not only report."""
        return any(self.mode(c) in (MASK, BLOCK) for c in self.checks(output=output))

    def stricter(self, other: "GuardrailPolicy | None") -> "GuardrailPolicy":
        """Per check, the stricter of the two modes."""
        if other is None:
            return self
        return GuardrailPolicy(**{c: max(self.mode(c), other.mode(c), key=STRICTNESS.__getitem__) for c in CHECKS})

    def text(self) -> str:
        """The compact form (``content_moderation=block,pii=mask``); empty when every check is off."""
        return ",".join(f"{c}={self.mode(c)}" for c in CHECKS if self.mode(c) != OFF)


NO_GUARDRAILS = GuardrailPolicy()


def parse_policy(value: Any, where: str) -> GuardrailPolicy:
    """A policy from its compact string or JSON object form; a ConfigError names ``where`` and the problem."""
    if value is None:
        return NO_GUARDRAILS
    if isinstance(value, str):
        pairs = [part.partition("=") for part in value.split(",") if part.strip()]
        if any(not sep for _, sep, _ in pairs):
            raise ConfigError(f"{where}: guardrails must look like 'content_moderation=block,pii=mask'")
        items = [(name, mode) for name, _, mode in pairs]
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        raise ConfigError(f"{where}: guardrails must be a string like 'pii=mask' or an object")
    modes: dict[str, str] = {}
    for raw_name, raw_mode in items:
        name = str(raw_name).strip().lower()
        name = SHORT_NAMES.get(name, name)
        mode = raw_mode.strip().lower() if isinstance(raw_mode, str) else raw_mode
        if name not in CHECKS:
            raise ConfigError(f"{where}: unknown guardrail {raw_name!r}; use {', '.join(CHECKS)}")
        allowed = (OFF, INFORM, MASK, BLOCK) if name == PII else (OFF, INFORM, BLOCK)
        if mode not in allowed:
            raise ConfigError(f"{where}: guardrail {name} must be one of {', '.join(allowed)}, not {raw_mode!r}")
        modes[name] = mode
    return GuardrailPolicy(**modes)

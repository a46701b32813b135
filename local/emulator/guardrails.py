"""OCI Generative AI ``/actions/applyGuardrails``, with deterministic detections.

Only the checks a request configures are answered, each as OCI does (binary scores):

* content moderation: ``OVERALL`` is 1.0 when the text contains the marker word :data:`HARMFUL_MARKER`;
  ``BLOCKLIST`` is always 0.0 (OCI documents that blocklist matching is not supported);
* prompt injection: 1.0 when the text says "ignore (all) previous instructions";
* PII: every e-mail address is ``EMAIL`` and every phone-like number ``TELEPHONE_NUMBER``, when those
  types are asked for. Offsets and lengths count UTF-16 code units (:data:`OFFSETS_IN`), as a Java
  service's string indices do; OCI does not document which unit it uses.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .validation import RequestInvalid, parse_json, validate
from .wire import EmuRequest, EmuResponse

HARMFUL_MARKER = "zorblax"
OFFSETS_IN = "utf16"
VERSIONS = ("1.0.0", "1.0.1", "1.1.0")
_INJECTION = re.compile(r"ignore (all )?(the )?previous instructions", re.IGNORECASE)
_PATTERNS = {
    "EMAIL": re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"),
    "TELEPHONE_NUMBER": re.compile(r"\+?\d[\d ()-]{7,}\d"),
}


def utf16_length(text: str) -> int:
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text)


def pii_spans(text: str, types: list[str]) -> list[dict[str, Any]]:
    """Detected spans, in text order, with UTF-16 offsets and lengths."""
    found = []
    for label in types:
        pattern = _PATTERNS.get(label)
        for match in pattern.finditer(text) if pattern else ():
            found.append({"length": utf16_length(match.group()), "offset": utf16_length(text[:match.start()]),
                          "text": match.group(), "label": label, "score": 0.99})
    return sorted(found, key=lambda span: span["offset"])


def _version(body: Mapping[str, Any]) -> str:
    wanted = (body.get("guardrailVersionConfig") or {}).get("guardrailVersion")
    if wanted is None:
        return VERSIONS[-1]
    matching = [v for v in VERSIONS if v == wanted or v.startswith(wanted + ".")]
    if not matching:
        raise RequestInvalid(f"Invalid parameter: guardrail version '{wanted}' is not available.")
    return matching[-1]


def _text(body: Mapping[str, Any]) -> str:
    if body.get("input") is not None:
        item = body["input"]
        return item.get("content") or "" if item["type"] == "TEXT" else ""
    return "\n".join(item.get("content") or "" for item in body["multimodalInput"] if item["type"] == "TEXT")


def results(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``results`` object for a validated ``ApplyGuardrailsDetails``."""
    text = _text(body)
    configs = body["guardrailConfigs"]
    out: dict[str, Any] = {}
    if "contentModerationConfig" in configs:
        flagged = 1.0 if re.search(rf"\b{HARMFUL_MARKER}\b", text, re.IGNORECASE) else 0.0
        scores = {"OVERALL": flagged, "BLOCKLIST": 0.0}
        out["contentModeration"] = {"categories": [{"name": name, "score": scores[name]}
                                                   for name in configs["contentModerationConfig"]["categories"]]}
    if "personallyIdentifiableInformationConfig" in configs:
        out["personallyIdentifiableInformation"] = pii_spans(
            text, configs["personallyIdentifiableInformationConfig"]["types"])
    if "promptInjectionConfig" in configs:
        out["promptInjection"] = {"score": 1.0 if _INJECTION.search(text) else 0.0}
    return out


async def apply_guardrails(host: Any, request: EmuRequest) -> EmuResponse:
    """``POST /20231130/actions/applyGuardrails``."""
    body = request.json if request.json is not None else parse_json(request.body)
    validate("guardrails", body)
    payload = {"results": results(body), "guardrailVersion": {"version": _version(body)}}
    return EmuResponse.json(200, payload, {"opc-request-id": request.request_id})

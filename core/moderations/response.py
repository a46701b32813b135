"""OpenAI's moderation result from a guardrails report (pure).

OCI does not classify by OpenAI's categories, so every OpenAI category key is present (with its
slash spelling, e.g. ``hate/threatening``) as ``false`` / ``0.0``; ``flagged`` and the extra
``oci_content_moderation`` score come from OCI's content moderation (``OVERALL``, ``BLOCKLIST``);
``oci_prompt_injection`` and ``oci_pii`` carry the other two checks.
"""

from __future__ import annotations

from typing import Any

from core.guardrails.detect import FLAG_AT, Report
from core.guardrails.policy import CONTENT_MODERATION, PII, PROMPT_INJECTION

OPENAI_CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent", "self-harm",
    "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic",
)
OCI_CATEGORIES = {"oci_content_moderation": CONTENT_MODERATION, "oci_prompt_injection": PROMPT_INJECTION,
                  "oci_pii": PII}


def result(report: Report, *, checked: bool) -> dict[str, Any]:
    """One ``results[]`` entry; ``checked`` is False for an empty text (nothing was sent to OCI)."""
    scores = {name: round(report.scores.get(check, 0.0), 6) for name, check in OCI_CATEGORIES.items()}
    applied = ["text"] if checked else []
    return {
        "flagged": scores["oci_content_moderation"] >= FLAG_AT,
        "categories": {**{c: False for c in OPENAI_CATEGORIES}, **{n: s >= FLAG_AT for n, s in scores.items()}},
        "category_scores": {**{c: 0.0 for c in OPENAI_CATEGORIES}, **scores},
        "category_applied_input_types": {c: list(applied) for c in (*OPENAI_CATEGORIES, *OCI_CATEGORIES)},
    }


def render(response_id: str, model: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": response_id, "model": model, "results": results}

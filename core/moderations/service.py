"""``/v1/moderations`` answered through OCI ``ApplyGuardrails``: the only moderations module that does I/O.

Every input is checked for content moderation, prompt injection and PII in one call per piece
(all inputs concurrently), whatever guardrail policy the deployment has; an OCI failure is an
error, never a silent "not flagged".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from core.guardrails.service import moderate
from core.moderations.request import parse_moderation_request
from core.moderations.response import render, result
from core.settings import Settings


@dataclass
class ModerationResult:
    body: dict[str, Any]
    inputs: int
    flagged: int


async def create_moderation(data: dict[str, Any], *, deadline: float | None = None, request_id: str = "",
                            settings: Settings | None = None) -> ModerationResult:
    request = parse_moderation_request(data)
    reports = await moderate(request.texts, deadline=deadline, request_id=request_id, settings=settings)
    results = [result(report, checked=bool(text.strip())) for report, text in zip(reports, request.texts)]
    body = render(f"modr-{(request_id or uuid.uuid4().hex).lower()}", request.model, results)
    return ModerationResult(body, len(results), sum(1 for r in results if r["flagged"]))

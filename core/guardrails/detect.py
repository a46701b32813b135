"""OCI ``ApplyGuardrails`` bodies and answers, and the report made of them (pure).

* :func:`details` builds an ``ApplyGuardrailsDetails`` for one piece of text and the checks asked for.
* :func:`split` cuts a text longer than one call takes into pieces (at whitespace where it can), each
  remembering where it starts, so PII spans map back onto the whole text.
* :func:`parse_result` reads an ``ApplyGuardrailsResult``; :class:`Report` sums up one direction
  (input or output) as scores and labels only, never text, for the response header and the log line.

OCI's scores are binary (0.0 or 1.0); a score of at least :data:`FLAG_AT` counts as flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from core.errors import SERVER, APIError
from core.guardrails.mask import Span, locate
from core.guardrails.policy import BLOCK, CHECKS, CONTENT_MODERATION, MASK, PII, PROMPT_INJECTION, GuardrailPolicy

FLAG_AT = 0.5
MODERATION_CATEGORIES = ("OVERALL", "BLOCKLIST")


def details(text: str, checks: Iterable[str], *, compartment_id: str, pii_types: tuple[str, ...],
            version: str | None = None) -> dict[str, Any]:
    """The ``ApplyGuardrailsDetails`` body that runs ``checks`` on ``text``."""
    configs: dict[str, Any] = {}
    for check in checks:
        if check == CONTENT_MODERATION:
            configs["contentModerationConfig"] = {"categories": list(MODERATION_CATEGORIES)}
        elif check == PII:
            configs["personallyIdentifiableInformationConfig"] = {"types": list(pii_types)}
        elif check == PROMPT_INJECTION:
            configs["promptInjectionConfig"] = {}
    body: dict[str, Any] = {"input": {"type": "TEXT", "content": text}, "guardrailConfigs": configs,
                            "compartmentId": compartment_id}
    if version:
        body["guardrailVersionConfig"] = {"guardrailVersion": version}
    return body


def split(text: str, limit: int) -> list[tuple[int, str]]:
    """``(start, piece)`` pairs covering ``text``, each at most ``limit`` characters, cut after whitespace."""
    limit = max(1, limit)
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        cut = start + limit
        space = max(text.rfind(" ", start, cut), text.rfind("\n", start, cut))
        if space > start + limit // 2:
            cut = space + 1
        pieces.append((start, text[start:cut]))
        start = cut
    pieces.append((start, text[start:]))
    return pieces


@dataclass(frozen=True)
class Findings:
    """What one ApplyGuardrails call found; a score is None when the check was not asked for."""

    content_moderation: float | None = None
    prompt_injection: float | None = None
    pii: tuple[Span, ...] = ()
    categories: tuple[tuple[str, float], ...] = ()
    version: str | None = None


def parse_result(data: Any) -> Findings:
    """An ``ApplyGuardrailsResult`` as :class:`Findings`; a malformed answer is a clean 500."""
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict):
        raise _bad_answer("no results object")
    categories = _categories(results.get("contentModeration"))
    injection = results.get("promptInjection")
    if injection is not None and not (isinstance(injection, dict) and _is_score(injection.get("score"))):
        raise _bad_answer("a promptInjection result without a score")
    version = data.get("guardrailVersion") if isinstance(data.get("guardrailVersion"), dict) else {}
    return Findings(
        content_moderation=max((score for _, score in categories), default=None) if categories else None,
        prompt_injection=float(injection["score"]) if injection is not None else None,
        pii=_spans(results.get("personallyIdentifiableInformation")),
        categories=categories,
        version=version.get("version") if isinstance(version.get("version"), str) else None,
    )


def _is_score(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _categories(moderation: Any) -> tuple[tuple[str, float], ...]:
    if moderation is None:
        return ()
    items = moderation.get("categories") if isinstance(moderation, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and _is_score(i.get("score")) for i in items):
        raise _bad_answer("contentModeration categories without scores")
    return tuple((str(i.get("name")), float(i["score"])) for i in items)


def _spans(items: Any) -> tuple[Span, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise _bad_answer("personallyIdentifiableInformation that is not a list")
    spans = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("offset"), int) and isinstance(item.get("length"), int)
                and item["offset"] >= 0 and item["length"] >= 0):
            raise _bad_answer("a PII result without offset and length")
        spans.append(Span(item["offset"], item["length"], str(item.get("text") or ""), str(item.get("label") or "PII"),
                          float(item["score"]) if _is_score(item.get("score")) else 1.0))
    return tuple(spans)


def _bad_answer(what: str) -> APIError:
    return APIError(500, f"OCI Generative AI answered applyGuardrails with {what}.", type=SERVER,
                    code="upstream_bad_response")


def shift(spans: Iterable[Span], start: int, piece: str, whole: str) -> list[Span]:
    """Spans found in a piece starting at code point ``start`` of ``whole``, placed on the whole text."""
    moved = []
    for span in spans:
        begin, end = locate(piece, span)
        moved.append(Span(start + begin, end - begin, whole[start + begin:start + end], span.label, span.score))
    return moved


@dataclass
class Report:
    """One direction's results: the highest score per check, the PII labels, and what was done."""

    direction: str
    policy: GuardrailPolicy
    scores: dict[str, float] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)
    action: str = "allowed"
    error: str | None = None

    def add(self, findings: Findings) -> None:
        for check, score in ((CONTENT_MODERATION, findings.content_moderation),
                             (PROMPT_INJECTION, findings.prompt_injection)):
            if score is not None:
                self.scores[check] = max(score, self.scores.get(check, 0.0))
        if PII in self.policy.checks():
            found = [s for s in findings.pii if s.score >= FLAG_AT]
            self.scores[PII] = max([self.scores.get(PII, 0.0)] + [s.score for s in found])
            self.labels.update(s.label for s in found)

    @property
    def flagged(self) -> list[str]:
        return [c for c in CHECKS if self.scores.get(c, 0.0) >= FLAG_AT]

    @property
    def blocks(self) -> bool:
        return any(self.policy.mode(c) == BLOCK for c in self.flagged)

    @property
    def masks(self) -> bool:
        return self.policy.mode(PII) == MASK and PII in self.flagged

    def header(self) -> str:
        """``content_moderation=0.0; prompt_injection=1.0; pii=EMAIL+PERSON; flagged=prompt_injection; action=blocked``."""
        parts = [f"{c}={self.scores.get(c, 0.0):.1f}" for c in CHECKS if c != PII and c in self.scores]
        if PII in self.scores:
            parts.append(f"pii={'+'.join(sorted(self.labels)) or 'none'}")
        parts.append(f"flagged={'+'.join(self.flagged) or 'none'}")
        parts.append(f"action={self.action}")
        if self.error:
            parts.append(f"error={self.error}")
        return "; ".join(parts)

"""Guardrail checks through OCI ``ApplyGuardrails``: the only guardrails module that does I/O.

The service functions every API shares (chat completions here; the Responses API and
``/v1/moderations`` call the same ones):

* :func:`effective_policy`: the deployment's, the alias's and the API key's policies, strictest per check;
* :func:`check_input`: a list of texts -> a :class:`Verdict` (blocked or not, the texts masked where
  PII is ``mask``, a :class:`~core.guardrails.detect.Report` of scores and labels);
* :func:`check_output`: the same for one answer text (content moderation and PII only);
* :func:`content_filter_error`: the 400 ``content_filter`` a blocked input becomes;
* :func:`moderate`: every check on each of a list of texts, one report each (``/v1/moderations``).

Each text longer than ``GUARDRAILS_MAX_CHARS_PER_CALL`` is checked in pieces; all pieces of all texts
run concurrently. When OCI fails, a check that can block or mask fails the request (closed); a
check that only informs is reported as failed and the request goes on (open).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

from core import logs, runtime
from core.aliases import ResolvedModel
from core.embeddings.batching import Slot, run_concurrently
from core.errors import APIError, invalid_request
from core.guardrails.detect import Findings, Report, details, parse_result, shift, split
from core.guardrails.mask import Span, mask
from core.guardrails.policy import GuardrailPolicy, parse_policy
from core.oci import deployment
from core.oci.client import UpstreamError
from core.oci.failures import api_error
from core.policy import KeyPolicy
from core.settings import Settings

INPUT_HEADER = "x-guardrails-input"
OUTPUT_HEADER = "x-guardrails-output"
RETRIEVAL_HEADER = "x-guardrails-retrieval"
"""What the input checks did to the passages a ``file_search`` retrieved (Responses)."""
CONCURRENCY = 8
"""ApplyGuardrails calls one check runs at the same time."""


@dataclass
class Verdict:
    """The outcome of one check: what to send on (``texts``) and what was found (``report``)."""

    texts: tuple[str, ...]
    report: Report

    @property
    def blocked(self) -> bool:
        return self.report.action == "blocked"


def effective_policy(settings: Settings, target: ResolvedModel | None, key: KeyPolicy | None) -> GuardrailPolicy:
    """The strictest mode per check of the deployment's, the model alias's and the API key's policies."""
    policy = parse_policy(settings.guardrails, "setting GUARDRAILS")
    if target is not None and target.alias is not None:
        policy = policy.stricter(target.alias.guardrails)
    return policy.stricter(key.guardrails if key is not None else None)


def content_filter_error(report: Report, param: str | None = "messages") -> APIError:
    """The 400 a blocked input becomes (OpenAI's ``content_filter`` code; scores stay in the header)."""
    flagged = ", ".join(c.replace("_", " ") for c in report.flagged if report.policy.mode(c) == "block")
    error = invalid_request(f"The request was blocked by the gateway's guardrails ({flagged}).", param=param,
                            code="content_filter")
    error.headers[INPUT_HEADER] = report.header()
    return error


async def check_input(texts: Sequence[str], policy: GuardrailPolicy, *, deadline: float | None = None,
                      request_id: str = "", settings: Settings | None = None) -> Verdict:
    """Run the policy's input checks on ``texts``."""
    return await _check(tuple(texts), policy, "input", deadline=deadline, request_id=request_id, settings=settings)


async def check_output(text: str, policy: GuardrailPolicy, *, deadline: float | None = None, request_id: str = "",
                       settings: Settings | None = None) -> Verdict:
    """Run the policy's output checks (content moderation, PII) on one answer text."""
    return await _check((text,), policy, "output", deadline=deadline, request_id=request_id, settings=settings)


MODERATION = GuardrailPolicy(content_moderation="inform", prompt_injection="inform", pii="inform")


async def moderate(texts: Sequence[str], *, deadline: float | None = None, request_id: str = "",
                   settings: Settings | None = None) -> list[Report]:
    """Every check on each text, one report per text (``/v1/moderations``); an OCI failure raises."""
    settings = settings or runtime.settings()
    jobs = [(i, start, piece) for i, text in enumerate(texts) if text.strip()
            for start, piece in split(text, settings.guardrails_max_chars_per_call)]
    found = await _apply(jobs, MODERATION.checks(), settings, deadline, request_id) if jobs else []
    reports = [Report("input", MODERATION) for _ in texts]
    for (index, _, _), findings in zip(jobs, found):
        reports[index].add(findings)
    for report in reports:
        report.action = "flagged" if report.flagged else "allowed"
    return reports


async def _check(texts: tuple[str, ...], policy: GuardrailPolicy, direction: str, *, deadline: float | None,
                 request_id: str, settings: Settings | None) -> Verdict:
    settings = settings or runtime.settings()
    report = Report(direction, policy)
    checks = policy.checks(output=direction == "output")
    jobs = [(i, start, piece) for i, text in enumerate(texts) if text.strip()
            for start, piece in split(text, settings.guardrails_max_chars_per_call)]
    if not checks or not jobs:
        return Verdict(texts, report)
    watch = logs.Stopwatch()
    try:
        found = await _apply(jobs, checks, settings, deadline, request_id)
    except APIError as exc:
        if policy.must_wait(output=direction == "output"):
            raise
        report.error = exc.code or "upstream_error"
        report.action = "unchecked"
        _log(report, len(jobs), watch, request_id)
        return Verdict(texts, report)
    spans: dict[int, list[Span]] = {}
    for (index, start, piece), findings in zip(jobs, found):
        report.add(findings)
        spans.setdefault(index, []).extend(shift(findings.pii, start, piece, texts[index]))
    if report.blocks:
        report.action = "blocked"
    elif report.masks:
        report.action = "masked"
        texts = tuple(mask(text, spans.get(i, [])) for i, text in enumerate(texts))
    elif report.flagged:
        report.action = "flagged"
    _log(report, len(jobs), watch, request_id)
    return Verdict(texts, report)


async def _apply(jobs: list[tuple[int, int, str]], checks: tuple[str, ...], settings: Settings,
                 deadline: float | None, request_id: str) -> list[Findings]:
    credentials = runtime.credentials()
    compartment = deployment.compartment_id(settings, credentials)
    url = deployment.genai_url(settings, credentials, "applyGuardrails")
    client = runtime.client()
    pii_types = tuple(t.strip() for t in settings.guardrails_pii_types.split(",") if t.strip())

    async def send(position: int, job: tuple[int, int, str], slot: Slot) -> Findings:
        body = details(job[2], checks, compartment_id=compartment, pii_types=pii_types,
                       version=settings.guardrails_version)
        call_id = f"{request_id}-g{position:03d}" if request_id else None
        try:
            upstream = await client.request("POST", url, json_body=body, deadline=deadline, request_id=call_id,
                                            answered=slot)
        except UpstreamError as exc:
            raise api_error(exc) from None
        return parse_result(upstream.json())

    return await run_concurrently(jobs, send, CONCURRENCY)


def _log(report: Report, calls: int, watch: logs.Stopwatch, request_id: str) -> None:
    fields: dict[str, Any] = {f"{check}_score": score for check, score in report.scores.items()}
    logs.log_event("guardrails", logging.INFO, direction=report.direction, action=report.action, calls=calls,
                   pii_labels="+".join(sorted(report.labels)) or None, error=report.error, latency_ms=watch.ms(),
                   request_id=request_id, **fields)

"""What the live OCI service does that the SDK's shapes cannot say: one table, each rule with its evidence.

The emulator and the gateway's translation were written by the same hands, so the emulator must
not merely agree with the gateway: it refuses what OCI refuses. Every row here is one behaviour
of the real service, marked by how it is known:

* ``captured``: a recorded answer of the live service (a cassette, a fixture marked "observed live");
* ``documented``: Oracle's documentation, release notes, or the ``oci`` SDK;
* ``inferred``: third-party reports, the upstream vendor's own API, or reasoning from those.

A row with a ``check`` refuses a chat body (run after the model is known, see
:data:`local.emulator.validation.MODEL_RULES`); a row without one shapes a lookup or an answer
and names the function that implements it. Per-model facts (which efforts, which refused
fields) are in :mod:`local.emulator.models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .models import ModelSpec
from .wire import OciError

CAPTURED = "captured"
DOCUMENTED = "documented"
INFERRED = "inferred"


class RequestRefused(OciError):
    """OCI's 400 ``{"code": "400", "message": ...}`` for a body a model refuses."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "400", message)


Check = Callable[[Mapping[str, Any], ModelSpec], None]


@dataclass(frozen=True)
class LiveRule:
    """One behaviour of the live service."""

    name: str
    facts_row: str
    """The row of the facts file this comes from (``7a``, ``9c``...)."""
    source: str
    evidence: str
    check: Check | None = None
    applied_in: str = ""
    """Where a rule without ``check`` is implemented."""


def unsupported(field: str) -> RequestRefused:
    """The message OCI sent for a parameter a model does not take (as reported, verbatim)."""
    return RequestRefused(f"Model does not support parameter {field}")


def check_reasoning_effort(body: Mapping[str, Any], model: ModelSpec) -> None:
    chat = body["chatRequest"]
    effort = chat.get("reasoningEffort")
    if chat["apiFormat"] != "GENERIC" or effort is None or model.efforts is None:
        return
    if not model.efforts:
        raise unsupported("reasoningEffort")
    if effort not in model.efforts:
        raise RequestRefused(f"Invalid parameter: 'chatRequest.reasoningEffort' value '{effort}' is not supported by "
                             f"model '{model.model_id}'.")


def check_refused_fields(body: Mapping[str, Any], model: ModelSpec) -> None:
    chat = body["chatRequest"]
    for field in sorted(model.refuses):
        if chat.get(field) is not None:
            raise unsupported(field)


def check_v2_assistant_content(body: Mapping[str, Any], model: ModelSpec) -> None:
    chat = body["chatRequest"]
    if chat["apiFormat"] != "COHEREV2":
        return
    for index, message in enumerate(chat.get("messages") or []):
        if message.get("role") == "ASSISTANT" and not message.get("content"):
            raise RequestRefused(f"Missing required parameter: 'chatRequest.messages[{index}].content'.")


_EXCLUSIVE_BOUNDS = ("exclusiveMinimum", "exclusiveMaximum")


def _has_exclusive_bound(node: Any) -> bool:
    if isinstance(node, dict):
        return any(key in node for key in _EXCLUSIVE_BOUNDS) or any(_has_exclusive_bound(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_exclusive_bound(v) for v in node)
    return False


def check_gemini_schema(body: Mapping[str, Any], model: ModelSpec) -> None:
    chat = body["chatRequest"]
    if model.vendor != "google" or chat["apiFormat"] != "GENERIC":
        return
    schemas = [tool.get("parameters") for tool in chat.get("tools") or []]
    schemas.append(((chat.get("responseFormat") or {}).get("jsonSchema") or {}).get("schema"))
    if any(_has_exclusive_bound(schema) for schema in schemas):
        raise RequestRefused("Invalid request content: Invalid function schema: exclusiveMinimum and "
                             "exclusiveMaximum are not supported.")


def check_chat_api(body: Mapping[str, Any], model: ModelSpec) -> None:
    if model.responses_only:
        raise RequestRefused("Multi Agent requests are not allowed on chat completions.")


FORMAT_MISMATCH = "Chat request type does not match serving model."

LIVE_RULES: tuple[LiveRule, ...] = (
    LiveRule("reasoning effort only where the model has it", "7a", INFERRED,
             "OCI answered 'HTTP 400: Model does not support parameter reasoningEffort' for Grok 4.1 Fast reasoning "
             "(acedergren/opencode-oci-provider v0.2.3); xAI: only grok-3-mini*, grok-4.3 and the multi-agent model "
             "take an effort (live check of api.x.ai, 2026-05-10)", check_reasoning_effort),
    LiveRule("penalties and stop refused by xAI models", "7b", INFERRED,
             "grok-4.3 refuses presence/frequency penalties and stop, grok-4.20 non-reasoning the penalties "
             "(modelparams.dev #20, live); an OCI client strips them for every xai.* model", check_refused_fields),
    LiveRule("maxTokens refused by GPT-5 models", "7c", INFERRED,
             "LiteLLM: GPT-5 and o-series on OCI answer 400 to maxTokens; a recorded openai.gpt-5.4 call used "
             "maxCompletionTokens", check_refused_fields),
    LiveRule("COHEREV2 assistant content is required", "7e", DOCUMENTED,
             "the SDK marks CohereMessageV2.content [Required]; langchain-oci always sends it on V2",
             check_v2_assistant_content),
    LiveRule("Gemini refuses exclusive bounds in schemas", "6", INFERRED,
             "Oracle's langchain-oci rewrites exclusiveMinimum/Maximum for Gemini after HTTP 400s (commit 250c5ad)",
             check_gemini_schema),
    LiveRule("multi-agent Grok only through the Responses API", "9c", INFERRED,
             "xAI: 'Multi Agent requests are not allowed on chat completions'; langchain-oci routes "
             "xai.grok-4.20-multi-agent-0309 to Responses only", check_chat_api),
    LiveRule("a format the serving model does not speak", "7f", INFERRED,
             "LiteLLM's OCI provider: 'Chat request type does not match serving model.' for a GENERIC body sent to "
             "a Cohere endpoint", applied_in="validation.rule_chat_model_format"),
    LiveRule("retired and unknown model ids are 404", "9a/9c", INFERRED,
             "Embed v3 retired 2026-10-21 (release note); Grok 3/4/4 Fast gone after 2026-08-15 (live probe); the "
             "404 'Entity with key ... not found' shape is reported, not captured", applied_in="genai.resolve_model"),
    LiveRule("xAI usage leaves reasoning out of completionTokens", "5", CAPTURED,
             "NeMo-Relay fixture observed live: promptTokens 13, completionTokens 8, reasoningTokens 586, "
             "totalTokens 607", applied_in="chat_formats.usage"),
    LiveRule("deprecated models carry model-retirement-info", "8", DOCUMENTED,
             "release note 2025-07-10 names the header; its value format was never published (the emulator's is "
             "invented)", applied_in="genai.chat"),
    LiveRule("routing profiles answer with x-genai-selected-region", "next-apis 8", DOCUMENTED,
             "routing-profile tutorial: pass the profile OCID as the model, read x-genai-selected-region",
             applied_in="genai.resolve_model"),
    LiveRule("COHEREV2 tool-call streaming shape", "2", INFERRED,
             "no public capture of a V2 tool-call stream exists; the emulator's events (a toolPlan event, an "
             "id-bearing opener, argument fragments, a final event optionally restating the calls) are invented",
             applied_in="chat_formats.CohereV2Format.stream_events"),
)

CHAT_CHECKS: tuple[Check, ...] = tuple(dict.fromkeys(rule.check for rule in LIVE_RULES if rule.check is not None))
"""The body checks, each once, in table order."""

"""Which request parameters each OCI chat model takes: one table, each row with its evidence.

OCI answers HTTP 400 when a model is sent a parameter it does not take ("Model ... does not
support parameter reasoningEffort"), so the gateway decides before sending: a row says which
``reasoning_effort`` values the model has (its knob), which OpenAI parameters it refuses, and
under which field it takes the output-token limit. Rows are matched by model-id glob, first
match wins: specific rows come before the vendor rows, and ``*`` (anything else, including a
raw dedicated endpoint) takes everything and lets OCI judge.

How sure a row is, in its ``source``:

* ``captured``: a recorded answer of the live service;
* ``documented``: Oracle's documentation, release notes, the ``oci`` SDK, or Oracle's own
  integration tests that run against the live service;
* ``inferred``: third-party reports about OCI, or the upstream vendor's own API;
* ``unknown``: no evidence either way, so the parameter is sent. When OCI refuses it after all,
  the chat service learns that for the rest of the process (:mod:`core.chat.service`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from core.catalog import ModelInfo

CAPTURED = "captured"
DOCUMENTED = "documented"
INFERRED = "inferred"
UNKNOWN = "unknown"

MAX_TOKENS = "maxTokens"
MAX_COMPLETION_TOKENS = "maxCompletionTokens"

ALL_EFFORTS = ("NONE", "MINIMAL", "LOW", "MEDIUM", "HIGH")
"""OCI's ``reasoningEffort`` values (the SDK's enum); OpenAI's ``none``/``disable`` is NONE."""

PENALTIES = frozenset({"presence_penalty", "frequency_penalty"})
PENALTIES_AND_STOP = PENALTIES | {"stop"}

NEUTRAL_VALUES = {"presence_penalty": 0, "frequency_penalty": 0}
"""Values that ask for nothing: a refused parameter sent with one is left out without a word."""


@dataclass(frozen=True)
class ParamRule:
    """What the models matching ``models`` (globs) take."""

    models: tuple[str, ...]
    efforts: tuple[str, ...] | None
    """The ``reasoning_effort`` values (OCI spelling) the model takes; ``()``: no such knob; None: unknown, sent."""
    refuses: frozenset[str] = frozenset()
    """OpenAI parameter names OCI answers 400 for."""
    max_tokens_field: str = MAX_TOKENS
    source: str = UNKNOWN
    evidence: str = ""

    def matches(self, model_id: str) -> bool:
        return any(fnmatch.fnmatchcase(model_id, pattern) for pattern in self.models)


RULES: tuple[ParamRule, ...] = (
    # xAI Grok
    ParamRule(("xai.grok-3-mini", "xai.grok-3-mini-fast"), ("LOW", "HIGH"), PENALTIES_AND_STOP, source=INFERRED,
              evidence="xAI: reasoning_effort low or high; penalties and stop refused by reasoning models (xAI docs, "
                       "NextChat #6443); effort accepted in a live check of xAI's API (2026-05-10)"),
    ParamRule(("xai.grok-4.3",), ("NONE", "LOW", "MEDIUM", "HIGH"), PENALTIES_AND_STOP, source=INFERRED,
              evidence="effort accepted (live check of xAI's API, 2026-05-10; xAI's migration guide suggests effort "
                       "none); penalties and stop refused (live smoke, modelparams.dev #20, 2026-05-22)"),
    ParamRule(("xai.grok-4.20-multi-agent*",), None, PENALTIES, source=INFERRED,
              evidence="Responses API only; effort accepted upstream (values unknown); penalties stripped for every "
                       "xai.* model by an OCI client (acedergren/opencode-oci-provider)"),
    ParamRule(("xai.*-non-reasoning",), (), PENALTIES, source=INFERRED,
              evidence="Grok 4.20 non-reasoning refuses the penalties (modelparams.dev #20); the 0309 models refuse "
                       "reasoning_effort (live check of xAI's API, 2026-05-10)"),
    ParamRule(("xai.*-reasoning", "xai.grok-4", "xai.grok-code-fast-1"), (), PENALTIES_AND_STOP, source=INFERRED,
              evidence="OCI answered 400 'does not support parameter reasoningEffort' for Grok 4.1 Fast reasoning "
                       "(opencode-oci-provider v0.2.3); xAI: reasoning models refuse penalties and stop"),
    ParamRule(("xai.grok-3", "xai.grok-3-fast"), (), PENALTIES, source=INFERRED,
              evidence="not a reasoning model; penalties stripped for every xai.* model by an OCI client"),
    ParamRule(("xai.*",), None, PENALTIES, source=INFERRED,
              evidence="penalties stripped for every xai.* model by an OCI client (opencode-oci-provider tests)"),
    # Cohere Command
    ParamRule(("cohere.command-a-reasoning*",), ALL_EFFORTS, source=DOCUMENTED,
              evidence="COHEREV2 'thinking' (ENABLED with a token budget, or DISABLED): the SDK's CohereThinkingV2"),
    ParamRule(("cohere.command-a-03-2025", "cohere.command-a-vision*", "cohere.command-a-translate*",
               "cohere.command-r*", "cohere.command-latest", "cohere.command-plus-latest", "cohere.command",
               "cohere.command-light"), (), source=DOCUMENTED,
              evidence="no thinking: OCI documents it for Command A Reasoning only"),
    ParamRule(("cohere.*",), None, source=UNKNOWN, evidence="a Cohere model the catalog does not know"),
    # Meta Llama
    ParamRule(("meta.*",), (), source=INFERRED, evidence="Llama models have no reasoning mode"),
    # Google Gemini
    ParamRule(("google.*",), None, source=UNKNOWN,
              evidence="whether OCI maps reasoningEffort for Gemini is unverified; penalties reportedly refused "
                       "(third-party tests only), so they are sent"),
    # OpenAI
    ParamRule(("openai.gpt-oss-*",), ("LOW", "MEDIUM", "HIGH"), max_tokens_field=MAX_COMPLETION_TOKENS,
              source=INFERRED,
              evidence="the limit field is documented (Oracle's langchain-oci integration tests call gpt-oss with "
                       "max_completion_tokens); the three effort levels are gpt-oss's own (its model card)"),
    ParamRule(("openai.*",), None, max_tokens_field=MAX_COMPLETION_TOKENS, source=CAPTURED,
              evidence="a recorded openai.gpt-5.4 call sent maxCompletionTokens (traceloop cassette); LiteLLM: GPT-5 "
                       "and o-series on OCI answer 400 to maxTokens"),
    # Anything else: a raw dedicated endpoint, a routing profile, an unknown vendor
    ParamRule(("*",), None, source=UNKNOWN, evidence="nothing known: every parameter is sent and OCI judges"),
)


def rule_for(info: ModelInfo) -> ParamRule:
    """The first row matching ``info.id`` (the ``*`` row when nothing else does)."""
    return next(rule for rule in RULES if rule.matches(info.id))

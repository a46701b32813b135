"""The per-model parameter table and how a request is fitted to it before OCI is called."""

from __future__ import annotations

import pytest

from core.catalog import CATALOG, CHAT, lookup
from core.chat.param_rules import CAPTURED, DOCUMENTED, INFERRED, RULES, UNKNOWN, rule_for
from core.chat.params import apply_model_rules
from core.chat.request import parse_chat_request
from core.errors import APIError


def request(model: str, **extra):
    return parse_chat_request({"model": model, "messages": [{"role": "user", "content": "hi"}], **extra})


def test_every_row_has_its_evidence_and_the_last_row_takes_anything():
    for rule in RULES:
        assert rule.source in {CAPTURED, DOCUMENTED, INFERRED, UNKNOWN} and rule.evidence, rule.models
    assert RULES[-1].models == ("*",) and RULES[-1].efforts is None and not RULES[-1].refuses


def test_every_xai_model_of_the_catalog_has_its_own_row():
    for model in CATALOG.values():
        if model.kind == CHAT and model.vendor == "xai":
            assert rule_for(model).models != ("xai.*",), model.id


@pytest.mark.parametrize("model, efforts", [
    ("xai.grok-4.3", ("NONE", "LOW", "MEDIUM", "HIGH")), ("xai.grok-3-mini", ("LOW", "HIGH")),
    ("xai.grok-4.20-reasoning", ()), ("xai.grok-4.20-0309-non-reasoning", ()), ("meta.llama-3.3-70b-instruct", ()),
    ("openai.gpt-oss-120b", ("LOW", "MEDIUM", "HIGH")), ("google.gemini-2.5-pro", None),
    ("cohere.command-a-03-2025", ()), ("xai.grok-9", None),
])
def test_reasoning_effort_levels(model, efforts):
    assert rule_for(lookup(model)).efforts == efforts


def test_effort_on_a_model_without_the_knob_is_dropped_whatever_the_setting():
    for drop in (False, True):
        fitted, dropped = apply_model_rules(request("meta.llama-3.3-70b-instruct", reasoning_effort="high"),
                                            lookup("meta.llama-3.3-70b-instruct"), drop_unsupported=drop)
        assert fitted.reasoning_effort is None and "reasoning_effort" not in fitted.raw
        assert dropped == ["reasoning_effort"]


def test_a_level_the_model_lacks_is_a_400_or_dropped():
    grok = lookup("xai.grok-3-mini")
    with pytest.raises(APIError) as caught:
        apply_model_rules(request(grok.id, reasoning_effort="minimal"), grok, drop_unsupported=False)
    assert (caught.value.status, caught.value.param, caught.value.code) == (400, "reasoning_effort",
                                                                             "unsupported_value")
    fitted, dropped = apply_model_rules(request(grok.id, reasoning_effort="minimal"), grok, drop_unsupported=True)
    assert fitted.reasoning_effort is None and dropped == ["reasoning_effort"]
    fitted, dropped = apply_model_rules(request(grok.id, reasoning_effort="low"), grok, drop_unsupported=False)
    assert fitted.reasoning_effort == "LOW" and dropped == []


def test_refused_parameters_and_neutral_values():
    grok = lookup("xai.grok-4.3")
    with pytest.raises(APIError) as caught:
        apply_model_rules(request(grok.id, frequency_penalty=1), grok, drop_unsupported=False)
    assert caught.value.param == "frequency_penalty"
    fitted, dropped = apply_model_rules(request(grok.id, presence_penalty=0, stop="x"), grok, drop_unsupported=True)
    assert (fitted.presence_penalty, fitted.stop, dropped) == (None, (), ["stop"])  # a zero penalty asks for nothing
    llama = lookup("meta.llama-3.3-70b-instruct")
    fitted, dropped = apply_model_rules(request(llama.id, presence_penalty=1, stop="x"), llama, drop_unsupported=False)
    assert (fitted.presence_penalty, fitted.stop, dropped) == (1, ("x",), [])


def test_learned_refusals_apply_like_the_table():
    llama = lookup("meta.llama-3.3-70b-instruct")
    with pytest.raises(APIError) as caught:
        apply_model_rules(request(llama.id, seed=3), llama, drop_unsupported=False, learned=frozenset({"seed"}))
    assert caught.value.param == "seed"
    gemini = lookup("google.gemini-2.5-pro")
    fitted, dropped = apply_model_rules(request(gemini.id, reasoning_effort="low"), gemini, drop_unsupported=False,
                                        learned=frozenset({"reasoning_effort", "max_tokens"}))
    assert fitted.reasoning_effort is None and dropped == ["reasoning_effort"]

"""Property tests over the whole chat translation pipeline.

Random valid OpenAI requests, for models of every format, must always yield a body the
`oci` SDK's model classes accept unchanged; random invalid ones must always end in a 400
with an OpenAI error body — never an exception, never a 500.
"""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.aliases import resolve
from core.chat.request import parse_chat_request
from core.chat.translate import build_chat_details
from core.errors import APIError
from core.settings import Settings
from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch
from tests.support.oci_sdk import assert_sdk_roundtrip

MODELS = ["meta.llama-3.3-70b-instruct", "meta.llama-4-maverick-17b-128e-instruct-fp8", "xai.grok-3-mini",
          "google.gemini-2.5-flash", "openai.gpt-oss-120b", "cohere.command-r-plus-08-2024",
          "cohere.command-a-03-2025", "cohere.command-a-vision-07-2025", "ocid1.generativeaiendpoint.oc1.us-chicago-1.abc"]
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

text = st.text(alphabet=string.ascii_letters + " éß中🙂\n", min_size=0, max_size=30)
name = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=12)

schema = st.recursive(
    st.sampled_from([{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"},
                     {"type": "string", "enum": ["a", "b"]}, {"anyOf": [{"type": "string"}, {"type": "null"}]}]),
    lambda children: st.one_of(
        st.builds(lambda props: {"type": "object", "properties": props, "required": sorted(props)[:1]},
                  st.dictionaries(name, children, max_size=3)),
        st.builds(lambda item: {"type": "array", "items": item}, children),
    ),
    max_leaves=6,
)
tool = st.builds(lambda n, d, props: {"type": "function", "function": {
    "name": n, "description": d, "parameters": {"type": "object", "properties": props}}},
    name, text, st.dictionaries(name, schema, max_size=3))


@st.composite
def conversations(draw):
    messages = []
    if draw(st.booleans()):
        messages.append({"role": draw(st.sampled_from(["system", "developer"])), "content": draw(text)})
    for turn in range(draw(st.integers(1, 3))):
        content = draw(st.one_of(text, st.lists(st.builds(lambda t: {"type": "text", "text": t}, text), min_size=1,
                                                  max_size=2)))
        messages.append({"role": "user", "content": content})
        kind = draw(st.sampled_from(["text", "tools", "none"]))
        if kind == "text":
            messages.append({"role": "assistant", "content": draw(text)})
        elif kind == "tools":
            count = draw(st.integers(1, 3))
            calls = [{"id": f"call_{turn}_{i}", "type": "function",
                      "function": {"name": draw(name), "arguments": json.dumps({"x": draw(text)})}}
                     for i in range(count)]
            messages.append({"role": "assistant", "content": draw(st.one_of(st.none(), text)), "tool_calls": calls})
            for call in calls:
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": draw(text)})
            if draw(st.booleans()):
                messages.append({"role": "assistant", "content": draw(text)})
    return messages


@st.composite
def valid_requests(draw):
    body = {"model": draw(st.sampled_from(MODELS)), "messages": draw(conversations())}
    optional = {
        "max_tokens": st.integers(1, 4000), "temperature": st.floats(0, 2), "top_p": st.floats(0, 1),
        "stop": st.one_of(text.filter(bool), st.lists(text.filter(bool), max_size=3)), "seed": st.integers(0, 2**31),
        "frequency_penalty": st.floats(-2, 2), "presence_penalty": st.floats(-2, 2), "user": text,
        "tools": st.lists(tool, max_size=3, unique_by=lambda t: t["function"]["name"]),
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}, {
            "type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "properties": {
                "a": {"type": "string"}}}, "strict": True}}]),
        "stream": st.booleans(),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            body[key] = draw(strategy)
    if body.get("tools") == []:
        del body["tools"]
    if draw(st.booleans()) and body["model"] in ("meta.llama-4-maverick-17b-128e-instruct-fp8",
                                                 "cohere.command-a-vision-07-2025"):
        body["messages"].append({"role": "user", "content": [{"type": "text", "text": "look"},
                                                              {"type": "image_url", "image_url": {"url": PNG}}]})
    return body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_requests())
def test_valid_requests_translate_to_bodies_the_sdk_accepts(body):
    chat = parse_chat_request(body)
    target = resolve(chat.model, Settings(served_models="*"), {})
    try:
        details, fmt = build_chat_details(chat, target, "ocid1.compartment.oc1..x", drop_unsupported=True)
    except APIError as exc:
        # A few valid OpenAI requests have no OCI equivalent for the chosen model; those must be clean 400s.
        assert exc.status == 400 and exc.param is not None or exc.code, exc
        return
    assert_sdk_roundtrip(details, "ChatDetails")
    assert details["chatRequest"]["apiFormat"] == fmt


junk = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text),
                    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(text, c, max_size=3)), max_leaves=8)


@st.composite
def invalid_requests(draw):
    body = draw(valid_requests())
    mutation = draw(st.sampled_from(["drop_model", "bad_field", "bad_message", "bad_role", "junk_body",
                                     "bad_tool_id", "bad_tools"]))
    if mutation == "drop_model":
        body.pop("model")
    elif mutation == "bad_field":
        key = draw(st.sampled_from(["max_tokens", "temperature", "top_p", "stop", "seed", "n", "tools",
                                    "tool_choice", "response_format", "logprobs", "stream"]))
        body[key] = draw(st.sampled_from([{"nested": [1]}, [None]]))  # wrong for every one of these keys
    elif mutation == "bad_message":
        body["messages"][draw(st.integers(0, len(body["messages"]) - 1))] = draw(junk.filter(
            lambda v: not isinstance(v, dict) or "role" not in v))
    elif mutation == "bad_role":
        body["messages"][0]["role"] = draw(text.filter(lambda r: r not in ("system", "developer", "user",
                                                                           "assistant", "tool")))
    elif mutation == "junk_body":
        return json.dumps(draw(junk.filter(lambda v: not isinstance(v, dict)))).encode()
    elif mutation == "bad_tool_id":
        body["messages"].append({"role": "tool", "tool_call_id": "nope", "content": "x"})
    elif mutation == "bad_tools":
        body["tools"] = [{"type": draw(st.sampled_from(["web_search", "code_interpreter", None]))}]
    return json.dumps(body).encode()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(invalid_requests())
async def test_invalid_requests_always_get_a_400_openai_error(gateway_env, raw):
    request = Request(method="POST", path="/v1/chat/completions",
                      headers=Headers({"content-type": "application/json"}), body=raw, kind=HTTP)
    response = await dispatch(request)
    assert response.status == 400, response.body
    payload = json.loads(response.body)
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    assert payload["error"]["type"] == "invalid_request_error"

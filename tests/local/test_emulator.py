"""The OCI Generative AI emulator, driven through a real socket.

Authorities are independent of the project: requests are signed by the ``oci`` SDK's own
signer (``oci.signer.Signer`` / ``SecurityTokenSigner``), and successful answers are parsed by
the SDK's own client and deserializer. If the emulator drifted from OCI's wire format or from
OCI's signing scheme, these would fail.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oci._vendor import requests as oci_requests
from oci.generative_ai_inference import GenerativeAiInferenceClient
from oci.generative_ai_inference import models as M

from local.emulator import Emulator, FaultPlan, RunningEmulator, serve_in_thread
from local.emulator.genai import complete
from local.emulator.signature import KeyStore, verify_request
from local.emulator.tools import (
    Directive,
    ToolChoice,
    ToolSpec,
    cohere_v1_schema,
    parse_directives,
    pick_word,
    plan_calls,
    strip_directives,
    synthesize,
)
from tests.support.oci_sdk import assert_sdk_roundtrip, sdk_model

TENANCY = "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
USER = "ocid1.user.oc1..aaaaaaaatestuser"
FINGERPRINT = ":".join(["ab"] * 16)
KEY_ID = f"{TENANCY}/{USER}/{FINGERPRINT}"
COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
LLAMA = "meta.llama-3.3-70b-instruct"
CHAT_PATH = "/20231130/actions/chat"
EMBED_PATH = "/20231130/actions/embedText"
AUTH_MESSAGE = "The required information to complete authentication was not provided or was incorrect."


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signer(private_key: rsa.RSAPrivateKey) -> oci.signer.Signer:
    return oci.signer.Signer(TENANCY, USER, FINGERPRINT, None, private_key_content=_pem(private_key))


@pytest.fixture(scope="module")
def server(private_key: rsa.RSAPrivateKey) -> Iterator[RunningEmulator]:
    emulator = Emulator(seed=7)
    emulator.add_key(KEY_ID, private_key.public_key())
    with serve_in_thread(emulator) as running:
        yield running


@pytest.fixture
def emu(server: RunningEmulator) -> Iterator[Emulator]:
    """The shared emulator, clean for each test."""
    emulator = server.emulator
    emulator.reset()
    emulator.verify_signatures = True
    yield emulator
    emulator.reset()
    emulator.verify_signatures = True


@pytest.fixture
def http(server: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture
def sdk(
    server: RunningEmulator, signer: oci.signer.Signer, private_key: rsa.RSAPrivateKey
) -> GenerativeAiInferenceClient:
    config = {
        "tenancy": TENANCY,
        "user": USER,
        "fingerprint": FINGERPRINT,
        "key_content": _pem(private_key),
        "region": "us-chicago-1",
    }
    return GenerativeAiInferenceClient(
        config, signer=signer, service_endpoint=server.url, retry_strategy=oci.retry.NoneRetryStrategy()
    )


def sign(
    signer: Any, method: str, url: str, body: bytes, headers: dict[str, str] | None = None, enforce: bool = True
) -> dict[str, str]:
    """Headers the oci SDK's signer produces for this request (its own PreparedRequest type)."""
    prepared = oci_requests.Request(method, url, headers=dict(headers or {}), data=body).prepare()
    signer.do_request_sign(prepared, enforce_content_headers=enforce)
    return dict(prepared.headers)


def post(
    http: httpx.Client,
    signer: Any,
    path: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    send_body: bytes | None = None,
) -> httpx.Response:
    """Sign ``payload`` with the SDK signer and POST it (or ``send_body`` instead, to tamper)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = sign(signer, "POST", f"{http.base_url}{path}", body, headers)
    return http.post(path, content=body if send_body is None else send_body, headers=signed)


def generic(text: str = "hello world", model: str = LLAMA, **chat: Any) -> dict[str, Any]:
    return {
        "compartmentId": COMPARTMENT,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": model},
        "chatRequest": {
            "apiFormat": "GENERIC",
            "messages": [{"role": "USER", "content": [{"type": "TEXT", "text": text}]}],
            **chat,
        },
    }


def embed(inputs: list[str], model: str = "cohere.embed-v4.0", **extra: Any) -> dict[str, Any]:
    return {
        "inputs": inputs,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": model},
        "compartmentId": COMPARTMENT,
        **extra,
    }


def assert_oci_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    assert response.headers.get("opc-request-id")
    return body["message"]


# ------------------------------------------------------------------------------------------------
# Chat answers


def test_generic_chat_through_the_oci_sdk(emu: Emulator, sdk: GenerativeAiInferenceClient) -> None:
    details = M.ChatDetails(
        compartment_id=COMPARTMENT,
        serving_mode=M.OnDemandServingMode(model_id=LLAMA),
        chat_request=M.GenericChatRequest(
            messages=[
                M.SystemMessage(content=[M.TextContent(text="be brief")]),
                M.UserMessage(content=[M.TextContent(text="tell me a joke")]),
            ]
        ),
    )
    response = sdk.chat(details, opc_request_id="MYREQUESTID123")

    assert isinstance(response.data, M.ChatResult)
    chat = response.data.chat_response
    assert isinstance(chat, M.GenericChatResponse)
    assert response.data.model_id == LLAMA and response.data.model_version
    choice = chat.choices[0]
    assert choice.message.content[0].text == "Echo: tell me a joke"
    assert choice.finish_reason == "stop"
    assert chat.usage.prompt_tokens == 6  # "be brief" + "tell me a joke"
    assert chat.usage.completion_tokens == 5
    assert chat.usage.total_tokens == 11
    assert response.headers["opc-request-id"] == "MYREQUESTID123"
    assert emu.requests[-1].verified and emu.requests[-1].key_id == KEY_ID


def test_generic_raw_shape_matches_captured_oci(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    response = post(http, signer, CHAT_PATH, generic("hi"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert re.fullmatch(r"[0-9A-F]{32}", response.headers["opc-request-id"])
    assert emu.requests[-1].request_id == response.headers["opc-request-id"]
    assert "opc-request-id" not in emu.requests[-1].headers  # the record shows what was sent
    body = response.json()
    chat = body["chatResponse"]
    assert chat["apiFormat"] == "GENERIC"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", chat["timeCreated"])
    assert chat["choices"] == [
        {
            "index": 0,
            "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": "Echo: hi"}], "toolCalls": []},
            "finishReason": "stop",
            "logprobs": {},
        }
    ]
    assert chat["usage"] == {"completionTokens": 2, "promptTokens": 1, "totalTokens": 3}


def test_max_tokens_truncates_with_finish_reason_length(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = post(http, signer, CHAT_PATH, generic("one two three four", maxTokens=3)).json()
    choice = body["chatResponse"]["choices"][0]
    assert choice["message"]["content"][0]["text"] == "Echo: one two"
    assert choice["finishReason"] == "length"
    assert body["chatResponse"]["usage"]["completionTokens"] == 3


def test_stop_cuts_at_first_stop_string(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = post(http, signer, CHAT_PATH, generic("alpha beta. gamma", stop=["gamma", "."])).json()
    choice = body["chatResponse"]["choices"][0]
    assert choice["message"]["content"][0]["text"] == "Echo: alpha beta"
    assert choice["finishReason"] == "stop"


def test_num_generations_returns_that_many_choices(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = post(http, signer, CHAT_PATH, generic("x", numGenerations=3)).json()
    assert [c["index"] for c in body["chatResponse"]["choices"]] == [0, 1, 2]


def test_cohere_v1_and_v2_answers_deserialize(emu: Emulator, sdk: GenerativeAiInferenceClient) -> None:
    v1 = sdk.chat(
        M.ChatDetails(
            compartment_id=COMPARTMENT,
            serving_mode=M.OnDemandServingMode(model_id="cohere.command-r-plus-08-2024"),
            chat_request=M.CohereChatRequest(
                message="what now", chat_history=[M.CohereUserMessage(message="hi")], max_tokens=2
            ),
        )
    ).data.chat_response
    assert isinstance(v1, M.CohereChatResponse)
    assert v1.text == "Echo: what"
    assert v1.finish_reason == "MAX_TOKENS"
    assert [m.role for m in v1.chat_history] == ["USER", "USER", "CHATBOT"]

    v2 = sdk.chat(
        M.ChatDetails(
            compartment_id=COMPARTMENT,
            serving_mode=M.OnDemandServingMode(model_id="cohere.command-a-vision"),
            chat_request=M.CohereChatRequestV2(
                messages=[M.CohereUserMessageV2(content=[M.CohereTextContentV2(text="yo")])]
            ),
        )
    ).data.chat_response
    assert isinstance(v2, M.CohereChatResponseV2)
    assert v2.message.content[0].text == "Echo: yo"
    assert v2.finish_reason == "COMPLETE" and v2.id


def test_dedicated_endpoint_serves_its_model(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    endpoint = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaatest"
    emu.add_dedicated_endpoint(endpoint, "xai.grok-4")
    payload = generic("hey")
    payload["servingMode"] = {"servingType": "DEDICATED", "endpointId": endpoint}
    response = post(http, signer, CHAT_PATH, payload)
    assert response.status_code == 200
    assert response.json()["modelId"] == "xai.grok-4"

    payload["servingMode"]["endpointId"] = endpoint + "x"
    assert_oci_error(post(http, signer, CHAT_PATH, payload), 404, "NotAuthorizedOrNotFound")


def test_unknown_model_is_404_not_authorized_or_not_found(emu: Emulator, sdk: GenerativeAiInferenceClient) -> None:
    with pytest.raises(oci.exceptions.ServiceError) as caught:
        sdk.chat(
            M.ChatDetails(
                compartment_id=COMPARTMENT,
                serving_mode=M.OnDemandServingMode(model_id="meta.llama-9-imaginary"),
                chat_request=M.GenericChatRequest(messages=[M.UserMessage(content=[M.TextContent(text="hi")])]),
            )
        )
    assert caught.value.status == 404
    assert caught.value.code == "NotAuthorizedOrNotFound"


# ------------------------------------------------------------------------------------------------
# Embeddings


@pytest.mark.parametrize(
    ("model", "extra", "dims"),
    [
        ("cohere.embed-v4.0", {}, 1536),
        ("cohere.embed-v4.0", {"outputDimensions": 256}, 256),
        ("cohere.embed-v4.0", {"outputDimensions": 1024}, 1024),
        ("cohere.embed-v4.0", {"outputDimensions": 512}, 512),
    ],
)
def test_embed_dimensions(emu: Emulator, http: httpx.Client, signer: Any, model: str, extra: dict, dims: int) -> None:
    response = post(http, signer, EMBED_PATH, embed(["hello world", "bye"], model, **extra))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["modelId"] == model and body["id"]
    assert [len(v) for v in body["embeddings"]] == [dims, dims]
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, abs_tol=1e-6) for v in body["embeddings"])
    assert body["usage"] == {"promptTokens": 3, "totalTokens": 3, "completionTokens": 0}


# Numbers copied from a captured cohere.embed-v4.0 answer (not gzipped): float32 values in Java's Float.toString form.
CAPTURED_OCI_NUMBERS = ("0.009473139", "-0.010914704", "-8.4949343E-4", "5.4635193E-6", "0.0125664985", "0.16035691",
                        "-1.3461038E-4", "1.521741E-5", "6.4355566E-4", "-4.0758523E-4", "8.419853E-5", "4.2099266E-5",
                        "-0.0010425601", "-0.092809305", "0.0102968905")


def test_vector_numbers_are_written_as_oci_writes_them() -> None:
    import numpy as np

    from local.emulator.vectors import java_float_array

    values = np.array([float(t) for t in CAPTURED_OCI_NUMBERS], dtype=np.float32)
    assert java_float_array(values).decode() == "[" + ",".join(CAPTURED_OCI_NUMBERS) + "]"
    edges = np.array([0.001, 9.9999e-4, 1e7, 1234567.0, 0.0, -0.0, 1e-10], dtype=np.float32)
    assert java_float_array(edges) == b"[0.001,9.9999E-4,1.0E7,1234567.0,0.0,-0.0,1.0E-10]"


def test_embed_answer_carries_float32_text_and_precomputed_mode(emu: Emulator, http: httpx.Client,
                                                                signer: Any) -> None:
    import numpy as np

    from local.emulator.genai import embedding_vector
    from local.emulator.vectors import java_float_array

    raw = post(http, signer, EMBED_PATH, embed(["hello world"])).content
    assert raw.startswith(b'{"id":"') and b'"embeddings":[[' in raw and b"E-" in raw
    (vector,) = json.loads(raw)["embeddings"]
    assert vector == embedding_vector("cohere.embed-v4.0", "hello world", 1536)
    text = raw[raw.index(b"[[") + 1:raw.index(b"]]") + 1]
    assert java_float_array(np.array(vector, dtype=np.float32)) == text  # float32 values, shortest digits
    emu.precomputed_embeddings = True
    pooled = post(http, signer, EMBED_PATH, embed(["hello world", "hello world", "other"])).json()["embeddings"]
    assert pooled[0] == pooled[1] != vector and len(pooled[2]) == 1536
    assert math.isclose(math.fsum(x * x for x in pooled[2]), 1.0, abs_tol=1e-6)
    emu.reset()
    assert post(http, signer, EMBED_PATH, embed(["hello world"])).json()["embeddings"] == [vector]


def test_base64_embeddings_are_the_floats_little_endian_float32_bytes(emu: Emulator, http: httpx.Client,
                                                                      signer: Any) -> None:
    import base64

    import numpy as np

    body = {**embed(["hello world", "other"]), "embeddingTypes": ["base64"]}
    answer = post(http, signer, EMBED_PATH, body).json()
    strings = answer["embeddingsByType"]["base64"]
    assert len(strings) == 2 and len(answer["embeddings"]) == 2  # the floats come too (the SDK requires them)
    for text, vector in zip(strings, answer["embeddings"]):
        assert np.array_equal(np.frombuffer(base64.b64decode(text), dtype="<f4"), np.asarray(vector, dtype=np.float32))


def test_embeddings_are_deterministic_per_text(emu: Emulator, sdk: GenerativeAiInferenceClient) -> None:
    details = M.EmbedTextDetails(
        inputs=["same", "other", "same"],
        serving_mode=M.OnDemandServingMode(model_id="cohere.embed-v4.0"),
        compartment_id=COMPARTMENT,
        truncate="END",
        input_type="SEARCH_DOCUMENT",
    )
    result = sdk.embed_text(details).data
    assert isinstance(result, M.EmbedTextResult)
    first, other, again = result.embeddings
    assert first == again
    assert first != other


def test_embed_limits(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    assert post(http, signer, EMBED_PATH, embed(["x"] * 96)).status_code == 200
    message = assert_oci_error(post(http, signer, EMBED_PATH, embed(["x"] * 97)), 400, "400")
    assert "96" in message
    endpoint = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaaembedv3"
    emu.add_dedicated_endpoint(endpoint, "cohere.embed-english-v3.0")  # a dedicated cluster outlives on-demand
    fixed = embed(["x"], outputDimensions=256)
    fixed["servingMode"] = {"servingType": "DEDICATED", "endpointId": endpoint}
    message = assert_oci_error(post(http, signer, EMBED_PATH, fixed), 400, "400")
    assert "outputDimensions" in message
    assert_oci_error(post(http, signer, EMBED_PATH, embed(["x"], outputDimensions=300)), 400, "400")


# ------------------------------------------------------------------------------------------------
# Signature verification


def test_wrong_key_is_401(emu: Emulator, http: httpx.Client, other_key: rsa.RSAPrivateKey) -> None:
    impostor = oci.signer.Signer(TENANCY, USER, FINGERPRINT, None, private_key_content=_pem(other_key))
    response = post(http, impostor, CHAT_PATH, generic())
    assert assert_oci_error(response, 401, "NotAuthenticated") == AUTH_MESSAGE
    assert not emu.requests[-1].verified
    assert emu.requests[-1].verify_reason == "signature does not match"


def test_body_hash_mismatch_is_401(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = json.dumps(generic("aaaa")).encode()
    tampered = body.replace(b"aaaa", b"bbbb")
    assert_oci_error(post(http, signer, CHAT_PATH, body, send_body=tampered), 401, "NotAuthenticated")
    assert emu.requests[-1].verify_reason == "x-content-sha256 does not match the body"


def test_stale_date_is_401(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    stale = email.utils.formatdate(time.time() - 600, usegmt=True)
    assert_oci_error(post(http, signer, CHAT_PATH, generic(), headers={"date": stale}), 401, "NotAuthenticated")
    assert "5 minutes" in emu.requests[-1].verify_reason


def test_missing_authorization_is_401(emu: Emulator, http: httpx.Client) -> None:
    assert_oci_error(http.post(CHAT_PATH, json=generic()), 401, "NotAuthenticated")


def test_post_without_signed_body_headers_is_401(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = json.dumps(generic()).encode()
    headers = sign(signer, "POST", f"{http.base_url}{CHAT_PATH}", body, enforce=False)
    assert_oci_error(http.post(CHAT_PATH, content=body, headers=headers), 401, "NotAuthenticated")
    assert "x-content-sha256" in emu.requests[-1].verify_reason


def test_unknown_key_id_is_401(emu: Emulator, http: httpx.Client, private_key: rsa.RSAPrivateKey) -> None:
    stranger = oci.signer.Signer(
        TENANCY, "ocid1.user.oc1..other", FINGERPRINT, None, private_key_content=_pem(private_key)
    )
    assert_oci_error(post(http, stranger, CHAT_PATH, generic()), 401, "NotAuthenticated")
    assert "unknown keyId" in emu.requests[-1].verify_reason


def test_security_token_key_id_is_accepted_and_kept_out_of_reprs(
    emu: Emulator, http: httpx.Client, private_key: rsa.RSAPrivateKey
) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2VjcmV0LXRva2Vu"
    emu.add_key(f"ST${token}", private_key.public_key())
    token_signer = oci.auth.signers.SecurityTokenSigner(token, private_key)
    response = post(http, token_signer, CHAT_PATH, generic())
    assert response.status_code == 200, response.text
    recorded = emu.requests[-1]
    assert recorded.key_id == f"ST${token}"
    assert token not in repr(recorded)
    assert token not in json.dumps(http.get("/_emulator/requests").json())


def test_verification_can_be_switched_off(emu: Emulator, http: httpx.Client) -> None:
    emu.verify_signatures = False
    assert http.post(CHAT_PATH, json=generic()).status_code == 200


def test_verifier_checks_query_in_request_target(signer: Any, private_key: rsa.RSAPrivateKey) -> None:
    """Pure verifier: ``(request-target)`` covers the query string exactly as sent."""
    keys = KeyStore()
    keys.add(KEY_ID, _public_pem(private_key))
    headers = {k.lower(): v for k, v in sign(signer, "GET", "http://h:1/n/ns/b/bk/o/x?fields=name", b"").items()}
    def check(target: str) -> Any:
        return verify_request(method="GET", target=target, headers=headers, body=b"", keys=keys, now=time.time())

    ok = check("/n/ns/b/bk/o/x?fields=name")
    assert ok.ok, ok.reason
    bad = check("/n/ns/b/bk/o/x?fields=size")
    assert not bad.ok


# ------------------------------------------------------------------------------------------------
# Rejections OCI makes


def _tool_conversation(tool_call_id: str) -> dict[str, Any]:
    payload = generic("weather?")
    payload["chatRequest"]["messages"] += [
        {"role": "ASSISTANT", "toolCalls": [{"id": "call_1", "type": "FUNCTION", "name": "w", "arguments": "{}"}]},
        {"role": "TOOL", "toolCallId": tool_call_id, "content": [{"type": "TEXT", "text": "21C"}]},
    ]
    return payload


def _with_tool_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return generic(tools=[{"type": "FUNCTION", "name": "f", "parameters": schema}])


def _edit(payload: dict[str, Any], fn: Any) -> dict[str, Any]:
    fn(payload)
    return payload


INVALID_SCHEMA = (
    '{"code":"Client specified an invalid argument","error":"Invalid request content: Invalid function schema."}'
)
CASES: list[tuple[str, Any, str]] = [
    ("invalid JSON", b'{"compartmentId": ', "Invalid JSON"),
    ("no compartmentId", _edit(generic(), lambda p: p.pop("compartmentId")), "compartmentId"),
    ("no servingMode", _edit(generic(), lambda p: p.pop("servingMode")), "servingMode"),
    ("no chatRequest", _edit(generic(), lambda p: p.pop("chatRequest")), "chatRequest"),
    ("no apiFormat", _edit(generic(), lambda p: p["chatRequest"].pop("apiFormat")), "apiFormat"),
    ("bad apiFormat", _edit(generic(), lambda p: p["chatRequest"].update(apiFormat="OPENAI")), "apiFormat"),
    ("bad servingType", _edit(generic(), lambda p: p["servingMode"].update(servingType="SPOT")), "servingType"),
    ("bad role", _edit(generic(), lambda p: p["chatRequest"]["messages"][0].update(role="user")), "role"),
    (
        "bad content type",
        _edit(generic(), lambda p: p["chatRequest"]["messages"][0]["content"][0].update(type="text")),
        "type",
    ),
    ("empty content", _edit(generic(), lambda p: p["chatRequest"]["messages"][0].update(content=[])), "content"),
    ("string content", _edit(generic(), lambda p: p["chatRequest"]["messages"][0].update(content="hi")), "content"),
    ("empty text", generic(""), "content"),
    ("snake_case image", _edit(generic(), lambda p: p["chatRequest"]["messages"][0]["content"].append(
        {"type": "IMAGE", "image_url": {"url": "data:image/png;base64,AAA"}})), "image_url"),
    (
        "tool id mismatch",
        _tool_conversation("call_9"),
        "Invalid parameter: 'toolCallId' of 'call_9' not found in 'toolCalls' of previous message.",
    ),
    ("$ref schema", _with_tool_schema({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}}}), INVALID_SCHEMA),
    ("$defs schema", _with_tool_schema({"type": "object", "$defs": {"A": {"type": "string"}}}), INVALID_SCHEMA),
    (
        "anyOf schema",
        _with_tool_schema({"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}),
        INVALID_SCHEMA,
    ),
    ("maxTokens string", generic(maxTokens="100"), "maxTokens"),
    ("temperature string", generic(temperature="hot"), "temperature"),
    ("isStream number", generic(isStream=1), "isStream"),
    ("snake_case key", generic(max_tokens=10), "max_tokens"),
    ("GENERIC to a Cohere model", generic(model="cohere.command-r-08-2024"), "does not match serving model"),
    ("chat with an embed model", generic(model="cohere.embed-v4.0"), "chat"),
    (
        "COHERE without message",
        {
            "compartmentId": COMPARTMENT,
            "servingMode": {"servingType": "ON_DEMAND", "modelId": "cohere.command-r-08-2024"},
            "chatRequest": {"apiFormat": "COHERE", "chatHistory": []},
        },
        "message",
    ),
    (
        "COHERE with GENERIC keys",
        {
            "compartmentId": COMPARTMENT,
            "servingMode": {"servingType": "ON_DEMAND", "modelId": "cohere.command-r-08-2024"},
            "chatRequest": {"apiFormat": "COHERE", "message": "hi", "stop": ["x"]},
        },
        "stop",
    ),
    (
        "COHEREV2 tool id mismatch",
        {
            "compartmentId": COMPARTMENT,
            "servingMode": {"servingType": "ON_DEMAND", "modelId": "cohere.command-a-03-2025"},
            "chatRequest": {
                "apiFormat": "COHEREV2",
                "messages": [
                    {"role": "USER", "content": [{"type": "TEXT", "text": "hi"}]},
                    {"role": "TOOL", "toolCallId": "c1", "content": [{"type": "TEXT", "text": "{}"}]},
                ],
            },
        },
        "toolCallId",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_rejected_bodies_get_oci_400(
    emu: Emulator, http: httpx.Client, signer: Any, payload: Any, expected: str
) -> None:
    message = assert_oci_error(post(http, signer, CHAT_PATH, payload), 400, "400")
    assert expected in message


def test_invalid_function_schema_message_is_itself_json(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    response = post(http, signer, CHAT_PATH, _with_tool_schema({"anyOf": []}))
    inner = json.loads(assert_oci_error(response, 400, "400"))
    assert inner == {
        "code": "Client specified an invalid argument",
        "error": "Invalid request content: Invalid function schema.",
    }


def test_parallel_tool_results_pair_with_the_assistant_turn(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    payload = generic("weather in two cities?")
    payload["chatRequest"]["messages"] += [
        {
            "role": "ASSISTANT",
            "toolCalls": [
                {"id": "a", "type": "FUNCTION", "name": "w", "arguments": "{}"},
                {"id": "b", "type": "FUNCTION", "name": "w", "arguments": "{}"},
            ],
        },
        {"role": "TOOL", "toolCallId": "a", "content": [{"type": "TEXT", "text": "sunny"}]},
        {"role": "TOOL", "toolCallId": "b", "content": [{"type": "TEXT", "text": "rainy"}]},
    ]
    response = post(http, signer, CHAT_PATH, payload)
    assert response.status_code == 200, response.text
    # Every trailing tool result is answered, in order.
    assert response.json()["chatResponse"]["choices"][0]["message"]["content"][0]["text"] == "Echo: sunny rainy"


# ------------------------------------------------------------------------------------------------
# Faults, latency, recording


def test_injected_429_with_retry_after_then_recovers(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    emu.inject(429, times=2, retry_after="1", path_contains="/actions/chat")
    assert post(http, signer, EMBED_PATH, embed(["x"])).status_code == 200  # path filter
    for _ in range(2):
        response = post(http, signer, CHAT_PATH, generic())
        assert_oci_error(response, 429, "TooManyRequests")
        assert response.headers["retry-after"] == "1"
    assert post(http, signer, CHAT_PATH, generic()).status_code == 200
    assert [r.fault for r in emu.requests] == [None, 429, 429, None]


def test_injected_500_and_custom_body(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    emu.inject(500)
    emu.inject(503, body={"code": "Custom", "message": "down"})
    assert_oci_error(post(http, signer, CHAT_PATH, generic()), 500, "InternalServerError")
    assert assert_oci_error(post(http, signer, CHAT_PATH, generic()), 503, "Custom") == "down"


def test_faults_do_not_bypass_authentication(emu: Emulator, http: httpx.Client) -> None:
    emu.inject(429)
    assert_oci_error(http.post(CHAT_PATH, json=generic()), 401, "NotAuthenticated")
    assert emu.faults.to_json()["queue"][0]["times"] == 1  # not consumed by the rejected request


def test_probability_mode_is_seeded() -> None:
    def sequence(seed: int) -> list[int | None]:
        plan = FaultPlan()
        plan.inject_random({429: 0.2, 500: 0.05}, seed=seed)
        return [getattr(plan.next_fault("/x"), "status", None) for _ in range(400)]

    first = sequence(1)
    assert first == sequence(1)
    assert first != sequence(2)
    assert 40 <= first.count(429) <= 130 and 2 <= first.count(500) <= 45


def test_probability_mode_over_http(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    emu.inject_random({503: 1.0}, seed=3, retry_after="2")
    response = post(http, signer, CHAT_PATH, generic())
    assert_oci_error(response, 503, "ServiceUnavailable")
    assert response.headers["retry-after"] == "2"
    emu.inject_random({})
    assert post(http, signer, CHAT_PATH, generic()).status_code == 200


def test_added_latency_delays_the_answer(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    emu.latency = 0.3
    started = time.monotonic()
    assert post(http, signer, CHAT_PATH, generic()).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_object_storage_can_answer_at_its_own_latency(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    emu.latency, emu.storage_latency = 0.4, 0.0
    store = emu.objectstorage
    store.create_bucket("fast")
    url = f"{http.base_url}/n/{store.namespace}/b/fast/o/a.txt"
    started = time.monotonic()
    assert http.get(url, headers=sign(signer, "GET", url, b"")).status_code == 404
    assert time.monotonic() - started < 0.3  # Object Storage at its own (zero) latency
    started = time.monotonic()
    assert post(http, signer, CHAT_PATH, generic()).status_code == 200
    assert time.monotonic() - started >= 0.4  # Generative AI still at ``latency``
    emu.reset()
    assert emu.storage_latency is None and emu.latency_of(f"/n/{store.namespace}/b/fast/o/a.txt") == 0.0
    shown = http.post("/_emulator/latency", json={"seconds": 0.3, "storageSeconds": 0.05}).json()
    assert (shown["seconds"], shown["storageSeconds"]) == (0.3, 0.05)
    assert emu.latency_of(f"/n/{store.namespace}/b/fast/o/a.txt") == 0.05 and emu.latency_of(CHAT_PATH) == 0.3
    assert http.post("/_emulator/latency", json={"storageSeconds": None}).json()["storageSeconds"] is None
    assert emu.latency_of(f"/n/{store.namespace}/b/fast/o/a.txt") == 0.3
    assert http.post("/_emulator/latency", json={"storageSeconds": "soon"}).status_code == 400


def test_slow_body_sends_headers_then_stalls(emu: Emulator, server: RunningEmulator, signer: Any) -> None:
    emu.slow_body = 2.0
    body = json.dumps(generic()).encode()
    headers = sign(signer, "POST", f"{server.url}{CHAT_PATH}", body)
    timeout = httpx.Timeout(10, read=0.3)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=timeout) as client:
        with client.stream("POST", CHAT_PATH, content=body, headers=headers) as response:
            assert response.status_code == 200
            with pytest.raises(httpx.ReadTimeout):
                response.read()


def test_requests_are_recorded(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    payload = generic("record me")
    post(http, signer, CHAT_PATH, payload, headers={"opc-request-id": "RID1"})
    recorded = emu.requests[-1]
    assert (recorded.method, recorded.path, recorded.route) == ("POST", CHAT_PATH, "genai.chat")
    assert recorded.json == payload
    assert recorded.headers["opc-request-id"] == "RID1"
    assert recorded.verified and recorded.status == 200
    signature = recorded.headers["authorization"].split('signature="')[1]
    assert signature not in repr(recorded)


def test_unknown_path_and_wrong_method(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    assert_oci_error(post(http, signer, "/20231130/actions/nothing", {}), 404, "NotAuthorizedOrNotFound")
    headers = sign(signer, "GET", f"{http.base_url}{CHAT_PATH}", b"")
    assert http.get(CHAT_PATH, headers=headers).status_code == 405


# ------------------------------------------------------------------------------------------------
# HTTP control endpoints (a separate process drives the emulator this way)


def test_a_latency_that_includes_the_work_does_the_work_first_then_waits_out_the_rest(
    emu: Emulator, http: httpx.Client, signer: Any
) -> None:
    """``includesWork``: the answer comes ``seconds`` after the request arrived, so the work (here a PUT's write)
    is done at once and the wait is what is left; by default the wait comes first."""
    import threading
    import time

    turned_on = http.post("/_emulator/latency", json={"seconds": 2.0, "includesWork": True}).json()
    assert turned_on["includesWork"] is True and emu.latency_includes_work
    store = emu.objectstorage
    store.create_bucket("lat")
    ns = store.namespace
    url = f"{http.base_url}/n/{ns}/b/lat/o/first.txt"
    answers: list[int] = []
    body = b"written before the wait"
    headers = sign(signer, "PUT", url, body, {"content-type": "text/plain"}, enforce=False)
    put = threading.Thread(target=lambda: answers.append(
        http.put(f"/n/{ns}/b/lat/o/first.txt", content=body, headers=headers).status_code))
    put.start()
    deadline = time.monotonic() + 1.5
    while store.get("lat", "first.txt") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.get("lat", "first.txt") is not None and put.is_alive()  # written, the answer still waiting
    put.join(10)
    assert answers == [200]

    assert http.post("/_emulator/latency", json={"includesWork": "yes"}).status_code == 400
    assert http.post("/_emulator/reset").status_code == 200
    assert http.get("/_emulator/latency").json()["includesWork"] is False


def test_control_endpoints(
    emu: Emulator, http: httpx.Client, signer: Any, other_key: rsa.RSAPrivateKey
) -> None:
    assert http.get("/_emulator/health").json()["ok"] is True

    assert http.post("/_emulator/faults", json={"status": 429, "times": 1, "retryAfter": "5"}).status_code == 200
    response = post(http, signer, CHAT_PATH, generic())
    assert response.status_code == 429 and response.headers["retry-after"] == "5"

    assert http.post("/_emulator/latency", json={"seconds": 0.05}).json()["seconds"] == 0.05
    assert emu.latency == 0.05

    listed = http.get("/_emulator/requests").json()
    assert listed[-1]["path"] == CHAT_PATH and listed[-1]["status"] == 429
    assert listed[-1]["headers"]["authorization"] == "<redacted>"

    assert http.post("/_emulator/reset").status_code == 200
    assert http.get("/_emulator/requests").json() == [] and emu.latency == 0

    other_id = f"{TENANCY}/{USER}/{':'.join(['cd'] * 16)}"
    key_body = {"keyId": other_id, "publicKeyPem": _public_pem(other_key)}
    assert http.post("/_emulator/keys", json=key_body).status_code == 200
    other_signer = oci.signer.Signer(TENANCY, USER, ":".join(["cd"] * 16), None, private_key_content=_pem(other_key))
    assert post(http, other_signer, CHAT_PATH, generic()).status_code == 200

    endpoint = "ocid1.generativeaiendpoint.oc1..control"
    endpoint_body = {"endpointId": endpoint, "modelId": LLAMA}
    assert http.post("/_emulator/dedicated-endpoints", json=endpoint_body).status_code == 200
    payload = generic()
    payload["servingMode"] = {"servingType": "DEDICATED", "endpointId": endpoint}
    assert post(http, signer, CHAT_PATH, payload).json()["modelId"] == LLAMA

    assert http.post("/_emulator/models", json={"modelId": "acme.new-model", "kind": "chat"}).status_code == 200
    assert post(http, signer, CHAT_PATH, generic(model="acme.new-model")).status_code == 200

    assert http.post("/_emulator/faults/random", json={"probabilities": {"500": 1.0}, "seed": 1}).status_code == 200
    assert post(http, signer, CHAT_PATH, generic()).status_code == 500
    assert http.delete("/_emulator/faults").status_code == 200
    assert post(http, signer, CHAT_PATH, generic()).status_code == 200

    assert_oci_error(http.post("/_emulator/faults", json={"times": 1}), 400, "400")


def test_standalone_process(tmp_path: Path, private_key: rsa.RSAPrivateKey, signer: Any) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(_public_pem(private_key))
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "local.emulator", "--port", "0", "--public-key-file", str(key_file), "--key-id", KEY_ID],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://\S+", line).group(0)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
            for _ in range(200):  # the URL is printed just before uvicorn starts accepting
                try:
                    client.get("/_emulator/health")
                    break
                except httpx.ConnectError:
                    time.sleep(0.02)
            assert post(client, signer, CHAT_PATH, generic("from afar")).json()["chatResponse"]["choices"][0][
                "message"
            ]["content"][0]["text"] == "Echo: from afar"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_in_thread_stops_cleanly(private_key: rsa.RSAPrivateKey) -> None:
    running = serve_in_thread(Emulator(verify_signatures=False))
    with httpx.Client(trust_env=False) as client:
        assert client.get(f"{running.url}/_emulator/health").status_code == 200
        running.stop()
        with pytest.raises(httpx.ConnectError):
            client.get(f"{running.url}/_emulator/health")


# ------------------------------------------------------------------------------------------------
# The deterministic model itself


def test_complete_rules() -> None:
    assert complete("a b c", stop=None, max_tokens=None).text == "Echo: a b c"
    assert complete("a  b c", stop=None, max_tokens=2).text == "Echo: a"  # original spacing kept
    assert complete("a b c", stop=["c", "b"], max_tokens=None).text == "Echo: a "
    assert complete("hello", stop=["o"], max_tokens=None).text == "Echo: hell"  # not cut inside "Echo"
    assert complete("a b", stop=["zz"], max_tokens=10).reason == "stop"


# ------------------------------------------------------------------------------------------------
# Tool calls, reasoning, JSON output, images, n, logprobs (responses checked by the SDK round trip)

WEATHER = {
    "type": "FUNCTION",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "hourly": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]},
            "note": {"type": "string"},
        },
        "required": ["city", "unit", "days", "hourly", "tags", "where"],
    },
}
TIME = {"type": "FUNCTION", "name": "get_time", "parameters": {"type": "object", "properties": {}}}


def chat_ok(http: httpx.Client, signer: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """POST a chat, require 200, and prove the body is exactly an SDK ``ChatResult``."""
    response = post(http, signer, CHAT_PATH, payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert sdk_model(body, "ChatResult").chat_response.api_format == body["chatResponse"]["apiFormat"]
    # The SDK re-renders timeCreated with microseconds, so the exact-shape round trip leaves it out.
    untimed = json.loads(json.dumps(body))
    untimed["chatResponse"].pop("timeCreated", None)
    assert_sdk_roundtrip(untimed, "ChatResult")
    return body


def first_message(body: dict[str, Any]) -> dict[str, Any]:
    return body["chatResponse"]["choices"][0]["message"]


def test_generic_tool_call_synthesizes_arguments_from_the_schema(
    emu: Emulator, http: httpx.Client, signer: Any
) -> None:
    body = chat_ok(http, signer, generic("What's the weather in Paris?", tools=[WEATHER, TIME]))
    choice = body["chatResponse"]["choices"][0]
    assert choice["finishReason"] == "tool_calls"
    assert "content" not in choice["message"]
    [call] = choice["message"]["toolCalls"]
    assert re.fullmatch(r"chatcmpl-tool-[0-9a-f]+", call["id"])
    assert (call["type"], call["name"]) == ("FUNCTION", "get_weather")  # the first tool by default
    assert json.loads(call["arguments"]) == {
        "city": "Paris",  # the last word of the user text
        "unit": "celsius",  # the first enum value
        "days": 1,
        "hourly": True,
        "tags": [],
        "where": {"lat": 1},  # nested required properties too; optional "note" left out
    }
    model = sdk_model(body, "ChatResult")
    assert isinstance(model.chat_response.choices[0].message.tool_calls[0], M.FunctionCall)


def test_call_directives_make_parallel_calls_in_order(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    text = 'call:get_time call:get_weather{"city": "Oslo", "unit": "fahrenheit"} call:unknown_tool'
    calls = first_message(chat_ok(http, signer, generic(text, tools=[WEATHER, TIME])))["toolCalls"]
    assert [c["name"] for c in calls] == ["get_time", "get_weather"]
    assert json.loads(calls[0]["arguments"]) == {}
    assert json.loads(calls[1]["arguments"]) == {"city": "Oslo", "unit": "fahrenheit"}  # inline JSON wins
    assert len({c["id"] for c in calls}) == 2

    single = generic(text, tools=[WEATHER, TIME], isParallelToolCalls=False)
    assert [c["name"] for c in first_message(chat_ok(http, signer, single))["toolCalls"]] == ["get_time"]


@pytest.mark.parametrize(
    ("text", "choice", "expected"),
    [
        ("call:get_time", {"type": "NONE"}, None),
        ("call:get_time", {"type": "FUNCTION", "name": "get_weather"}, ["get_weather"]),
        ("hello call:none", {"type": "AUTO"}, None),
        ("hello call:none", {"type": "REQUIRED"}, ["get_weather"]),
        ("hello", {"type": "REQUIRED"}, ["get_weather"]),
    ],
)
def test_generic_tool_choice(
    emu: Emulator, http: httpx.Client, signer: Any, text: str, choice: dict, expected: list[str] | None
) -> None:
    message = first_message(chat_ok(http, signer, generic(text, tools=[WEATHER, TIME], toolChoice=choice)))
    if expected is None:
        assert message["toolCalls"] == [] and message["content"][0]["text"] == f"Echo: {text}"
    else:
        assert [c["name"] for c in message["toolCalls"]] == expected


def test_generic_tool_result_turn_answers_text(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    first = chat_ok(http, signer, generic("weather in Rome", tools=[WEATHER]))
    call = first_message(first)["toolCalls"][0]
    payload = generic("weather in Rome", tools=[WEATHER])
    payload["chatRequest"]["messages"] += [
        {"role": "ASSISTANT", "toolCalls": [call]},
        {"role": "TOOL", "toolCallId": call["id"], "content": [{"type": "TEXT", "text": "21C and sunny"}]},
    ]
    body = chat_ok(http, signer, payload)
    choice = body["chatResponse"]["choices"][0]
    assert choice["message"]["content"][0]["text"] == "Echo: 21C and sunny"
    assert choice["message"]["toolCalls"] == [] and choice["finishReason"] == "stop"


def test_gemini_tool_calls_have_no_id(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = chat_ok(http, signer, generic("call:get_time call:get_weather", model="google.gemini-2.5-flash",
                                         tools=[WEATHER, TIME]))
    calls = first_message(body)["toolCalls"]
    assert [c["name"] for c in calls] == ["get_time", "get_weather"]
    assert all("id" not in c for c in calls)


def test_num_generations_with_tool_calls_have_distinct_ids(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = chat_ok(http, signer, generic("call:get_time call:get_time", tools=[TIME], numGenerations=2))
    ids = [c["id"] for choice in body["chatResponse"]["choices"] for c in choice["message"]["toolCalls"]]
    assert len(ids) == 4 and len(set(ids)) == 4


def cohere_v1(message: str, **chat: Any) -> dict[str, Any]:
    return {
        "compartmentId": COMPARTMENT,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": "cohere.command-r-plus-08-2024"},
        "chatRequest": {"apiFormat": "COHERE", "message": message, **chat},
    }


COHERE_WEATHER = {
    "name": "get_weather",
    "description": "Weather",
    "parameterDefinitions": {
        "city": {"type": "str", "description": "City", "isRequired": True},
        "days": {"type": "int", "isRequired": True},
        "verbose": {"type": "bool"},
    },
}
COHERE_TIME = {"name": "get_time", "description": "Time", "parameterDefinitions": {}}


def test_cohere_v1_tool_calls_then_results(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = chat_ok(http, signer, cohere_v1("weather in Tokyo call:get_weather call:get_time",
                                           tools=[COHERE_WEATHER, COHERE_TIME]))
    chat = body["chatResponse"]
    expected_calls = [{"name": "get_weather", "parameters": {"city": "Tokyo", "days": 1}},
                      {"name": "get_time", "parameters": {}}]
    assert chat["toolCalls"] == expected_calls  # no ids, parameters as objects
    assert chat["finishReason"] == "COMPLETE"  # Cohere says COMPLETE even when calling tools
    assert chat["text"] == "I will call get_weather, get_time."
    assert chat["chatHistory"][-1] == {"role": "CHATBOT", "message": chat["text"], "toolCalls": expected_calls}

    results = [{"call": expected_calls[0], "outputs": [{"output": "rain"}]},
               {"call": expected_calls[1], "outputs": [{"hour": 9}]}]
    answer = chat_ok(http, signer, cohere_v1("weather in Tokyo", tools=[COHERE_WEATHER], toolResults=results))
    assert answer["chatResponse"]["text"] == 'Echo: rain {"hour":9}'
    assert "toolCalls" not in answer["chatResponse"]

    history = [{"role": "USER", "message": "weather?"},
               {"role": "CHATBOT", "message": "", "toolCalls": expected_calls[:1]},
               {"role": "TOOL", "toolResults": results[:1]}]
    answer = chat_ok(http, signer, cohere_v1("", tools=[COHERE_WEATHER], chatHistory=history))
    assert answer["chatResponse"]["text"] == "Echo: rain"


def cohere_v2(messages: list[dict[str, Any]], model: str = "cohere.command-a-03-2025", **chat: Any) -> dict[str, Any]:
    return {
        "compartmentId": COMPARTMENT,
        "servingMode": {"servingType": "ON_DEMAND", "modelId": model},
        "chatRequest": {"apiFormat": "COHEREV2", "messages": messages, **chat},
    }


def user_v2(text: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {"role": "USER", "content": [{"type": "TEXT", "text": text}, *extra]}


V2_TOOLS = [
    {"type": "FUNCTION", "function": {"name": "get_weather", "description": "w", "parameters": WEATHER["parameters"]}},
    {"type": "FUNCTION", "function": {"name": "get_time", "description": "t", "parameters": {"type": "object"}}},
]


def test_cohere_v2_tool_calls_tools_choice_and_results(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = chat_ok(http, signer, cohere_v2([user_v2("call:get_time call:get_weather in Lima")], tools=V2_TOOLS))
    chat = body["chatResponse"]
    assert chat["finishReason"] == "TOOL_CALL"
    message = chat["message"]
    assert message["toolPlan"] == "I will call get_time, get_weather."
    assert [c["function"]["name"] for c in message["toolCalls"]] == ["get_time", "get_weather"]
    assert all(c["type"] == "FUNCTION" and c["id"] for c in message["toolCalls"])
    assert json.loads(message["toolCalls"][1]["function"]["arguments"])["city"] == "Lima"

    none = chat_ok(http, signer, cohere_v2([user_v2("call:get_time")], tools=V2_TOOLS, toolsChoice="NONE"))
    assert none["chatResponse"]["message"]["content"] == [{"type": "TEXT", "text": "Echo: call:get_time"}]
    required = chat_ok(http, signer, cohere_v2([user_v2("hi call:none")], tools=V2_TOOLS, toolsChoice="REQUIRED"))
    assert required["chatResponse"]["finishReason"] == "TOOL_CALL"

    call = message["toolCalls"][0]
    follow_up = [
        user_v2("call:get_time"),
        {"role": "ASSISTANT", "toolPlan": message["toolPlan"], "toolCalls": [call],
         "content": [{"type": "TEXT", "text": message["toolPlan"]}]},
        {"role": "TOOL", "toolCallId": call["id"], "content": [{"type": "TEXT", "text": "noon"}]},
    ]
    answer = chat_ok(http, signer, cohere_v2(follow_up, tools=V2_TOOLS))
    assert answer["chatResponse"]["message"]["content"] == [{"type": "TEXT", "text": "Echo: noon"}]
    assert answer["chatResponse"]["finishReason"] == "COMPLETE"


@pytest.mark.parametrize(
    ("model", "effort", "reasons"),
    [
        ("xai.grok-3-mini", "LOW", True),
        ("openai.gpt-oss-120b", "HIGH", True),
        ("google.gemini-2.5-pro", "MEDIUM", True),
        ("google.gemini-2.5-flash", "NONE", False),
        ("meta.llama-3.3-70b-instruct", "HIGH", False),  # not a reasoning model
    ],
)
def test_generic_reasoning(
    emu: Emulator, http: httpx.Client, signer: Any, model: str, effort: str, reasons: bool
) -> None:
    body = chat_ok(http, signer, generic("why is the sky blue", model=model, reasoningEffort=effort))
    message, usage = first_message(body), body["chatResponse"]["usage"]
    if reasons:
        assert message["reasoningContent"] == "Thinking about: why is the sky blue"
        assert usage["completionTokensDetails"]["reasoningTokens"] == 7
        # "Echo: why is the sky blue", plus the reasoning except on xAI (captured live: counted outside)
        assert usage["completionTokens"] == (6 if model.startswith("xai.") else 6 + 7)
        assert usage["totalTokens"] == usage["promptTokens"] + 6 + 7
    else:
        assert "reasoningContent" not in message
        assert usage.get("completionTokensDetails", {}).get("reasoningTokens", 0) == 0


def test_cohere_v2_thinking_part(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = chat_ok(http, signer, cohere_v2([user_v2("plan it")], model="cohere.command-a-reasoning",
                                           thinking={"type": "ENABLED", "tokenBudget": 100}))
    assert body["chatResponse"]["message"]["content"] == [
        {"type": "THINKING", "thinking": "Thinking about: plan it"},
        {"type": "TEXT", "text": "Echo: plan it"},
    ]
    assert body["chatResponse"]["usage"]["completionTokensDetails"]["reasoningTokens"] == 4


def test_json_response_formats(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    plain = chat_ok(http, signer, generic("list colors", responseFormat={"type": "JSON_OBJECT"}))
    assert json.loads(first_message(plain)["content"][0]["text"]) == {"echo": "list colors"}

    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                               "pets": {"type": "array"}, "x": {"type": "string"}},
              "required": ["name", "age", "pets"]}
    fmt = {"type": "JSON_SCHEMA", "jsonSchema": {"name": "person", "schema": schema, "isStrict": True}}
    structured = chat_ok(http, signer, generic("describe Ada", responseFormat=fmt))
    assert json.loads(first_message(structured)["content"][0]["text"]) == {"name": "Ada", "age": 1, "pets": []}

    v1 = chat_ok(http, signer, cohere_v1("describe Bob", responseFormat={"type": "JSON_OBJECT", "schema": schema}))
    assert json.loads(v1["chatResponse"]["text"]) == {"name": "Bob", "age": 1, "pets": []}


IMAGE = {"type": "IMAGE", "imageUrl": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "AUTO"}}


def test_images_for_vision_models_only(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    payload = generic("what is this", model="meta.llama-3.2-90b-vision-instruct")
    payload["chatRequest"]["messages"][0]["content"].append(IMAGE)
    assert first_message(chat_ok(http, signer, payload))["content"][0]["text"] == "Echo: what is this [image]"

    payload["servingMode"]["modelId"] = LLAMA
    message = assert_oci_error(post(http, signer, CHAT_PATH, payload), 400, "400")
    assert "image" in message and LLAMA in message

    v2_image = {"type": "IMAGE_URL", "imageUrl": {"url": "data:image/png;base64,AAA"}}
    vision = chat_ok(http, signer, cohere_v2([user_v2("and this", v2_image)], model="cohere.command-a-vision"))
    assert vision["chatResponse"]["message"]["content"][0]["text"] == "Echo: and this [image]"
    assert_oci_error(post(http, signer, CHAT_PATH, cohere_v2([user_v2("and this", v2_image)])), 400, "400")


def test_logprobs_in_oci_column_shape(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    body = chat_ok(http, signer, generic("alpha beta gamma", logProbs=2))
    logprobs = body["chatResponse"]["choices"][0]["logprobs"]
    text = first_message(body)["content"][0]["text"]
    assert "".join(logprobs["tokens"]) == text
    n = len(logprobs["tokens"])
    assert n == 4 and len(logprobs["tokenLogprobs"]) == n and len(logprobs["topLogprobs"]) == n
    assert logprobs["textOffset"] == [text.index(t) for t in logprobs["tokens"]]
    assert all(len(top) == 3 for top in logprobs["topLogprobs"])  # the token plus logProbs alternatives
    assert all(v < 0 for v in logprobs["tokenLogprobs"])
    sdk_logprobs = sdk_model(body, "ChatResult").chat_response.choices[0].logprobs
    assert isinstance(sdk_logprobs, M.Logprobs) and sdk_logprobs.tokens == logprobs["tokens"]

    without = chat_ok(http, signer, generic("alpha"))
    assert without["chatResponse"]["choices"][0]["logprobs"] == {}


def test_added_models_can_be_reasoning_and_multimodal(emu: Emulator, http: httpx.Client, signer: Any) -> None:
    spec = {"modelId": "acme.thinker", "kind": "chat", "reasoning": True, "multimodal": True}
    assert http.post("/_emulator/models", json=spec).status_code == 200
    payload = generic("look", model="acme.thinker", reasoningEffort="LOW")
    payload["chatRequest"]["messages"][0]["content"].append(IMAGE)
    message = first_message(chat_ok(http, signer, payload))
    assert message["reasoningContent"] == "Thinking about: look [image]"


def test_tool_scripting_rules() -> None:
    assert parse_directives('x call:a call:b{"k": [1]} call:c{bad') == [
        Directive("a"), Directive("b", {"k": [1]}), Directive("c")
    ]
    assert strip_directives('weather call:a{"k": 1} in  Paris?') == "weather in Paris?"
    assert pick_word("weather in Paris? call:get_weather") == "Paris"
    assert pick_word("call:x") == "x"
    assert synthesize({"type": ["string", "null"]}, "w") == "w"
    assert synthesize({"type": "object", "required": ["a"], "properties": {}}, "w") == {"a": {}}  # untyped -> {}
    schema = cohere_v1_schema({"a": {"type": "List[str]", "isRequired": True}, "b": {"type": "float"}})
    assert schema == {"type": "object", "properties": {"a": {"type": "array"}, "b": {"type": "number"}},
                      "required": ["a"]}
    tools = [ToolSpec("a", {}), ToolSpec("b", {})]
    assert [c.name for c in plan_calls(tools, ToolChoice(), "call:b call:a")] == ["b", "a"]
    assert plan_calls(tools, ToolChoice("function", "zzz"), "hi") == []
    assert plan_calls([], ToolChoice("required"), "hi") == []

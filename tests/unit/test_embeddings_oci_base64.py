"""OCI's own base64 embeddings: asked for beside the floats until a model's answer shows them identical to what
the gateway packs, then asked for alone and passed through; anything else keeps the packing.

The service tests answer through respx with every upstream body checked against the oci SDK's
``EmbedTextDetails``; the response is always compared with the floats decoded the openai SDK's way.
"""

from __future__ import annotations

import base64
import json
import logging
import struct

import httpx
import pytest
import respx

from core.embeddings import oci_base64
from core.embeddings.oci_base64 import PACKED, PASSED, UNKNOWN
from core.embeddings.response import read_answer
from core.errors import APIError
from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch
from tests.conftest import GENAI
from tests.support.oci_sdk import assert_sdk_roundtrip
from tests.support.runtime import reset_settings

EMBED_URL = f"{GENAI}/actions/embedText"
FLOATS = [[0.009473139, -8.4949343e-4, 5.4635193e-6, 1.0], [0.25, -1.5, 3.0, -0.0]]
FLOAT_TEXT = "[[0.009473139,-8.4949343E-4,5.4635193E-6,1.0],[0.25,-1.5,3.0,-0.0]]"


def packed(vector: list[float], order: str = "<", kind: str = "f") -> str:
    return base64.b64encode(struct.pack(f"{order}{len(vector)}{kind}", *vector)).decode()


def answer_bytes(strings: object = None, floats: str | None = FLOAT_TEXT) -> bytes:
    by_type = "" if strings is None else ',"embeddingsByType":{"base64":%s}' % json.dumps(strings)
    embeddings = "" if floats is None else '"embeddings":%s,' % floats
    return ('{"id":"a/b/c",%s"modelId":"cohere.embed-v4.0"%s,'
            '"usage":{"promptTokens":4,"totalTokens":4,"completionTokens":0}}' % (embeddings, by_type)).encode()


def as_floats(encoded: bytes | memoryview) -> list[float]:
    raw = base64.b64decode(json.loads(bytes(encoded)))
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


# --- the pure steps ---------------------------------------------------------------------------------------------

def test_the_types_asked_follow_what_was_learned():
    assert oci_base64.embedding_types(UNKNOWN) == ["float", "base64"]
    assert oci_base64.embedding_types(PASSED) == ["base64"]
    assert oci_base64.embedding_types(PACKED) is None


@pytest.mark.parametrize("strings, finding", [
    (None, "no base64 embeddings in the answer"),
    ([packed(FLOATS[0])], "1 base64 embeddings for 2 inputs"),
    ([packed(FLOATS[0]), 7], "base64 embeddings that are not ASCII strings"),
    ([packed(FLOATS[0]), packed(FLOATS[1]).rstrip("=") + "@"], "base64 embeddings that are not padded standard base64"),
    ([packed(FLOATS[0]), "-" + packed(FLOATS[1])[1:]], "base64 embeddings that are not padded standard base64"),
    ([packed(FLOATS[0]), packed(FLOATS[1])[:-4] + "A==="], "base64 embeddings that are not padded standard base64"),
    ([packed(FLOATS[0]), base64.b64encode(b"12345").decode()], "a base64 embedding of 5 bytes (not whole float32 values)"),
    ([packed(v, ">") for v in FLOATS], "big-endian float32 values"),
    ([packed(v, "<", "d") for v in FLOATS], "8 bytes per value (float64?)"),
    ([packed(v, "<", "e") for v in FLOATS], "2 bytes per value (float16?)"),
    ([packed([x + 1 for x in v]) for v in FLOATS], "other 4-byte values than the floats in the same answer"),
    ([packed(FLOATS[0]), packed(FLOATS[1][:3])], "a base64 embedding of 12 bytes against 4 numbers"),
])
def test_strings_other_than_the_gateways_own_text_are_named_and_packed(strings, finding):
    read = read_answer(answer_bytes(strings), 2, "base64", UNKNOWN)
    assert (read.layout, read.finding) == (PACKED, finding)
    assert [as_floats(e) for e in read.encoded] == [list(struct.unpack("<4f", struct.pack("<4f", *v))) for v in FLOATS]


def test_the_same_bytes_in_other_base64_text_are_not_passed_through():
    ours = read_answer(answer_bytes(), 2, "base64").encoded
    # Whitespace inside the text decodes to the same bytes but is not the text a client would get from us.
    spaced = [json.loads(bytes(e))[:8] + "\n" + json.loads(bytes(e))[8:] for e in ours]
    assert oci_base64.compare(ours, spaced) == "base64 embeddings that are not padded standard base64"
    assert oci_base64._difference(b"\0\0\x80?", b"\0\0\x80?") == "the same bytes written as other base64 text"


def test_an_exact_match_teaches_pass_through_and_answers_the_same_text():
    ours = read_answer(answer_bytes(), 2, "base64")
    probe = read_answer(answer_bytes([json.loads(bytes(e)) for e in ours.encoded]), 2, "base64", UNKNOWN)
    assert (probe.layout, probe.finding) == (PASSED, "")
    assert [bytes(e) for e in probe.encoded] == [bytes(e) for e in ours.encoded]


def test_passed_through_strings_are_taken_without_reading_any_float():
    strings = [packed(v) for v in FLOATS]
    for floats in (None, "[]", FLOAT_TEXT):  # OCI leaving the floats out, empty, or sending them anyway
        read = read_answer(answer_bytes(strings, floats=floats), 2, "base64", PASSED)
        assert read.layout == PASSED and read.vectors is None
        assert read.encoded == [json.dumps(s).encode() for s in strings]
        assert read.dimensions == [4, 4] and (read.prompt_tokens, read.total_tokens) == (4, 4)


def test_passed_through_sizes_are_the_decoded_sizes():
    strings = [packed([0.5] * 1536), packed([0.25] * 1536)]
    assert read_answer(answer_bytes(strings, floats=None), 2, "base64", PASSED).dimensions == [1536, 1536]


def test_an_answer_without_the_strings_after_pass_through_falls_back_to_its_floats():
    read = read_answer(answer_bytes(None), 2, "base64", PASSED)
    assert (read.layout, read.finding) == (PACKED, "no base64 embeddings in the answer")
    assert [as_floats(e) for e in read.encoded] == [pytest.approx(v) for v in FLOATS]


def test_an_answer_with_neither_is_a_503():
    with pytest.raises(APIError) as caught:
        read_answer(answer_bytes(["AAAA"], floats=None), 2, "base64", PASSED)
    assert caught.value.status == 503 and "no embeddings for 2 inputs" in caught.value.message


# --- the service, through the router ------------------------------------------------------------------------------

def http(body: dict) -> Request:
    return Request(method="POST", path="/v1/embeddings", headers=Headers({"content-type": "application/json"}),
                   body=json.dumps(body).encode(), kind=HTTP, request_id="REQ1")


class FakeOCI:
    """embedText whose base64 strings are written by ``write`` (None: no strings); ``refuse`` answers 400 to
    any body with ``embeddingTypes``."""

    def __init__(self, write=packed, refuse: bool = False, floats_when_not_asked: bool = True) -> None:
        self.sent: list[dict] = []
        self.write = write
        self.refuse = refuse
        self.floats_when_not_asked = floats_when_not_asked

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert_sdk_roundtrip(body, "EmbedTextDetails")
        self.sent.append(body)
        types = body.get("embeddingTypes")
        if types and self.refuse:
            return httpx.Response(400, json={"code": "400", "message": "Invalid embeddingTypes."})
        vectors = [[len(text) / 8, -0.125, 3.0e-5] for text in body["inputs"]]
        answer: dict = {"id": "a/b/c", "modelId": "cohere.embed-v4.0", "modelVersion": "4.0",
                        "usage": {"promptTokens": 1, "totalTokens": 1, "completionTokens": 0}}
        if not types or "float" in types or self.floats_when_not_asked:
            answer["embeddings"] = vectors
        if types and "base64" in types and self.write is not None:
            answer["embeddingsByType"] = {"base64": [self.write(v) for v in vectors]}
        return httpx.Response(200, json=answer)


@pytest.fixture
def b64_env(gateway_env):
    for name in ("MODEL_ALIASES", "MODEL_ALIASES_FILE", "SERVED_MODELS", "EMBEDDINGS_OCI_BASE64"):
        gateway_env.delenv(name, raising=False)
    reset_settings()
    yield gateway_env
    reset_settings()


def mock(fake: FakeOCI):
    router = respx.mock(assert_all_called=False)
    router.post(EMBED_URL).mock(side_effect=fake)
    return router


async def embed(texts: list[str], encoding: str = "base64") -> tuple[int, dict]:
    response = await dispatch(http({"model": "cohere.embed-v4.0", "input": texts, "encoding_format": encoding}))
    return response.status, json.loads(response.body)


def decoded(body: dict) -> list[list[float]]:
    out = []
    for item in body["data"]:
        raw = base64.b64decode(item["embedding"])
        out.append(list(struct.unpack(f"<{len(raw) // 4}f", raw)))
    return out


def expected(texts: list[str]) -> list[list[float]]:
    return [list(struct.unpack("<3f", struct.pack("<3f", len(t) / 8, -0.125, 3.0e-5))) for t in texts]


@pytest.mark.parametrize("floats_when_not_asked", [True, False])
async def test_a_matching_model_is_asked_for_base64_alone_after_its_first_answer(b64_env, caplog,
                                                                                 floats_when_not_asked):
    fake = FakeOCI(floats_when_not_asked=floats_when_not_asked)
    with mock(fake), caplog.at_level(logging.INFO, logger="gateway"):
        first = await embed(["a", "bb"])
        second = await embed(["ccc", "dddd"])
        floats = await embed(["a"], "float")
    assert [b.get("embeddingTypes") for b in fake.sent] == [["float", "base64"], ["base64"], None]
    assert first[0] == second[0] == 200
    assert decoded(first[1]) == expected(["a", "bb"]) and decoded(second[1]) == expected(["ccc", "dddd"])
    assert floats[1]["data"][0]["embedding"] == [0.125, -0.125, 3.0e-5]
    found = [r for r in caplog.records if r.getMessage() == "oci_base64"]
    assert len(found) == 1 and found[0].levelno == logging.INFO


async def test_other_bytes_keep_the_packing_and_are_logged_once(b64_env, caplog):
    fake = FakeOCI(write=lambda v: packed(v, ">"))
    with mock(fake), caplog.at_level(logging.INFO, logger="gateway"):
        answers = [await embed(["a", "bb"]) for _ in range(3)]
    assert [b.get("embeddingTypes") for b in fake.sent] == [["float", "base64"], None, None]
    assert all(decoded(body) == expected(["a", "bb"]) for _, body in answers)
    found = [r for r in caplog.records if r.getMessage() == "oci_base64"]
    assert len(found) == 1 and found[0].levelno == logging.WARNING
    assert "big-endian float32 values" in found[0].fields["detail"]


async def test_an_answer_without_strings_keeps_the_packing(b64_env):
    fake = FakeOCI(write=None)
    with mock(fake):
        answers = [await embed(["a", "bb"]) for _ in range(2)]
    assert [b.get("embeddingTypes") for b in fake.sent] == [["float", "base64"], None]
    assert all(decoded(body) == expected(["a", "bb"]) for _, body in answers)


async def test_a_400_for_the_field_is_answered_without_it_and_not_asked_again(b64_env):
    fake = FakeOCI(refuse=True)
    with mock(fake):
        first = await embed(["a", "bb"])
        second = await embed(["ccc"])
    assert first[0] == 200 and decoded(first[1]) == expected(["a", "bb"])
    assert second[0] == 200 and decoded(second[1]) == expected(["ccc"])
    assert [b.get("embeddingTypes") for b in fake.sent] == [["float", "base64"], None, None]


async def test_a_400_for_the_request_itself_is_the_callers_and_teaches_nothing(b64_env):
    sent: list[dict] = []

    def always_400(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(400, json={"code": "400", "message": "Input too long for truncate NONE."})

    router = respx.mock(assert_all_called=False)
    router.post(EMBED_URL).mock(side_effect=always_400)
    with router:
        status, body = await embed(["a"])
        await embed(["a"])
    assert status == 400 and "Input too long" in body["error"]["message"]
    # Each request tried the field, then without it; the failure said nothing about OCI's base64.
    assert [b.get("embeddingTypes") for b in sent] == [["float", "base64"], None, ["float", "base64"], None]


async def test_off_never_asks_for_base64(b64_env):
    b64_env.setenv("EMBEDDINGS_OCI_BASE64", "off")
    reset_settings()
    fake = FakeOCI()
    with mock(fake):
        answers = [await embed(["a", "bb"]) for _ in range(2)]
    assert [b.get("embeddingTypes") for b in fake.sent] == [None, None]
    assert all(decoded(body) == expected(["a", "bb"]) for _, body in answers)


async def test_a_wrong_size_passed_through_vector_is_refused(b64_env):
    fake = FakeOCI()
    with mock(fake):
        await embed(["a"])  # learns pass-through
        fake.write = lambda v: packed(v + [1.0] if v[0] == 0.25 else v)
        status, body = await embed(["a", "bb"])
    assert fake.sent[-1]["embeddingTypes"] == ["base64"]
    assert status == 500 and body["error"]["code"] == "dimension_mismatch"


async def test_the_setting_is_checked(b64_env):
    b64_env.setenv("EMBEDDINGS_OCI_BASE64", "sometimes")
    reset_settings()
    status, body = await embed(["a"])
    assert status == 500 and "EMBEDDINGS_OCI_BASE64" in body["error"]["message"]

"""Model checks, the ≤96 batching plan, reassembly in order, base64 float32, and the bounded fan-out."""

from __future__ import annotations

import asyncio
import base64
import json
import struct

import pytest

from core.catalog import CATALOG
from core.embeddings.batching import run_concurrently
from core.embeddings.plan import EmbedOptions, Prepared, decode_inputs, embed_options, plan_batches
from core.embeddings.request import parse_embedding_request
from core.embeddings.response import assemble, encode_base64, read_answer
from core.errors import APIError
from tests.support.oci_sdk import assert_sdk_roundtrip

V4 = CATALOG["cohere.embed-v4.0"]
V3 = CATALOG["cohere.embed-english-v3.0"]
V3_IMAGE = CATALOG["cohere.embed-english-image-v3.0"]
PNG = "data:image/png;base64,iVBORw0KGgo="
MODE = {"servingType": "ON_DEMAND", "modelId": "cohere.embed-v4.0"}
COMPARTMENT = "ocid1.compartment.oc1..aaaa"


def request(model="cohere.embed-v4.0", **fields):
    return parse_embedding_request({"model": model, "input": "x", **fields})


def options(**kw):
    base = dict(input_type="SEARCH_DOCUMENT", truncate="END", output_dimensions=None, expected_dimensions=None)
    return EmbedOptions(**{**base, **kw})


# --- model checks ------------------------------------------------------------------------------


def test_defaults_come_from_catalog_and_setting():
    opts = embed_options(request(), V3, default_truncate="END", name="m")
    assert opts == options()


def test_request_options_win():
    opts = embed_options(request(input_type="clustering", truncate="none"), V3, default_truncate="END", name="m")
    assert (opts.input_type, opts.truncate) == ("CLUSTERING", "NONE")


@pytest.mark.parametrize("dims", [256, 512, 1024, 1536])
def test_dimensions_map_to_output_dimensions_on_v4(dims):
    opts = embed_options(request(dimensions=dims), V4, default_truncate="END", name="m")
    assert opts.output_dimensions == dims and opts.expected_dimensions == dims


def test_unsupported_size_on_v4_is_400_listing_sizes():
    with pytest.raises(APIError) as info:
        embed_options(request(dimensions=768), V4, default_truncate="END", name="cohere.embed-v4.0")
    assert info.value.param == "dimensions" and "256, 512, 1024, 1536" in info.value.message


def test_dimensions_on_fixed_size_model_is_400():
    with pytest.raises(APIError) as info:
        embed_options(request("cohere.embed-english-v3.0", dimensions=512), V3, default_truncate="END", name="x")
    assert info.value.status == 400 and info.value.param == "dimensions"
    assert info.value.code == "unsupported_dimensions"


def test_native_size_on_fixed_size_model_is_accepted_without_output_dimensions():
    opts = embed_options(request(dimensions=1024), V3, default_truncate="END", name="x")
    assert opts.output_dimensions is None and opts.expected_dimensions == 1024


def test_image_to_text_only_model_is_400_naming_the_input():
    req = parse_embedding_request({"model": "m", "input": ["text", PNG]})
    with pytest.raises(APIError) as info:
        embed_options(req, V3, default_truncate="END", name="cohere.embed-english-v3.0")
    assert info.value.param == "input[1]" and info.value.code == "image_input_not_supported"


def test_images_allowed_on_image_models():
    req = parse_embedding_request({"model": "m", "input": [PNG]})
    for info in (V4, V3_IMAGE):
        embed_options(req, info, default_truncate="END", name="m")


# --- decoding ------------------------------------------------------------------------------------


def test_token_inputs_decode_and_text_only_never_loads_tokenizer():
    calls = []

    class Table:
        def decode(self, ids, param):
            return "".join(chr(96 + i) for i in ids)

    def table(name):
        calls.append(name)
        return Table()

    assert decode_inputs(request(input=["a", PNG]), "cl100k_base", table) == [Prepared("a"), Prepared(PNG, True)]
    assert calls == []
    assert decode_inputs(request(input=[[1, 2], [3]]), "cl100k_base", table) == [Prepared("ab"), Prepared("c")]
    assert calls == ["cl100k_base"]


def test_token_ids_refused_when_encoding_is_none():
    with pytest.raises(APIError) as info:
        decode_inputs(request(input=[1, 2]), "none", lambda n: pytest.fail("loaded"))
    assert info.value.status == 400 and info.value.code == "token_ids_not_supported"


def test_real_decoding_with_cl100k():
    assert decode_inputs(request(input=[[9906, 11, 1917, 0]]), "cl100k_base") == [Prepared("Hello, world!")]


# --- batching plan -------------------------------------------------------------------------------


@pytest.mark.parametrize("count, sizes", [(1, [1]), (96, [96]), (97, [96, 1]), (1000, [96] * 10 + [40])])
def test_texts_split_into_calls_of_at_most_96(count, sizes):
    items = [Prepared(f"t{i}") for i in range(count)]
    batches = plan_batches(items, serving_mode=MODE, compartment_id=COMPARTMENT, options=options())
    assert [len(b.indices) for b in batches] == sizes
    assert [i for b in batches for i in b.indices] == list(range(count))
    assert [t for b in batches for t in b.body["inputs"]] == [f"t{i}" for i in range(count)]
    for batch in batches:
        assert_sdk_roundtrip(batch.body, "EmbedTextDetails")


def test_each_image_is_its_own_call_with_input_type_image():
    items = [Prepared("a"), Prepared(PNG, True), Prepared("b"), Prepared(PNG, True)]
    batches = plan_batches(items, serving_mode=MODE, compartment_id=COMPARTMENT, options=options(output_dimensions=512))
    assert sorted(b.indices for b in batches) == [(0, 2), (1,), (3,)]
    image = next(b for b in batches if b.indices == (1,))
    assert image.body == {"inputs": [PNG], "servingMode": MODE, "compartmentId": COMPARTMENT, "inputType": "IMAGE",
                          "outputDimensions": 512}
    text = next(b for b in batches if b.indices == (0, 2))
    assert text.body == {"inputs": ["a", "b"], "servingMode": MODE, "compartmentId": COMPARTMENT,
                         "inputType": "SEARCH_DOCUMENT", "truncate": "END", "outputDimensions": 512}
    for batch in batches:
        assert_sdk_roundtrip(batch.body, "EmbedTextDetails")


def test_dedicated_serving_mode_body_round_trips():
    dedicated = {"servingType": "DEDICATED", "endpointId": "ocid1.generativeaiendpoint.oc1.us-chicago-1.aaaa"}
    [batch] = plan_batches([Prepared("a")], serving_mode=dedicated, compartment_id=COMPARTMENT, options=options())
    model = assert_sdk_roundtrip(batch.body, "EmbedTextDetails")
    assert type(model.serving_mode).__name__ == "DedicatedServingMode"


# --- assembly ------------------------------------------------------------------------------------


def result(vectors, prompt=3):
    return {"id": "x", "embeddings": vectors, "modelId": "cohere.embed-v4.0",
            "usage": {"promptTokens": prompt, "totalTokens": prompt, "completionTokens": 0}}


def oci_bytes(vectors, prompt=3, *, numbers=None):
    """An embedText answer as OCI lays it out (compact, ``id`` first); ``numbers`` replaces the vectors' text."""
    text = numbers if numbers is not None else json.dumps(vectors, separators=(",", ":"))
    rest = json.dumps(result([], prompt), separators=(",", ":"))
    return rest.replace('"embeddings":[]', f'"embeddings":{text}').encode()


def answer(vectors, prompt=3):
    return read_answer(oci_bytes(vectors, prompt), len(vectors))


def assembled_json(batches, answers, **kw):
    out = assemble(batches, answers, **kw)
    return json.loads(out.content)


OCI_TEXT = "[[0.009473139,-8.4949343E-4,5.4635193E-6],[0.16035691,-0.0010425601,1.0E-10]]"


def test_vectors_pass_through_as_oci_wrote_them():
    [batch] = plan_batches([Prepared("a"), Prepared("b")], serving_mode=MODE, compartment_id=COMPARTMENT,
                           options=options())
    read = read_answer(oci_bytes(None, numbers=OCI_TEXT), 2)
    assert [bytes(v) for v in read.vectors] == [b"[0.009473139,-8.4949343E-4,5.4635193E-6]",
                                                 b"[0.16035691,-0.0010425601,1.0E-10]"]
    assert read.dimensions == [3, 3] and (read.prompt_tokens, read.total_tokens) == (3, 3)
    out = assemble([batch], [read], model="alias")
    assert "content" not in out.__dict__  # joined only for a caller that sends it (ingestion never does)
    content = out.content
    assert content is out.content  # joined once
    assert b'"embedding":[0.009473139,-8.4949343E-4,5.4635193E-6]}' in content
    assert json.loads(content)["data"][1]["embedding"] == [0.16035691, -0.0010425601, 1e-10]


@pytest.mark.parametrize("layout", [
    '{"embeddings":%s,"id":"x","usage":{"promptTokens":3,"totalTokens":3}}',  # another key order
    '{"id": "x", "embeddings": %s, "usage": {"promptTokens": 3, "totalTokens": 3}}',  # spaces
    '{"id":"\\"embeddings\\":[[9]]","embeddings":%s,"usage":{"promptTokens":3,"totalTokens":3}}',  # key in a string
    '{"meta":{"embeddings":[[7,7,7],[7,7,7]]},"embeddings":%s,"usage":{"promptTokens":3,"totalTokens":3}}',  # nested
    '{"embeddingsByType":{"float":%s},"usage":{"promptTokens":3,"totalTokens":3}}',  # by type only
])
def test_any_json_layout_gives_the_same_vectors(layout):
    read = read_answer((layout % OCI_TEXT).encode(), 2)
    assert [json.loads(bytes(v)) for v in read.vectors] == json.loads(OCI_TEXT)
    assert read.dimensions == [3, 3] and read.prompt_tokens == 3


@pytest.mark.parametrize("numbers", [
    '[[1.0,null,2.0],[1.0,2.0,3.0]]', '[[1.0,"2",3.0],[1.0,2.0,3.0]]', '[[1.0,[2.0],3.0],[1.0,2.0,3.0]]',
    '[[],[1.0]]', '[[1.0,2.0],{"a":1}]', '[[1.0,NaN],[1.0,2.0]]', '[[true,1.0],[1.0,2.0]]',
    '[[1.0,false],[1.0,2.0]]', '[[1.0,-Infinity],[1.0,2.0]]', '[[[1.0],[2.0]],[[3.0],[4.0]]]',
    '[[1.0,[2.0]],[3.0]]', '[[1.0],[2.0],[3.0]]',
])
@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_an_answer_that_is_not_vectors_of_numbers_is_a_503(numbers, encoding):
    with pytest.raises(APIError) as info:
        read_answer(oci_bytes(None, numbers=numbers), 2, encoding)
    assert info.value.status == 503 and info.value.code == "upstream_bad_response"


def test_assemble_puts_vectors_back_in_request_order_and_sums_usage():
    items = [Prepared("a"), Prepared(PNG, True), Prepared("b")]
    batches = plan_batches(items, serving_mode=MODE, compartment_id=COMPARTMENT, options=options())
    answers = {(0, 2): answer([[0.0, 0.5], [2.0, 2.5]], 4), (1,): answer([[1.0, 1.5]], 1000)}
    body = assembled_json(batches, [answers[b.indices] for b in batches], model="alias")
    assert list(body) == ["object", "data", "model", "usage"]
    assert body["object"] == "list" and body["model"] == "alias"
    assert [d["index"] for d in body["data"]] == [0, 1, 2]
    assert [d["embedding"] for d in body["data"]] == [[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]]
    assert all(list(d) == ["object", "index", "embedding"] and d["object"] == "embedding" for d in body["data"])
    assert body["usage"] == {"prompt_tokens": 1004, "total_tokens": 1004}


def test_base64_is_little_endian_float32_as_the_openai_sdk_decodes():
    vector = [0.1, -2.5, 3.25e-3, 1e6]
    encoded = encode_base64(vector)
    raw = base64.b64decode(encoded)
    assert list(struct.unpack("<4f", raw)) == pytest.approx(vector, rel=1e-6)
    assert raw == struct.pack("<4f", *vector) and len(raw) == 4 * len(vector)


def test_assemble_base64_packs_each_vector_as_float32():
    [batch] = plan_batches([Prepared("a"), Prepared("b")], serving_mode=MODE, compartment_id=COMPARTMENT,
                           options=options())
    read = read_answer(oci_bytes(None, numbers=OCI_TEXT), 2, "base64")
    body = assembled_json([batch], [read], model="m")
    assert [d["embedding"] for d in body["data"]] == [encode_base64(v) for v in json.loads(OCI_TEXT)]
    assert read.dimensions == [3, 3]
    with pytest.raises(APIError) as info:
        read_answer(oci_bytes(None, numbers="[[1.0E39,1.0],[1.0,2.0]]"), 2, "base64")
    assert info.value.code == "upstream_bad_response"


def test_float_sizes_are_counted_on_the_first_and_last_vectors():
    assert answer([[0.5, -1.25e-5, 3.0]] * 4).dimensions == [3, 3, 3, 3]
    assert answer([[1.0, 2.0]] * 3 + [[1.0, 2.0, 3.0, 4.0]]).dimensions == [2, 2, 2, 4]
    assert answer([[1.0, 2.0, 3.0]]).dimensions == [3]
    [batch] = plan_batches([Prepared("a"), Prepared("b")], serving_mode=MODE, compartment_id=COMPARTMENT,
                           options=options())
    with pytest.raises(APIError) as info:  # OCI ignoring the size asked for: every vector counts as that size
        assemble([batch], [answer([[1.0, 2.0, 3.0]] * 2)], model="m", expected_dimensions=2)
    assert info.value.code == "dimension_mismatch"


def test_wrong_count_or_size_from_upstream_is_an_error_not_a_wrong_answer():
    [batch] = plan_batches([Prepared("a"), Prepared("b")], serving_mode=MODE, compartment_id=COMPARTMENT,
                           options=options())
    with pytest.raises(APIError) as info:
        read_answer(oci_bytes([[1.0]]), 2)
    assert info.value.code == "upstream_bad_response"
    for vectors, expected in (([[1.0, 2.0], [1.0, 2.0]], 3), ([[1.0, 2.0], [1.0, 2.0, 3.0]], None)):
        with pytest.raises(APIError) as info:
            assemble([batch], [answer(vectors)], model="m", expected_dimensions=expected)
        assert info.value.code == "dimension_mismatch"
    with pytest.raises(APIError) as info:
        read_answer(b"<html>busy</html>", 2)
    assert info.value.status == 503


def test_missing_usage_counts_zero():
    [batch] = plan_batches([Prepared("a")], serving_mode=MODE, compartment_id=COMPARTMENT, options=options())
    read = read_answer(b'{"embeddings":[[1.0]]}', 1)
    assert assembled_json([batch], [read], model="m")["usage"] == {
        "prompt_tokens": 0, "total_tokens": 0}


# --- concurrency ---------------------------------------------------------------------------------


async def test_run_concurrently_bounds_in_flight_and_keeps_order():
    in_flight = peak = 0

    async def send(index, item, slot):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * ((7 * index) % 5))  # finish out of order
        in_flight -= 1
        return item * 10

    assert await run_concurrently(list(range(20)), send, 3) == [i * 10 for i in range(20)]
    assert peak == 3


async def test_one_failing_call_fails_the_request_and_cancels_the_rest():
    cancelled = []

    async def send(index, item, slot):
        if index == 1:
            raise APIError(429, "throttled", code="rate_limit_exceeded")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(index)
            raise

    with pytest.raises(APIError) as info:
        await run_concurrently([0, 1, 2, 3], send, 4)
    assert info.value.status == 429
    assert sorted(cancelled) == [0, 2, 3]


async def test_the_call_waiting_for_a_slot_goes_out_before_the_freed_answer_is_read():
    events = []

    async def send(index, item, slot):
        events.append(f"send {index}")
        await asyncio.sleep(0.01)
        return item * 10

    def read(index, answer):
        events.append(f"read {index}")
        return answer + 1

    assert await run_concurrently([1, 2, 3], send, 1, then=read) == [11, 21, 31]
    assert events == ["send 0", "send 1", "read 0", "send 2", "read 1", "read 2"]
    assert await run_concurrently([4], send, 1, then=read) == [41]


async def test_a_slot_freed_when_the_answer_begins_lets_the_next_call_out_before_the_first_returns():
    from core.embeddings.batching import Slot

    events, bodies = [], {i: asyncio.Event() for i in range(3)}
    begun = peak = 0

    async def send(index, item, slot):
        nonlocal begun, peak
        events.append(f"send {index}")
        begun += 1
        peak = max(peak, begun)
        await asyncio.sleep(0.005)
        begun -= 1
        slot()  # the answer's status is in; its body is still coming
        slot()  # a second call gives back nothing more
        events.append(f"begun {index}")
        await bodies[index].wait()
        return item

    async def bodies_arrive():
        while len([e for e in events if e.startswith("send")]) < 3:
            await asyncio.sleep(0.001)
        for body in bodies.values():
            body.set()

    results, _ = await asyncio.gather(run_concurrently([7, 8, 9], send, 1), bodies_arrive())
    assert results == [7, 8, 9]
    assert events[:4] == ["send 0", "begun 0", "send 1", "begun 1"]  # call 1 went out with call 0's body unread
    assert peak == 1  # never two calls waiting on OCI at once

    freed = []
    slot = Slot(lambda: freed.append(1))
    slot(), slot()
    assert freed == [1]


async def test_together_awaits_at_once_keeps_order_and_cancels_the_rest_on_a_failure():
    from core.embeddings.batching import together

    started = []

    async def value(name, seconds):
        started.append(name)
        await asyncio.sleep(seconds)
        return name

    assert await together(value("slow", 0.05), value("fast", 0)) == ["slow", "fast"]
    assert started == ["slow", "fast"]  # both began before either finished

    cancelled = []

    async def waits():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def fails():
        raise LookupError("no such object")

    with pytest.raises(LookupError, match="no such object"):
        await together(waits(), fails())
    assert cancelled == [True]


def test_unknown_model_passes_dimensions_and_images_through_for_oci_to_judge():
    from core.catalog import lookup

    unknown = lookup("cohere.embed-v9.0")
    assert not unknown.known
    req = parse_embedding_request({"model": "m", "input": [PNG], "dimensions": 768})
    opts = embed_options(req, unknown, default_truncate="END", name="m")
    assert opts.output_dimensions == 768 and opts.expected_dimensions == 768

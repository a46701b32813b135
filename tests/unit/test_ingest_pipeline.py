"""The pipeline's time budget: out of time -> partial manifest + retryable dead letter; the next delivery
resumes after the last written part and embeds only the rest. Real HTTP against the emulator."""

from __future__ import annotations

import json
import time

import pytest

from core.ingest.config import IngestConfig
from core.ingest.events import CREATE, DELETE, ObjectEvent
from core.ingest.pipeline import Pipeline, core_embedder
from core import runtime
from tests.support.runtime import reset_settings

MODEL = "cohere.embed-v4.0"
EVENT = ObjectEvent(CREATE, "ns", "in", "doc.txt", "etag-1")


@pytest.fixture
def world(gateway_env, api_key_credentials):
    import local.emulator as emu
    from local.emulator.objectstorage import install_objectstorage

    emulator = emu.Emulator()
    emulator.add_key(api_key_credentials.key.key_id, api_key_credentials.key.private_key)
    state = install_objectstorage(emulator, namespace="ns")
    state.create_bucket("out")
    server = emu.serve_in_thread(emulator)
    for key, value in {"OCI_OBJECTSTORAGE_ENDPOINT": server.url, "OCI_GENAI_ENDPOINT": server.url,
                       "INGEST_INPUT_BUCKETS": "in", "INGEST_OUTPUT_BUCKET": "out",
                       "INGEST_EMBEDDING_MODEL": MODEL, "INGEST_CHUNK_TOKENS": "30",
                       "INGEST_CHUNK_OVERLAP_TOKENS": "0", "INGEST_PART_MAX_BYTES": "65536",
                       "EMBEDDINGS_CONCURRENCY": "1", "INGEST_TIME_RESERVE_SECONDS": "20"}.items():
        gateway_env.setenv(key, value)
    reset_settings()
    runtime.reset()
    runtime.set_credentials(api_key_credentials)
    yield emulator, state
    server.stop()


def paragraphs(count: int) -> str:
    """A plain-text document of ``count`` short paragraphs (about 30 tokens each)."""
    return "\n\n".join(f"Paragraph {p} " + "has several words in it. " * 5 for p in range(count))


def written_lines(state, name: str) -> tuple[dict, list[dict]]:
    """The complete run's manifest for object ``name`` and every line of its parts, in part order."""
    manifest = json.loads(state.get("out", f"embeddings/{name}/manifest.json").data)
    return manifest, [json.loads(line) for part in manifest["parts"]
                      for line in state.get("out", part["name"]).data.splitlines()]


def embedded_inputs(emulator) -> int:
    return sum(len(r.json["inputs"]) for r in emulator.requests if "embedText" in r.path and r.status == 200)


async def test_out_of_time_saves_progress_and_the_next_delivery_resumes(world):
    emulator, state = world
    text = paragraphs(300)
    etag = state.put("in", "long.txt", text.encode(), "text/plain")
    event = ObjectEvent(CREATE, "ns", "in", "long.txt", etag)
    settings = runtime.settings()
    config = IngestConfig.from_settings(settings)
    skew = {"offset": 0.0}
    real_embed = core_embedder(MODEL, settings)

    async def embed(texts, deadline, request_id, answered):  # answered unused: the slot frees when this returns
        result = await real_embed(texts, deadline, request_id)
        skew["offset"] = 1000.0  # after the first window, the clock says the deadline is near
        return result

    deadline = time.time() + 1010.0
    first = await Pipeline(config, settings=settings, embed=embed,
                           clock=lambda: time.time() + skew["offset"]).handle(event, deadline=deadline)

    assert first.status == "partial" and first.reason == "deadline"
    assert first.chunks == 96  # exactly the first window (96 x EMBEDDINGS_CONCURRENCY=1)
    manifest = json.loads(state.get("out", "embeddings/long.txt/manifest.json").data)
    assert manifest["status"] == "partial" and manifest["chunkCount"] == 96
    letter = json.loads(state.get("out", "failed/long.txt.json").data)
    assert letter["reason"] == "deadline" and letter["retryable"] and letter["resumeFromChunk"] == 96
    emulator.requests.clear()

    second = await Pipeline(config, settings=settings).handle(event, deadline=time.time() + 300)

    assert second.status == "embedded" and second.detail["invocations"] == 2
    assert embedded_inputs(emulator) == second.chunks - 96  # only the rest was embedded
    manifest = json.loads(state.get("out", "embeddings/long.txt/manifest.json").data)
    indices = []
    for number, part in enumerate(manifest["parts"]):
        assert part["name"] == f"embeddings/long.txt/part-{number:05d}.jsonl"
        indices += [json.loads(line)["chunk"] for line in state.get("out", part["name"]).data.splitlines()]
    assert indices == list(range(second.chunks))  # every chunk exactly once, in order
    assert manifest["status"] == "complete" and state.get("out", "failed/long.txt.json") is None


async def test_a_partial_manifest_for_another_etag_is_not_resumed(world):
    emulator, state = world
    state.put("in", "doc.txt", b"Old text.\n", "text/plain")
    etag = state.put("in", "doc.txt", b"New text that replaced the old one.\n", "text/plain")
    stale = {"status": "partial", "source": {"eTag": "other"}, "parts": [{"name": "x", "firstChunk": 0,
                                                                        "chunks": 5}]}
    state.put("out", "embeddings/doc.txt/manifest.json", json.dumps(stale).encode())
    outcome = await Pipeline(IngestConfig.from_settings(runtime.settings())).handle(
        ObjectEvent(CREATE, "ns", "in", "doc.txt", etag))
    assert outcome.status == "embedded" and outcome.chunks == 1
    line = json.loads(state.get("out", "embeddings/doc.txt/part-00000.jsonl").data)
    assert line["chunk"] == 0 and line["text"] == "New text that replaced the old one."


async def test_a_delete_never_removes_outputs_another_bucket_wrote(world, gateway_env):
    """Two input buckets share outputs (no {bucket} in the prefix): the delete of in2/doc.txt is not in/doc.txt's."""
    emulator, state = world
    gateway_env.setenv("INGEST_INPUT_BUCKETS", "in,in2")
    reset_settings()
    pipeline = Pipeline(IngestConfig.from_settings(runtime.settings()))
    etag = state.put("in", "doc.txt", b"Text of the first bucket's document.\n", "text/plain")
    assert (await pipeline.handle(ObjectEvent(CREATE, "ns", "in", "doc.txt", etag))).status == "embedded"
    state.create_bucket("in2")

    outcome = await pipeline.handle(ObjectEvent(DELETE, "ns", "in2", "doc.txt", None))

    assert outcome.status == "stale_delete" and "bucket in" in outcome.reason
    assert state.get("out", "embeddings/doc.txt/manifest.json") is not None


def test_a_reconcile_request_names_only_input_buckets_and_a_valid_position():
    from core.errors import APIError
    from core.ingest.reconcile import OUTPUTS, Position, continuation_body, parse_request
    from core.settings import Settings

    config = IngestConfig.from_settings(Settings.from_env({"INGEST_INPUT_BUCKETS": "a,ns/b",
                                                          "INGEST_OUTPUT_BUCKET": "out"}))
    buckets, position, invocation = parse_request({"gatewayReconcile": {}}, config)
    assert [b.bucket for b in buckets] == ["a", "b"] and position == Position() and invocation == 1
    body = continuation_body(buckets[1:], Position(0, OUTPUTS, "x/y.txt"), 3)
    assert parse_request(body, config) == (buckets[1:], Position(0, OUTPUTS, "x/y.txt"), 3)
    for bad in ({"gatewayReconcile": {"buckets": ["elsewhere"]}}, {"gatewayReconcile": "all"},
                {"gatewayReconcile": {"position": {"phase": "everything"}}}):
        with pytest.raises(APIError) as refused:
            parse_request(bad, config)
        assert refused.value.status == 400 and refused.value.param.startswith("gatewayReconcile")


async def test_every_call_slot_stays_busy_and_parts_keep_chunk_order(world, gateway_env):
    """EMBEDDINGS_CONCURRENCY calls of at most 96 chunks are in flight at once (never more); calls finishing out of
    order still give parts whose chunks run 0..n-1 exactly once."""
    import asyncio

    emulator, state = world
    gateway_env.setenv("EMBEDDINGS_CONCURRENCY", "3")
    reset_settings()
    settings = runtime.settings()
    text = paragraphs(600)
    etag = state.put("in", "busy.txt", text.encode(), "text/plain")
    real_embed = core_embedder(MODEL, settings)
    flight = {"now": 0, "most": 0, "sizes": []}

    async def embed(texts, deadline, request_id, answered):  # answered unused: the slot frees when this returns
        flight["now"] += 1
        flight["most"] = max(flight["most"], flight["now"])
        flight["sizes"].append(len(texts))
        try:
            await asyncio.sleep(0.05 if len(flight["sizes"]) % 2 else 0.01)  # later calls overtake earlier ones
            return await real_embed(texts, deadline, request_id)
        finally:
            flight["now"] -= 1

    outcome = await Pipeline(IngestConfig.from_settings(settings), settings=settings, embed=embed).handle(
        ObjectEvent(CREATE, "ns", "in", "busy.txt", etag))

    assert outcome.status == "embedded" and outcome.chunks > 3 * 96
    assert flight["most"] == 3
    assert max(flight["sizes"]) == 96 and sum(flight["sizes"]) == outcome.chunks
    manifest, lines = written_lines(state, "busy.txt")
    assert len(manifest["parts"]) > 1 and manifest["dimensions"] == 1536
    assert [line["chunk"] for line in lines] == list(range(outcome.chunks))


@pytest.mark.parametrize("encoding", ["float", "base64"])
async def test_lines_carry_the_vectors_oci_answered(world, gateway_env, encoding):
    """float: each line's embedding is the vector's text as OCI wrote it; base64: its float32 values packed."""
    from core.embeddings.response import decode_base64
    from local.emulator.vectors import vector_json

    emulator, state = world
    gateway_env.setenv("INGEST_EMBEDDING_FORMAT", encoding)
    reset_settings()
    text = "The harbour office opens at eight.\n\nRevenue grew twelve percent in the third quarter.\n"
    etag = state.put("in", "two.txt", text.encode(), "text/plain")
    outcome = await Pipeline(IngestConfig.from_settings(runtime.settings())).handle(
        ObjectEvent(CREATE, "ns", "in", "two.txt", etag))

    assert outcome.status == "embedded" and outcome.chunks == 1
    line = state.get("out", "embeddings/two.txt/part-00000.jsonl").data
    answered = [r for r in emulator.requests if "embedText" in r.path][0]
    expected = vector_json(MODEL, answered.json["inputs"][0], 1536)
    if encoding == "float":
        assert b'"embedding":' + expected + b',' in line  # the bytes OCI sent, not a re-printing of floats
    else:
        values = decode_base64(json.loads(line)["embedding"])
        assert values == pytest.approx(json.loads(expected), rel=1e-7) and len(values) == 1536


def test_a_line_with_a_lone_surrogate_is_still_json():
    """orjson refuses a lone surrogate (a JSON document may carry one as an escape): the line escapes it."""
    from core.ingest.chunking import Chunk
    from core.ingest.output import chunk_line

    event = ObjectEvent(CREATE, "ns", "in", "odd.json", "e1")
    line = chunk_line(event, Chunk(0, 0, 5, "a \ud800 b", 3), b"[0.5,-8.4949343E-4]", model=MODEL, encoding="float")
    parsed = json.loads(line)
    assert parsed["text"] == "a \ud800 b" and parsed["embedding"] == [0.5, -0.00084949343]


async def test_an_object_cut_in_a_child_process_gives_the_lines_a_thread_gives(world, gateway_env, monkeypatch):
    """INGEST_CUT_PROCESS_MIN_BYTES: the same object cut in the child process and in a thread ends in the same
    lines (chunk numbers, offsets, texts, token counts, vectors), with the real tokenizer in both."""
    from core.ingest.cutting import ProcessCutter

    emulator, state = world
    children = []
    spawn = ProcessCutter.spawn.__func__

    async def counted(cls):
        children.append(await spawn(cls))
        return children[-1]

    monkeypatch.setattr(ProcessCutter, "spawn", classmethod(counted))
    text = "\n\n".join(f"Paragraph {p} " + "has several words in it. " * (p % 7 + 1) for p in range(400))
    lines = {}
    for threshold in ("0", "-1"):
        gateway_env.setenv("INGEST_CUT_PROCESS_MIN_BYTES", threshold)
        reset_settings()
        settings = runtime.settings()
        name = f"cut{threshold}.txt"
        etag = state.put("in", name, text.encode(), "text/plain")
        outcome = await Pipeline(IngestConfig.from_settings(settings), settings=settings).handle(
            ObjectEvent(CREATE, "ns", "in", name, etag))
        assert outcome.status == "embedded", outcome
        lines[threshold] = [{k: v for k, v in line.items() if k not in ("object", "eTag")}
                            for line in written_lines(state, name)[1]]
    assert len(children) == 1 and children[0].process.returncode == 0  # "0" was cut in a child that finished
    assert len(lines["0"]) > 20
    assert lines["0"] == lines["-1"]


def test_a_function_with_little_memory_never_cuts_in_a_child(gateway_env, monkeypatch):
    """FN_MEMORY under 512 MB: every object is cut in a thread (the child would hold ~65 MB more)."""
    gateway_env.setenv("INGEST_INPUT_BUCKETS", "in")
    gateway_env.setenv("INGEST_OUTPUT_BUCKET", "out")
    gateway_env.setenv("INGEST_CUT_PROCESS_MIN_BYTES", "1000")
    reset_settings()
    settings = runtime.settings()
    pipeline = Pipeline(IngestConfig.from_settings(settings), settings=settings, counter=object())
    monkeypatch.delenv("FN_MEMORY", raising=False)
    assert pipeline._cut_in_child(1000, EVENT, None) and not pipeline._cut_in_child(999, EVENT, None)
    monkeypatch.setenv("FN_MEMORY", "1024")
    assert pipeline._cut_in_child(10**9, EVENT, None)
    monkeypatch.setenv("FN_MEMORY", "256")
    assert not pipeline._cut_in_child(10**9, EVENT, None)
    gateway_env.setenv("INGEST_CUT_PROCESS_MIN_BYTES", "-1")
    monkeypatch.setenv("FN_MEMORY", "2048")
    reset_settings()
    settings = runtime.settings()
    assert not Pipeline(IngestConfig.from_settings(settings), settings=settings, counter=object())._cut_in_child(10**9, EVENT, None)


async def test_a_cutting_child_that_dies_leaves_a_retryable_letter_and_the_retry_cuts_in_the_function(
        world, gateway_env, monkeypatch):
    """The child killed mid-object (as the memory limit would): a partial manifest and a `cut_failed` dead letter;
    the next attempt cuts in the function's own process and finishes with every chunk once."""
    from core.ingest.cutting import ProcessCutter

    emulator, state = world
    gateway_env.setenv("INGEST_CUT_PROCESS_MIN_BYTES", "0")
    reset_settings()
    settings = runtime.settings()
    text = paragraphs(300)
    etag = state.put("in", "dies.txt", text.encode(), "text/plain")
    event = ObjectEvent(CREATE, "ns", "in", "dies.txt", etag)
    spawned = []
    spawn = ProcessCutter.spawn.__func__

    async def doomed(cls):
        cutter = await spawn(cls)
        cutter.process.kill()
        spawned.append(cutter)
        return cutter

    monkeypatch.setattr(ProcessCutter, "spawn", classmethod(doomed))
    first = await Pipeline(IngestConfig.from_settings(settings), settings=settings).handle(event)

    assert first.status == "partial" and first.reason == "cut_failed", first
    letter = json.loads(state.get("out", "failed/dies.txt.json").data)
    assert letter["reason"] == "cut_failed" and letter["retryable"] and "function's own process" in letter["message"]

    second = await Pipeline(IngestConfig.from_settings(settings), settings=settings).handle(event)

    assert second.status == "embedded" and len(spawned) == 1  # no child the second time
    manifest, lines = written_lines(state, "dies.txt")
    assert [line["chunk"] for line in lines] == list(range(manifest["chunkCount"]))
    assert state.get("out", "failed/dies.txt.json") is None


async def test_the_core_embedder_says_when_every_upstream_answer_has_begun(world):
    """Through the real client and the emulator: ``answered`` once, when the last of a window's calls (three here:
    200 inputs) has its status line, before the vectors are returned."""
    settings = runtime.settings()
    embed = core_embedder(MODEL, settings)
    events = []
    vectors, model_id = await embed([f"text {i}" for i in range(200)], None, "req",
                                    lambda: events.append(("answered", len(world[0].requests))))
    events.append(("returned", len(world[0].requests)))
    embed_calls = [r for r in world[0].requests if r.path.endswith("/actions/embedText")]
    assert len(vectors) == 200 and model_id and len(embed_calls) == 3
    assert [name for name, _ in events] == ["answered", "returned"]
    assert events[0][1] == len(world[0].requests)  # after the third call, not the first

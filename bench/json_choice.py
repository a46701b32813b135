"""The request path's JSON library: what orjson costs to import and what it saves per call, against ``json``.

    .venv/bin/python -m bench.json_choice

Shapes are the ones the gateway handles on every call: the OCI ``ChatDetails`` it sends, the OCI chat
answer it parses, one OCI stream event plus the OpenAI chunk it writes, the OpenAI completion it returns,
and a 96-input x 1024-dimension embedText answer. Import cost is measured after ``httpx`` (which every
role imports first), so modules both need (``uuid``, ``dataclasses``, ``enum``) are not counted twice.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import timeit
from typing import Any, Callable

CHAT_DETAILS = {
    "compartmentId": "ocid1.compartment.oc1..aaaaaaaabench", "servingMode": {
        "servingType": "ON_DEMAND", "modelId": "meta.llama-3.3-70b-instruct"},
    "chatRequest": {"apiFormat": "GENERIC", "isStream": False, "maxTokens": 50, "messages": [
        {"role": "SYSTEM", "content": [{"type": "TEXT", "text": "You are a helpful assistant. " * 8}]},
        {"role": "USER", "content": [{"type": "TEXT", "text": "Hello there, how are you doing today? " * 6}]}]},
}
CHAT_ANSWER = {
    "modelId": "meta.llama-3.3-70b-instruct", "modelVersion": "1.0.0", "chatResponse": {
        "apiFormat": "GENERIC", "timeCreated": "2026-12-07T10:00:00.000Z", "choices": [{
            "index": 0, "finishReason": "stop", "message": {"role": "ASSISTANT", "content": [
                {"type": "TEXT", "text": "I am doing well, thank you for asking! " * 10}]}}],
        "usage": {"promptTokens": 60, "completionTokens": 50, "totalTokens": 110}},
}
STREAM_EVENT = {"index": 0, "message": {"role": "ASSISTANT", "content": [{"type": "TEXT", "text": " token"}]}}
OPENAI_CHUNK = {"id": "chatcmpl-0123456789abcdef", "object": "chat.completion.chunk", "created": 1796000000,
                "model": "meta.llama-3.3-70b-instruct",
                "choices": [{"index": 0, "delta": {"content": " token"}, "finish_reason": None}]}
OPENAI_COMPLETION = {"id": "chatcmpl-0123456789abcdef", "object": "chat.completion", "created": 1796000000,
                     "model": "meta.llama-3.3-70b-instruct", "choices": [{
                         "index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "I am doing well, thank you! " * 10}}],
                     "usage": {"prompt_tokens": 60, "completion_tokens": 50, "total_tokens": 110}}


def _embed_answer() -> dict[str, Any]:
    rng = random.Random(7)
    return {"id": "x", "modelId": "cohere.embed-english-v3.0", "texts": [f"sentence {i}" for i in range(96)],
            "embeddings": [[rng.uniform(-1, 1) for _ in range(1024)] for _ in range(96)]}


def _std_dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _best_us(fn: Callable[[], Any], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e6


def per_call() -> list[tuple[str, float, float]]:
    """(operation, json µs, orjson µs), best of 7."""
    import orjson

    embed = _embed_answer()
    rows = []
    for name, value, number in (("dumps ChatDetails", CHAT_DETAILS, 20000), ("dumps OpenAI completion",
                                OPENAI_COMPLETION, 20000), ("dumps OpenAI chunk", OPENAI_CHUNK, 50000)):
        rows.append((name, _best_us(lambda v=value: _std_dumps(v), number),
                     _best_us(lambda v=value: orjson.dumps(v), number)))
    for name, value, number in (("loads OCI chat answer", CHAT_ANSWER, 20000),
                                ("loads OCI stream event", STREAM_EVENT, 50000),
                                ("loads embedText 96x1024", embed, 5)):
        raw = _std_dumps(value)
        rows.append((name, _best_us(lambda r=raw: json.loads(r), number),
                     _best_us(lambda r=raw: orjson.loads(r), number)))
    return rows


def import_ms(runs: int = 7) -> float:
    """Median cumulative import time of orjson after httpx, in ms."""
    times = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import httpx, json; import orjson"],
                              capture_output=True, text=True, check=True)
        line = [row for row in done.stderr.splitlines() if row.rstrip().endswith("| orjson")][-1]
        times.append(int(line.split("|")[1]) / 1000)
    return statistics.median(times)


def main() -> None:
    print(f"orjson import after httpx: {import_ms():.2f} ms (median of 7)")
    print("| operation | json µs | orjson µs | saved µs |")
    print("|---|---|---|---|")
    for name, std, fast in per_call():
        print(f"| {name} | {std:.1f} | {fast:.1f} | {std - fast:.1f} |")


if __name__ == "__main__":
    main()

"""The deployed endpoint, end to end: models, chat, streaming chat and embeddings through the public URL.

``terraform output -raw smoke_command`` prints the exact command; the key comes from ``OPENAI_API_KEY``. Each step
prints pass/fail and its latency; the streamed chat also prints the time to its first byte against its total time,
which says whether API Gateway passes an event stream through as it arrives (a first byte long before the end) or
buffers it (both arrive together, as with Functions). Exit status 1 when a step fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, TextIO

import httpx

PROMPT = "Count from 1 to 20, one number per line."
# A stream whose first byte comes before this share of its total time arrived incrementally.
STREAMED_SHARE = 0.5


@dataclass
class Step:
    name: str
    ok: bool
    ms: float
    detail: str


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return client.post(path, json=body)


def _check(response: httpx.Response, want: Callable[[Any], bool], what: str) -> tuple[bool, str]:
    if response.status_code != 200:
        return False, f"HTTP {response.status_code}: {response.text[:300]}"
    data = response.json()
    return (True, what) if want(data) else (False, f"unexpected answer: {json.dumps(data)[:300]}")


def _timed(name: str, action: Callable[[], tuple[bool, str]]) -> Step:
    start = time.perf_counter()
    try:
        ok, detail = action()
    except httpx.HTTPError as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    return Step(name, ok, round((time.perf_counter() - start) * 1000, 1), detail)


def stream_step(client: httpx.Client, model: str) -> Step:
    """A streamed chat: time to first byte, total time, and whether the events arrived incrementally."""
    start = time.perf_counter()
    first: float | None = None
    events = 0
    body = {"model": model, "stream": True, "max_tokens": 100, "messages": [{"role": "user", "content": PROMPT}]}
    try:
        with client.stream("POST", "/chat/completions", json=body) as response:
            if response.status_code != 200:
                return Step("streaming chat", False, 0.0, f"HTTP {response.status_code}: {response.read()[:300]!r}")
            for line in response.iter_lines():
                first = first if first is not None else time.perf_counter() - start
                events += line.startswith("data: {")
    except httpx.HTTPError as exc:
        return Step("streaming chat", False, round((time.perf_counter() - start) * 1000, 1), type(exc).__name__)
    total = time.perf_counter() - start
    ttfb = first if first is not None else total
    incremental = ttfb < STREAMED_SHARE * total
    detail = (f"first byte {ttfb * 1000:.0f} ms of {total * 1000:.0f} ms, {events} events: "
              + ("streamed as generated" if incremental else "arrived at once (buffered)"))
    return Step("streaming chat", events > 0, round(total * 1000, 1), detail)


def run(base_url: str, api_key: str, chat_model: str, embedding_model: str, timeout: float = 120.0) -> list[Step]:
    headers = {"authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout) as client:
        return [
            _timed("models", lambda: _check(client.get("/models"), lambda d: bool(d.get("data")), "listed")),
            _timed("chat", lambda: _check(
                _post(client, "/chat/completions", {"model": chat_model, "max_tokens": 20,
                                                     "messages": [{"role": "user", "content": "Say hello"}]}),
                lambda d: bool(d.get("choices")), "answered")),
            stream_step(client, chat_model),
            _timed("embeddings", lambda: _check(
                _post(client, "/embeddings", {"model": embedding_model, "input": ["smoke test"]}),
                lambda d: bool(d.get("data") and d["data"][0].get("embedding")), "embedded")),
        ]


def report(steps: list[Step], out: TextIO) -> bool:
    width = max(len(step.name) for step in steps)
    for step in steps:
        print(f"{'PASS' if step.ok else 'FAIL'}  {step.name.ljust(width)}  {step.ms:8.1f} ms  {step.detail}", file=out)
    ok = all(step.ok for step in steps)
    print(f"\n{'All steps passed.' if ok else 'Some steps failed.'}", file=out)
    return ok


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="the deployment's OpenAI base URL (terraform output)")
    parser.add_argument("--chat-model", default="meta.llama-3.3-70b-instruct")
    parser.add_argument("--embedding-model", default="cohere.embed-v4.0")
    args = parser.parse_args(argv)
    key = os.environ.get("OPENAI_API_KEY", "")
    if not key:
        print("set OPENAI_API_KEY to an API key of the deployment (docs/deploying.md, step 7)", file=sys.stderr)
        return 2
    return 0 if report(run(args.base_url, key, args.chat_model, args.embedding_model), out) else 1


if __name__ == "__main__":
    raise SystemExit(main())

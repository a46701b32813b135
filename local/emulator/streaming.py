"""Server-sent events the way OCI sends them, plus the misbehaviours a client must survive.

A chat format produces the event payloads (:mod:`local.emulator.chat_formats`); this module
turns them into bytes and decides how they hit the wire:

* every JSON event gets OCI's junk ``pad`` field (deterministic length here);
* **pacing**: ``delay`` seconds before every write after the first, so a test can see the
  first event arrive while the emulator is still "generating";
* **framing quirks**: ``events_per_write`` events in one write, ``max_write_bytes`` to cut
  writes so events straddle them, and ``separator`` (``"\\n"`` for the single-newline quirk);
* a **mid-stream error**: after N events, an error event ``{"code", "message"}`` and the end
  of the stream (no ``[DONE]``), for the next ``times`` streams.

Settings live on the emulator (:class:`StreamSettings`) and are snapshotted when a stream
starts, so a test changing them never affects a stream already running.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any, AsyncIterator, Callable

SSE_CONTENT_TYPE = "text/event-stream"  # exactly: the SDK compares the whole header value
SEPARATORS = ("\n\n", "\n", "\r\n\r\n")
DONE = "[DONE]"


@dataclass
class MidStreamError:
    """Break the next ``times`` streams after ``after`` events with ``{"code","message"}``."""

    after: int
    code: str = "InternalServerError"
    message: str = "The stream was interrupted by an internal error."
    times: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"afterEvents": self.after, "code": self.code, "message": self.message, "times": self.times}


@dataclass
class StreamSettings:
    """How streams are written. Defaults are OCI's normal behaviour."""

    delay: float = 0.0
    events_per_write: int = 1
    max_write_bytes: int | None = None
    separator: str = "\n\n"
    pad: bool = True
    cohere_done: bool = False  # v1 streams end without [DONE]; some mocks send one
    v2_restates_tool_calls: bool = False  # whether a V2 final event repeats the calls is unknown: both are testable
    error: MidStreamError | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def configure(
        self,
        *,
        delay: float | None = None,
        events_per_write: int | None = None,
        max_write_bytes: int | None | str = "keep",
        separator: str | None = None,
        pad: bool | None = None,
        cohere_done: bool | None = None,
        v2_restates_tool_calls: bool | None = None,
    ) -> None:
        """Change some settings; ``None`` keeps a value (``max_write_bytes=None`` clears it)."""
        if separator is not None and separator not in SEPARATORS:
            raise ValueError(f"separator must be one of {SEPARATORS!r}")
        if events_per_write is not None and events_per_write < 1:
            raise ValueError("events_per_write must be at least 1")
        if max_write_bytes not in ("keep", None) and int(max_write_bytes) < 1:  # type: ignore[arg-type]
            raise ValueError("max_write_bytes must be at least 1")
        with self._lock:
            if delay is not None:
                self.delay = max(0.0, float(delay))
            if events_per_write is not None:
                self.events_per_write = int(events_per_write)
            if max_write_bytes != "keep":
                size = max_write_bytes
                self.max_write_bytes = None if size is None else int(size)  # type: ignore[arg-type]
            if separator is not None:
                self.separator = separator
            if pad is not None:
                self.pad = bool(pad)
            if cohere_done is not None:
                self.cohere_done = bool(cohere_done)
            if v2_restates_tool_calls is not None:
                self.v2_restates_tool_calls = bool(v2_restates_tool_calls)

    def break_streams(self, after: int, *, code: str | None = None, message: str | None = None, times: int = 1) -> None:
        """Arm a mid-stream error for the next ``times`` streams."""
        if after < 0 or times < 1:
            raise ValueError("after must be >= 0 and times >= 1")
        error = MidStreamError(after, times=times)
        error = replace(error, code=code or error.code, message=message or error.message)
        with self._lock:
            self.error = error

    def clear_error(self) -> None:
        with self._lock:
            self.error = None

    def reset(self) -> None:
        with self._lock:
            self.delay, self.events_per_write, self.max_write_bytes = 0.0, 1, None
            self.separator, self.pad, self.cohere_done, self.error = "\n\n", True, False, None
            self.v2_restates_tool_calls = False

    def take(self) -> "StreamPlan":
        """A snapshot for one stream; consumes one use of an armed mid-stream error."""
        with self._lock:
            error = self.error
            if error is not None:
                error.times -= 1
                if error.times <= 0:
                    self.error = None
                error = replace(error, times=1)
            return StreamPlan(
                self.delay,
                self.events_per_write,
                self.max_write_bytes,
                self.separator,
                self.pad,
                self.cohere_done,
                error,
                self.v2_restates_tool_calls,
            )

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "delaySeconds": self.delay,
                "eventsPerWrite": self.events_per_write,
                "maxWriteBytes": self.max_write_bytes,
                "separator": self.separator,
                "pad": self.pad,
                "cohereDone": self.cohere_done,
                "v2RestatesToolCalls": self.v2_restates_tool_calls,
                "error": self.error.to_json() if self.error else None,
            }


@dataclass(frozen=True)
class StreamPlan:
    """Immutable settings for one stream."""

    delay: float = 0.0
    events_per_write: int = 1
    max_write_bytes: int | None = None
    separator: str = "\n\n"
    pad: bool = True
    cohere_done: bool = False
    error: MidStreamError | None = None
    v2_restates_tool_calls: bool = False


def pad_for(number: int) -> str:
    """OCI pads events with a varying run of ``a``; here it varies deterministically."""
    return "a" * (1 + (number * 7) % 13)


def encode_event(event: dict[str, Any] | str, number: int, plan: StreamPlan) -> bytes:
    """One ``data:`` line plus the separator; ``pad`` goes last, as in the captures."""
    if isinstance(event, str):
        data = event
    else:
        payload = {**event, "pad": pad_for(number)} if plan.pad else event
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return f"data: {data}{plan.separator}".encode("utf-8")


def frames(events: list[dict[str, Any] | str], plan: StreamPlan) -> list[bytes]:
    """Encoded events in order, cut short by a planned mid-stream error."""
    out: list[bytes] = []
    for number, event in enumerate(events):
        if plan.error is not None and number == plan.error.after:
            error = {"code": plan.error.code, "message": plan.error.message}
            out.append(f"data: {json.dumps(error, separators=(',', ':'))}{plan.separator}".encode("utf-8"))
            return out
        out.append(encode_event(event, number, plan))
    return out


def writes(encoded: list[bytes], plan: StreamPlan) -> list[bytes]:
    """Group frames ``events_per_write`` at a time, then cut writes to ``max_write_bytes``."""
    grouped = [
        b"".join(encoded[i : i + plan.events_per_write]) for i in range(0, len(encoded), plan.events_per_write)
    ]
    if not plan.max_write_bytes:
        return grouped
    size = plan.max_write_bytes
    return [chunk[i : i + size] for chunk in grouped for i in range(0, len(chunk), size)]


Progress = Callable[[int, int], None]


async def paced(chunks: list[bytes], plan: StreamPlan, progress: Progress | None = None) -> AsyncIterator[bytes]:
    """Yield ``chunks`` with ``plan.delay`` before each one after the first.

    ``progress(sent, total)`` is told how many chunks the server has taken, so a test can prove
    the client saw the first event while the rest was still unsent.
    """
    total = len(chunks)
    if progress is not None:
        progress(0, total)
    for number, chunk in enumerate(chunks):
        if number and plan.delay > 0:
            await asyncio.sleep(plan.delay)
        yield chunk
        if progress is not None:
            progress(number + 1, total)

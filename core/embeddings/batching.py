"""Run a request's upstream calls concurrently, at most ``concurrency`` at a time.

Kept free of HTTP: the caller passes ``send`` (one call and its :class:`Slot` -> its parsed result), so
the fan-out, ordering and failure rules are tested without a network. A call's slot frees when ``send``
says OCI has answered (its status line is in), so the next call goes out while that answer's body is
still arriving. One failing call fails the whole request with that call's error, and the calls still
running are cancelled (their answers could not be used, and each costs money).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, Sequence, TypeVar

T = TypeVar("T")


class Slot:
    """One call's place under a concurrency limit; calling it gives the place back (only the first call counts).

    The OCI client calls it once an answer's status arrives (``answered=``); the runner calls it again when the
    call ends, whatever happened. A call retried after its answer's body failed runs outside the limit."""

    __slots__ = ("_free",)

    def __init__(self, free: Callable[[], None] | None = None) -> None:
        self._free = free

    def __call__(self) -> None:
        free, self._free = self._free, None
        if free is not None:
            free()


def call_request_id(request_id: str, index: int, count: int) -> str | None:
    """The id one of a request's ``count`` upstream calls is sent with: the request's own for a single call,
    ``<id>-007`` for the eighth of several; None without a request id."""
    if not request_id:
        return None
    return request_id if count == 1 else f"{request_id}-{index:03d}"


async def run_concurrently(items: Sequence[T], send: Callable[[int, T, Slot], Awaitable[Any]], concurrency: int,
                           then: Callable[[int, Any], Any] | None = None) -> list[Any]:
    """``[then(i, await send(i, item, slot)) ...]`` in item order, with at most ``concurrency`` calls unanswered.

    ``send`` calls ``slot()`` once its answer has begun (or never: the slot frees when ``send`` returns).
    ``then`` (CPU work on an answer) runs after the send's slot is free and the call waiting for it has gone out,
    so the next upstream call overlaps that work instead of waiting for it."""
    if len(items) == 1:
        answer = await send(0, items[0], Slot())
        answer = then(0, answer) if then is not None else answer
        return [await answer if inspect.isawaitable(answer) else answer]
    results: list[Any] = [None] * len(items)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(index: int, item: T) -> None:
        await gate.acquire()
        slot = Slot(gate.release)
        try:
            answer = await send(index, item, slot)
        finally:
            slot()
        if then is not None:
            await asyncio.sleep(0)  # the call woken by the freed slot runs up to its first wait (the network)
            answer = then(index, answer)
            if inspect.isawaitable(answer):
                answer = await answer
        results[index] = answer

    try:
        async with asyncio.TaskGroup() as group:
            for index, item in enumerate(items):
                group.create_task(one(index, item))
    except BaseExceptionGroup as failures:
        raise _first(failures) from None
    return results


async def together(*calls: Awaitable[Any]) -> list[Any]:
    """The results of ``calls``, awaited at once, in order; the first failure is raised, the rest cancelled."""
    return await run_concurrently(calls, lambda _index, call, _slot: call, len(calls))


def _first(group: BaseExceptionGroup) -> BaseException:
    """The first real failure (TaskGroup wraps them; callers want the upstream's own error)."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first(exc)
        return exc
    return group  # pragma: no cover - a group is never empty

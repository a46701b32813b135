"""A pool of fdk processes: each serves one call at a time (as Fn does), so N calls run in parallel."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
from typing import AsyncIterator, Callable, Iterable, Mapping

from local.fdk.process import DEFAULT_FUNC, FdkProcess, roundtrip_async
from local.fdk.wire import (
    DEFAULT_TIMEOUT_S,
    FUNCTION_FAILED_BODY,
    TIMED_OUT_BODY,
    FdkCallError,
    HttpResult,
    RawResponse,
    http_request_bytes,
    invoke_request_bytes,
    map_gateway_response,
    map_invoke_response,
)



class FdkPool:
    """N fdk processes; each serves one call at a time (as Fn does), so N calls run in parallel.

    Loop-agnostic and thread-safe: waiters may live on any event loop (the front runs its own in a
    thread, tests run theirs). A call that overruns its deadline gets 504 and its process is
    replaced, because Fn discards a container after a timeout; a process found dead is replaced too.
    """

    def __init__(
        self,
        n: int = 1,
        env: Mapping[str, str] | None = None,
        *,
        func_path: str | os.PathLike[str] = DEFAULT_FUNC,
        entrypoint: str = "handler",
        base_env: Mapping[str, str] | None = None,
        inherit_output: bool = False,
    ) -> None:
        if n < 1:
            raise ValueError("a pool needs at least one process")
        self.processes = [
            FdkProcess(func_path, env, entrypoint=entrypoint, base_env=base_env, inherit_output=inherit_output)
            for _ in range(n)
        ]
        self._lock = threading.Lock()
        self._idle: collections.deque[FdkProcess] = collections.deque()
        self._waiters: collections.deque[Callable[[FdkProcess], bool]] = collections.deque()
        self._started = False

    def start(self) -> "FdkPool":
        """Start every process in parallel and wait until all are ready."""
        errors: list[BaseException] = []

        def boot(proc: FdkProcess) -> None:
            try:
                proc.start()
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=boot, args=(p,)) for p in self.processes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            self.stop()
            raise errors[0]
        with self._lock:
            self._idle.extend(self.processes)
        self._started = True
        return self

    def stop(self) -> None:
        for proc in self.processes:
            proc.cleanup()
        with self._lock:
            self._idle.clear()
        self._started = False

    def __enter__(self) -> "FdkPool":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FdkPool(n={len(self.processes)}, idle={len(self._idle)})"

    @property
    def ready_seconds(self) -> list[float | None]:
        return [p.ready_seconds for p in self.processes]

    def log_text(self) -> str:
        return "\n".join(p.log_text() for p in self.processes)

    # -- leasing ---------------------------------------------------------------------------------

    async def acquire(self) -> FdkProcess:
        """Wait for an idle process (FIFO across waiters)."""
        if not self._started:
            raise RuntimeError("pool not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[FdkProcess] = loop.create_future()

        def deliver(proc: FdkProcess) -> bool:
            if future.done() or loop.is_closed():
                return False
            try:
                loop.call_soon_threadsafe(_resolve, future, proc, self)
            except RuntimeError:  # the waiter's loop closed meanwhile
                return False
            return True

        with self._lock:
            if self._idle and not self._waiters:
                proc = self._idle.popleft()
            else:
                self._waiters.append(deliver)
                proc = None
        if proc is None:
            try:
                proc = await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self.release(future.result())
                raise
        if not proc.alive:
            try:
                await asyncio.to_thread(proc.restart)
            except BaseException:
                self.release(proc)  # keep it in the pool; the next acquire retries the restart
                raise
        return proc

    def release(self, proc: FdkProcess) -> None:
        """Hand the process to the next waiter, or mark it idle."""
        with self._lock:
            while self._waiters:
                if self._waiters.popleft()(proc):
                    return
            self._idle.append(proc)

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[FdkProcess]:
        proc = await self.acquire()
        try:
            yield proc
        finally:
            self.release(proc)

    # -- calls -----------------------------------------------------------------------------------

    async def call_http(
        self,
        method: str,
        path_and_query: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: bytes | str = b"",
        *,
        deadline_s: float = DEFAULT_TIMEOUT_S,
        call_id: str | None = None,
        request_id: str | None = None,
    ) -> HttpResult:
        """Like :meth:`FdkProcess.acall_http` on an idle process, with Fn's failure semantics:
        deadline overrun -> 504 (process replaced), broken process -> 502 (process replaced)."""
        request = http_request_bytes(method, path_and_query, headers, body, deadline_s, call_id, request_id)
        return await self._run(request, deadline_s, map_gateway_response)

    async def call_invoke(
        self,
        body: bytes | str = b"",
        *,
        content_type: str | None = "application/json",
        deadline_s: float = DEFAULT_TIMEOUT_S,
        intent: str | None = None,
        call_id: str | None = None,
        request_id: str | None = None,
        invoke_type: str = "sync",
    ) -> HttpResult:
        request = invoke_request_bytes(body, content_type, deadline_s, intent, call_id, request_id, invoke_type)
        return await self._run(request, deadline_s, map_invoke_response)

    async def _run(
        self, request: bytes, deadline_s: float, mapper: Callable[[RawResponse], HttpResult]
    ) -> HttpResult:
        proc = await self.acquire()
        try:
            raw = await asyncio.wait_for(roundtrip_async(proc.socket_path, request), deadline_s)
        except (TimeoutError, asyncio.TimeoutError):
            await asyncio.to_thread(proc.restart)
            return mapper(RawResponse(504, [("content-type", "application/json")], TIMED_OUT_BODY))
        except FdkCallError:
            await asyncio.to_thread(proc.restart)
            return mapper(RawResponse(502, [("content-type", "application/json")], FUNCTION_FAILED_BODY))
        finally:
            self.release(proc)
        return mapper(raw)


def _resolve(future: "asyncio.Future[FdkProcess]", proc: FdkProcess, pool: FdkPool) -> None:
    """Runs on the waiter's loop; if the waiter gave up meanwhile, pass the process on."""
    if future.done():
        pool.release(proc)
    else:
        future.set_result(proc)

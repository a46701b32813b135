"""Run a function module under the real fdk, on a unix socket, the way OCI Functions does.

No Docker and no Fn server: we start the fdk console script with ``FN_FORMAT=http-stream`` and
``FN_LISTENER=unix:...`` and speak the Fn agent's side of the contract ourselves (one
``POST /call`` per invocation, ``Fn-*`` headers; see the runtime reference §1.2 and §1.8).

Every call opens a fresh connection and sends ``Connection: close``: an fdk connection left idle
after a response makes the fdk spin a CPU (reference §0 item 8), and Fn holds at most one
connection per container anyway.

The module has three layers so each can be tested and reused:

* pure functions that build the request bytes and parse/map the response,
* :class:`FdkProcess`, one fdk process with sync and async call methods,
* :class:`FdkPool`, N processes serving concurrent calls one at a time each (as Fn does).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FUNC = REPO_ROOT / "func.py"
DEFAULT_TIMEOUT_S = 300.0  # OCI Functions' maximum sync timeout; what the front uses unless told otherwise
MAX_SOCKET_PATH = 107  # Fn contract: the listener path is at most 107 bytes

FUNCTION_FAILED_BODY = b'{"message":"function failed"}'
TIMED_OUT_BODY = b'{"message":"Timed out"}'
HTTP_PREFIX = "fn-http-h-"

# Headers the fdk adds to every response; they stay on the socket (Fn drops them on the way out).
_FDK_ONLY_HEADERS = ("fn-fdk-version", "fn-fdk-runtime")


class FdkStartError(RuntimeError):
    """The fdk process exited, or never became ready; the message carries its stderr tail."""


class FdkCallError(ConnectionError):
    """The unix-socket exchange failed (process gone, connection reset, malformed answer)."""


# ---------------------------------------------------------------------------------------------
# Pure helpers: request building and response parsing
# ---------------------------------------------------------------------------------------------


def new_call_id() -> str:
    """A 26-character upper-case id shaped like Fn's ULID call ids."""
    return uuid.uuid4().hex[:26].upper()


def rfc3339_deadline(seconds_from_now: float, *, now: datetime | None = None) -> str:
    """Fn-Deadline as Go's ``time.RFC3339`` in UTC, e.g. ``2030-01-01T00:00:00Z``."""
    base = now or datetime.now(timezone.utc)
    return (base + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(value: str) -> str:
    """Header values must not smuggle extra header lines in."""
    if "\r" in value or "\n" in value:
        raise ValueError("header values must not contain CR or LF")
    return value


def build_call_request(headers: Sequence[tuple[str, str]], body: bytes) -> bytes:
    """The bytes of one ``POST /call`` on the fdk socket, closing the connection afterwards."""
    lines = ["POST /call HTTP/1.1", "Host: localhost", "Connection: close", f"Content-Length: {len(body)}"]
    for name, value in headers:
        lowered = name.lower()
        if lowered in ("host", "connection", "content-length", "transfer-encoding"):
            continue  # framing is ours to decide
        lines.append(f"{_clean(name)}: {_clean(str(value))}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http_call_headers(
    method: str,
    path_and_query: str,
    client_headers: Iterable[tuple[str, str]] | Mapping[str, str],
    *,
    body_content_type: str | None,
    deadline_s: float,
    call_id: str,
    request_id: str,
) -> list[tuple[str, str]]:
    """Headers API Gateway -> Fn puts on an HTTP-intent call.

    ``client_headers`` are the client's own headers; each becomes ``Fn-Http-H-<Name>`` except
    ``Content-Type``, which travels unprefixed (reference §1.2).
    """
    out = [
        ("Fn-Call-Id", call_id),
        ("Fn-Deadline", rfc3339_deadline(deadline_s)),
        ("Fn-Intent", "httprequest"),
        ("Fn-Invoke-Type", "sync"),
        ("Fn-Http-Method", method.upper()),
        ("Fn-Http-Request-Url", path_and_query),
        ("opc-request-id", request_id),
    ]
    pairs = client_headers.items() if isinstance(client_headers, Mapping) else client_headers
    for name, value in pairs:
        if name.lower() == "content-type":
            continue
        out.append(("Fn-Http-H-" + name, value))
    if body_content_type is not None:
        out.append(("Content-Type", body_content_type))
    return out


def invoke_call_headers(
    *, content_type: str | None, deadline_s: float, call_id: str, request_id: str, intent: str | None = None
) -> list[tuple[str, str]]:
    """Headers of a plain ``fn invoke`` (or OCI Events with ``intent='cloudevent'``): no Fn-Http-*."""
    out = [
        ("Fn-Call-Id", call_id),
        ("Fn-Deadline", rfc3339_deadline(deadline_s)),
        ("Fn-Invoke-Type", "sync"),
        ("opc-request-id", request_id),
    ]
    if intent:
        out.append(("Fn-Intent", intent))
    if content_type is not None:
        out.append(("Content-Type", content_type))
    return out


@dataclass(frozen=True)
class RawResponse:
    """What came back on the unix socket, before any Fn / API Gateway mapping."""

    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in wire order
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        """Last value of a header (the fdk never emits duplicates we care about)."""
        wanted = name.lower()
        found = default
        for key, value in self.headers:
            if key == wanted:
                found = value
        return found


def parse_http_response(data: bytes) -> RawResponse:
    """Parse a complete HTTP/1.1 response read until the peer closed (or Content-Length was met)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise FdkCallError(f"incomplete response from the fdk ({len(data)} bytes)")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise FdkCallError("malformed status line from the fdk")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    raw = RawResponse(int(parts[1]), headers, rest)
    length = raw.header("content-length")
    if length is not None and length.isdigit():
        want = int(length)
        if len(rest) < want:
            raise FdkCallError(f"truncated body from the fdk ({len(rest)} of {want} bytes)")
        raw = RawResponse(raw.status, headers, rest[:want])
    return raw


def _body_complete(buffer: bytes | bytearray) -> bool:
    """True once a buffered response holds its full Content-Length body (lets us stop reading)."""
    head, sep, rest = buffer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return len(rest) >= int(value.strip())
    return False


@dataclass(frozen=True)
class HttpResult:
    """One call's outcome as a client would see it.

    Iterates as ``(status, headers, body)`` so ``status, headers, body = proc.call_http(...)``
    works; ``socket_status`` and ``raw`` keep what the fdk really sent, for tests.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    socket_status: int
    raw: RawResponse | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[object]:
        return iter((self.status, self.headers, self.body))

    def json(self) -> object:
        return json.loads(self.body)


def map_gateway_response(raw: RawResponse) -> HttpResult:
    """Map a socket response to what an API Gateway client gets (reference §0 items 1, 14; §1.4).

    Socket 200: status from ``Fn-Http-Status``, headers from ``Fn-Http-H-*`` plus ``Content-Type``
    and ``Fn-Call-Id``; everything else is dropped. Socket 502/504 (and anything else the agent
    would treat as a failure): the function's body and headers are thrown away.
    """
    if raw.status == 504:
        return HttpResult(504, {"content-type": "application/json"}, TIMED_OUT_BODY, raw.status, raw)
    if raw.status != 200:
        return HttpResult(502, {"content-type": "application/json"}, FUNCTION_FAILED_BODY, raw.status, raw)
    headers: dict[str, str] = {}
    for name, value in raw.headers:
        if name.startswith(HTTP_PREFIX):
            headers[name[len(HTTP_PREFIX):]] = value
    for name in ("content-type", "fn-call-id"):
        value = raw.header(name)
        if value is not None:
            headers[name] = value
    status_text = raw.header("fn-http-status")
    status = int(status_text) if status_text and status_text.isdigit() else 200
    return HttpResult(status, headers, raw.body, raw.status, raw)


def map_invoke_response(raw: RawResponse) -> HttpResult:
    """``fn invoke``'s view: the socket status and headers as sent (minus fdk bookkeeping)."""
    headers = {name: value for name, value in raw.headers if name not in _FDK_ONLY_HEADERS}
    return HttpResult(raw.status, headers, raw.body, raw.status, raw)


# ---------------------------------------------------------------------------------------------
# Transport: one connection per call, closed afterwards
# ---------------------------------------------------------------------------------------------


def roundtrip_sync(socket_path: str, request: bytes, *, timeout: float) -> RawResponse:
    """Send one request on a fresh unix-socket connection and read the answer; always close."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(socket_path)
            sock.sendall(request)
            chunks = bytearray()
            while not _body_complete(chunks):
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                chunks += chunk
        except socket.timeout as exc:
            raise TimeoutError("no answer from the fdk before the deadline") from exc
        except OSError as exc:
            raise FdkCallError(f"fdk socket exchange failed: {exc.__class__.__name__}: {exc}") from exc
    finally:
        sock.close()
    return parse_http_response(bytes(chunks))


async def roundtrip_async(socket_path: str, request: bytes) -> RawResponse:
    """Async twin of :func:`roundtrip_sync`; the caller bounds it with ``asyncio.wait_for``."""
    try:
        reader, writer = await asyncio.open_unix_connection(socket_path, limit=1 << 20)
    except OSError as exc:
        raise FdkCallError(f"cannot connect to the fdk: {exc.__class__.__name__}: {exc}") from exc
    try:
        writer.write(request)
        await writer.drain()
        chunks = bytearray()
        while not _body_complete(chunks):
            chunk = await reader.read(1 << 20)
            if not chunk:
                break
            chunks += chunk
    except OSError as exc:
        raise FdkCallError(f"fdk socket exchange failed: {exc.__class__.__name__}: {exc}") from exc
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return parse_http_response(bytes(chunks))


# ---------------------------------------------------------------------------------------------
# One fdk process
# ---------------------------------------------------------------------------------------------


def fdk_command(func_path: Path, entrypoint: str = "handler") -> list[str]:
    """The container's ENTRYPOINT equivalent: the venv's ``fdk`` script, else the same main via -c."""
    script = Path(sys.executable).with_name("fdk")
    if script.exists():
        return [sys.executable, str(script), str(func_path), entrypoint]
    return [sys.executable, "-c", "import sys; from fdk.scripts.fdk import main; main()", str(func_path), entrypoint]


def minimal_environ() -> dict[str, str]:
    """A clean, Functions-like base environment (the developer's OCI_* variables do not leak in)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "FN_APP_ID": "ocid1.fnapp.oc1..local",
        "FN_FN_ID": "ocid1.fnfunc.oc1..local",
        "FN_MEMORY": "256",
        "FN_TYPE": "sync",
    }
    return env


class FdkProcess:
    """One fdk process serving ``func_path`` on a unix socket, like one Functions container.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. Output (the function log) goes
    to a file in the socket directory unless ``inherit_output`` is set; :meth:`log_text` reads it.
    """

    def __init__(
        self,
        func_path: str | os.PathLike[str] = DEFAULT_FUNC,
        env: Mapping[str, str] | None = None,
        *,
        entrypoint: str = "handler",
        base_env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] = REPO_ROOT,
        inherit_output: bool = False,
        ready_timeout_s: float = 15.0,
    ) -> None:
        self.func_path = Path(func_path).resolve()
        self.entrypoint = entrypoint
        self.cwd = Path(cwd)
        self.inherit_output = inherit_output
        self.ready_timeout_s = ready_timeout_s
        self._extra_env = dict(env or {})
        self._base_env = dict(base_env) if base_env is not None else minimal_environ()
        self._dir: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_handle: object | None = None
        self.socket_path: str = ""
        self.log_path: Path | None = None
        self.ready_seconds: float | None = None
        """Seconds from spawn until the socket symlink appeared (the fdk's share of a cold start)."""

    # -- lifecycle -----------------------------------------------------------------------------

    def build_env(self) -> dict[str, str]:
        env = dict(self._base_env)
        env.update(self._extra_env)
        paths = [str(self.func_path.parent), str(REPO_ROOT)]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
        env["FN_FORMAT"] = "http-stream"
        env["FN_LISTENER"] = f"unix:{self.socket_path}"
        return env

    def start(self) -> "FdkProcess":
        if self._proc is not None:
            raise RuntimeError("already started")
        if not self.func_path.exists():
            raise FdkStartError(f"function module not found: {self.func_path}")
        self._dir = tempfile.mkdtemp(prefix="fdk", dir="/tmp")
        self.socket_path = os.path.join(self._dir, "lsnr.sock")
        if len(self.socket_path.encode()) > MAX_SOCKET_PATH:
            raise FdkStartError(f"socket path longer than {MAX_SOCKET_PATH} bytes: {self.socket_path}")
        self.log_path = Path(self._dir) / "fn.log"
        if self.inherit_output:
            stdout = stderr = None
        else:
            self._log_handle = open(self.log_path, "wb")
            stdout, stderr = self._log_handle, subprocess.STDOUT
        started = time.monotonic()
        self._proc = subprocess.Popen(
            fdk_command(self.func_path, self.entrypoint),
            env=self.build_env(),
            cwd=str(self.cwd),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            # Own process group: a terminal Ctrl-C reaches only the parent, which then stops us cleanly.
            process_group=0,
        )
        try:
            self._wait_ready(started)
        except BaseException:
            self.cleanup()  # the error message already carries the log tail
            raise
        return self

    def _wait_ready(self, started: float) -> None:
        assert self._proc is not None
        limit = started + self.ready_timeout_s
        while not os.path.islink(self.socket_path):
            code = self._proc.poll()
            if code is not None:
                raise FdkStartError(
                    f"fdk exited with code {code} before listening on {self.socket_path}\n{self.stderr_tail()}"
                )
            if time.monotonic() > limit:
                raise FdkStartError(f"fdk not ready after {self.ready_timeout_s:.0f} s\n{self.stderr_tail()}")
            time.sleep(0.005)
        self.ready_seconds = time.monotonic() - started

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it lingers; remove the socket directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        if self._log_handle is not None:
            self._log_handle.close()  # type: ignore[attr-defined]
            self._log_handle = None
        # Keep the log readable after stop; remove only the sockets.
        if self._dir:
            for name in os.listdir(self._dir):
                if name != "fn.log":
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(self._dir, name))

    def cleanup(self) -> None:
        """Stop and delete the directory including the log."""
        self.stop()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def restart(self) -> "FdkProcess":
        """Replace the process (Fn discards a container after a timeout or a crash)."""
        self.cleanup()
        self.ready_seconds = None
        return self.start()

    def __enter__(self) -> "FdkProcess":
        return self.start() if self._proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def __repr__(self) -> str:  # env may hold secrets: never show it
        return f"FdkProcess({self.func_path.name}, pid={self.pid}, alive={self.alive})"

    # -- introspection -------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        """Everything the function wrote to stdout/stderr so far (empty with ``inherit_output``)."""
        if self._log_handle is not None:
            self._log_handle.flush()  # type: ignore[attr-defined]
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text("utf-8", errors="replace")
        return ""

    def stderr_tail(self, lines: int = 30) -> str:
        text = self.log_text()
        if not text:
            return "(no output captured)" if not self.inherit_output else "(output went to the terminal)"
        return "\n".join(text.splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User+system CPU time the fdk process has used (Linux /proc); for spin checks."""
        if self.pid is None:
            raise RuntimeError("not running")
        with open(f"/proc/{self.pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")

    def open_socket_count(self) -> int:
        """Number of socket fds the fdk holds (the listener plus any live connections)."""
        if self.pid is None:
            raise RuntimeError("not running")
        count = 0
        fd_dir = f"/proc/{self.pid}/fd"
        for name in os.listdir(fd_dir):
            with contextlib.suppress(OSError):
                if os.readlink(os.path.join(fd_dir, name)).startswith("socket:"):
                    count += 1
        return count

    # -- calls -----------------------------------------------------------------------------------

    def _require_socket(self) -> str:
        if self._proc is None:
            raise RuntimeError("fdk process not started")
        return self.socket_path

    def call_http(
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
        """An API Gateway call (``Fn-Intent: httprequest``), mapped as the client would see it."""
        request = _http_request_bytes(method, path_and_query, headers, body, deadline_s, call_id, request_id)
        raw = roundtrip_sync(self._require_socket(), request, timeout=deadline_s + 5)
        return map_gateway_response(raw)

    async def acall_http(
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
        """Async :meth:`call_http`; raises ``TimeoutError`` past the deadline (+5 s grace)."""
        request = _http_request_bytes(method, path_and_query, headers, body, deadline_s, call_id, request_id)
        raw = await asyncio.wait_for(roundtrip_async(self._require_socket(), request), deadline_s + 5)
        return map_gateway_response(raw)

    def call_invoke(
        self,
        body: bytes | str = b"",
        *,
        content_type: str | None = "application/json",
        deadline_s: float = DEFAULT_TIMEOUT_S,
        intent: str | None = None,
        call_id: str | None = None,
        request_id: str | None = None,
    ) -> HttpResult:
        """What ``fn invoke`` (or OCI Events, with ``intent='cloudevent'``) sends: raw socket result."""
        request = _invoke_request_bytes(body, content_type, deadline_s, intent, call_id, request_id)
        return map_invoke_response(roundtrip_sync(self._require_socket(), request, timeout=deadline_s + 5))

    async def acall_invoke(
        self,
        body: bytes | str = b"",
        *,
        content_type: str | None = "application/json",
        deadline_s: float = DEFAULT_TIMEOUT_S,
        intent: str | None = None,
        call_id: str | None = None,
        request_id: str | None = None,
    ) -> HttpResult:
        request = _invoke_request_bytes(body, content_type, deadline_s, intent, call_id, request_id)
        raw = await asyncio.wait_for(roundtrip_async(self._require_socket(), request), deadline_s + 5)
        return map_invoke_response(raw)


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _split_content_type(
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> tuple[list[tuple[str, str]], str | None]:
    pairs = list(headers.items() if isinstance(headers, Mapping) else (headers or []))
    content_type = None
    for name, value in pairs:
        if name.lower() == "content-type":
            content_type = value
    return pairs, content_type


def _http_request_bytes(
    method: str,
    path_and_query: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    body: bytes | str,
    deadline_s: float,
    call_id: str | None,
    request_id: str | None,
) -> bytes:
    pairs, content_type = _split_content_type(headers)
    fn_headers = http_call_headers(
        method,
        path_and_query,
        pairs,
        body_content_type=content_type,
        deadline_s=deadline_s,
        call_id=call_id or new_call_id(),
        request_id=request_id or secrets.token_hex(16),
    )
    return build_call_request(fn_headers, _as_bytes(body))


def _invoke_request_bytes(
    body: bytes | str,
    content_type: str | None,
    deadline_s: float,
    intent: str | None,
    call_id: str | None,
    request_id: str | None,
) -> bytes:
    fn_headers = invoke_call_headers(
        content_type=content_type,
        deadline_s=deadline_s,
        call_id=call_id or new_call_id(),
        request_id=request_id or secrets.token_hex(16),
        intent=intent,
    )
    return build_call_request(fn_headers, _as_bytes(body))


# ---------------------------------------------------------------------------------------------
# A pool of processes
# ---------------------------------------------------------------------------------------------


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
        request = _http_request_bytes(method, path_and_query, headers, body, deadline_s, call_id, request_id)
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
    ) -> HttpResult:
        request = _invoke_request_bytes(body, content_type, deadline_s, intent, call_id, request_id)
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

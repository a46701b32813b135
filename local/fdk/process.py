"""One fdk process serving a function module on a unix socket, like one Functions container.

No Docker and no Fn server: the fdk console script runs with ``FN_FORMAT=http-stream`` and
``FN_LISTENER=unix:...``, and :mod:`local.fdk.wire` speaks the agent's side of the contract.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from local.fdk.wire import (
    DEFAULT_TIMEOUT_S,
    FdkCallError,
    FdkStartError,
    HttpResult,
    RawResponse,
    body_complete,
    http_request_bytes,
    invoke_request_bytes,
    map_gateway_response,
    map_invoke_response,
    parse_http_response,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FUNC = REPO_ROOT / "func.py"
DOCKERFILE = REPO_ROOT / "Dockerfile"
MAX_SOCKET_PATH = 107  # Fn contract: the listener path is at most 107 bytes


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
            while not body_complete(chunks):
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
        while not body_complete(chunks):
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


def relay_lines(stream: Any, label: str | None) -> None:
    """Copy a child's output to our stderr line by line, each line labelled with its source."""
    prefix = f"{label or '':<8} | "
    for line in iter(stream.readline, b""):
        sys.stderr.write(prefix + line.decode("utf-8", errors="replace").rstrip("\n") + "\n")
        sys.stderr.flush()
    stream.close()


def fdk_command(func_path: Path, entrypoint: str = "handler") -> list[str]:
    """The container's ENTRYPOINT equivalent: ``python -m adapters.fdk_main`` (the fdk's main, guarded)."""
    return [sys.executable, "-m", "adapters.fdk_main", str(func_path), entrypoint]


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
    env.update(image_allocator_environ())
    return env


def image_allocator_environ(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """The allocator settings the function image sets (``ENV MALLOC_...`` in the Dockerfile), so a local
    process reuses memory as the container's does."""
    found: dict[str, str] = {}
    for line in dockerfile.read_text().splitlines():
        if line.startswith("ENV "):
            pairs = (word.partition("=") for word in line.split()[1:])
            found.update({name: value for name, _, value in pairs if name.startswith("MALLOC_")})
    return found


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
        label: str | None = None,
    ) -> None:
        self.func_path = Path(func_path).resolve()
        self.entrypoint = entrypoint
        self.cwd = Path(cwd)
        self.inherit_output = inherit_output
        self.label = label
        """With ``inherit_output``: each output line goes to this process's stderr prefixed ``<label> | ``."""
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
        if self.inherit_output and self.label:
            stdout, stderr = subprocess.PIPE, subprocess.STDOUT
        elif self.inherit_output:
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
        if self._proc.stdout is not None:
            threading.Thread(target=relay_lines, args=(self._proc.stdout, self.label), daemon=True,
                             name=f"{self.label}-output").start()
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
        request = http_request_bytes(method, path_and_query, headers, body, deadline_s, call_id, request_id)
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
        request = http_request_bytes(method, path_and_query, headers, body, deadline_s, call_id, request_id)
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
        invoke_type: str = "sync",
    ) -> HttpResult:
        """What ``fn invoke`` (or OCI Events, with ``intent='cloudevent'``) sends: raw socket result."""
        request = invoke_request_bytes(body, content_type, deadline_s, intent, call_id, request_id, invoke_type)
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
        invoke_type: str = "sync",
    ) -> HttpResult:
        request = invoke_request_bytes(body, content_type, deadline_s, intent, call_id, request_id, invoke_type)
        raw = await asyncio.wait_for(roundtrip_async(self._require_socket(), request), deadline_s + 5)
        return map_invoke_response(raw)

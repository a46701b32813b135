"""The gateway side of the comparison: fdk processes on a unix socket, and the front as its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from local.fdk.process import FdkProcess, minimal_environ

REPO_ROOT = Path(__file__).resolve().parents[1]
GATEWAY_FUNC = REPO_ROOT / "func.py"
NOOP_FUNC = Path(__file__).resolve().parent / "noop_func.py"


def vm_hwm_mib(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, MiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


def vm_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cold_start(env: Mapping[str, str], body: bytes, func: Path = GATEWAY_FUNC) -> dict[str, float]:
    """Spawn the function (``fdk func.py handler``) and time until its first chat is answered."""
    started = time.perf_counter()
    proc = FdkProcess(func, env)
    try:
        proc.start()
        ready = time.perf_counter() - started
        result = proc.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"}, body,
                                deadline_s=60)
        total = time.perf_counter() - started
        if result.status != 200:
            raise RuntimeError(f"gateway cold call answered {result.status}: {result.body[:300]!r}")
        assert proc.pid is not None
        return {"ready_s": ready, "spawn_to_answer_s": total, "vm_hwm_mib": vm_hwm_mib(proc.pid),
                "cpu_s": proc.cpu_seconds()}
    finally:
        proc.cleanup()


@dataclass
class FrontProcess:
    """``python -m bench.front_process`` with ``workers`` fdk processes running ``func``."""

    env: Mapping[str, str]
    workers: int = 1
    func: Path = GATEWAY_FUNC
    timeout_s: float = 30.0
    url: str = ""
    pids: list[int] = field(default_factory=list)
    proc: subprocess.Popen[str] | None = field(default=None, repr=False)

    def __enter__(self) -> "FrontProcess":
        environ = {**minimal_environ(), **self.env, "PYTHONPATH": str(REPO_ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.front_process", "--workers", str(self.workers), "--func", str(self.func),
             "--timeout", str(self.timeout_s)],
            env=environ, cwd=REPO_ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            stdin=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("front http://"):
            self.__exit__()
            raise RuntimeError(f"the front did not start: {line!r}")
        _, self.url, pids = line.split()
        self.pids = [int(p) for p in pids.removeprefix("pids=").split(",")]
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the front's stdin (it then stops its pool); if it had to be killed, kill its pool too."""
        clean = True
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                clean = self.proc.wait(60) == 0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                clean = False
        if not clean:
            for pid in self.pids:
                _kill_if_fdk(pid, str(self.func))


def _kill_if_fdk(pid: int, func: str) -> None:
    """SIGKILL ``pid`` only if it is still an fdk process serving ``func`` (a pid may have been reused)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
        if any(part.endswith(b"fdk") for part in argv) and func.encode() in argv:
            os.kill(pid, signal.SIGKILL)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass

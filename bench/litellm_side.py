"""LiteLLM, the comparison: its own venv, its SDK in a worker process, its proxy as a server.

``bench/.venv-litellm`` is created on first use from ``bench/requirements-litellm.txt`` (every
version pinned) and never touches the project's ``.venv``. LiteLLM's ``oci/`` provider signs with
an API key in a file (manual credentials, the way people deploy it) and is pointed at the
emulator with ``api_base``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.sockets import free_port
from bench.upstream import CHAT_BODY, CHAT_MODEL, EMBED_BODY, EMBED_MODEL, Upstream

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".venv-litellm"
REQUIREMENTS = BENCH_DIR / "requirements-litellm.txt"
WORKER = BENCH_DIR / "litellm_worker.py"
MASTER_KEY = "sk-bench-" + hashlib.sha256(str(os.getpid()).encode()).hexdigest()[:16]


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(log: Any = print) -> Path:
    """Create/refresh the LiteLLM venv when the pinned requirements changed; return its python."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return venv_python()
    if not venv_python().exists():
        log(f"creating {VENV} (LiteLLM and its proxy; first run only, a few minutes)")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    done = subprocess.run([str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "-r", str(REQUIREMENTS)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"installing {REQUIREMENTS.name} failed:\n{done.stderr[-3000:]}")
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return venv_python()


def litellm_environ() -> dict[str, str]:
    """A clean environment: offline-friendly LiteLLM settings and nothing from the developer's shell."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8", "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1",
            "LITELLM_LOG": "ERROR"}


def worker_config(upstream: Upstream, directory: Path) -> Path:
    path = directory / "litellm-worker.json"
    path.write_text(json.dumps({
        "api_base": upstream.url, "chat_model": CHAT_MODEL, "embed_model": EMBED_MODEL,
        "messages": CHAT_BODY["messages"], "max_tokens": CHAT_BODY["max_tokens"], "inputs": EMBED_BODY["input"],
        "creds": upstream.litellm_creds(),
    }))
    return path


def cold_start(config: Path) -> dict[str, float]:
    """One fresh process: spawn -> ``import litellm`` -> first ``completion`` answered (+ its peak RSS)."""
    started = time.perf_counter()
    done = subprocess.run([str(venv_python()), str(WORKER), "cold", str(config)], capture_output=True, text=True,
                          env=litellm_environ(), timeout=300, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"litellm cold start failed: {done.stderr[-1500:]}")
    result = json.loads(lines[-1])
    result["spawn_to_answer_s"] = wall
    return result


class SdkWorker:
    """A warm LiteLLM SDK process answering ``chat``/``stream``/``embed`` one call at a time."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen([str(venv_python()), str(WORKER), "serve", str(config)], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=litellm_environ())
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("the LiteLLM worker did not start")

    def call(self, what: str) -> float:
        """Seconds LiteLLM took for one call (timed inside the worker); raises on failure."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise RuntimeError(f"LiteLLM {what} failed: {answer or 'worker exited'}")
        return float(answer)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)


@dataclass
class Proxy:
    """``litellm --config`` on loopback; ``start_s`` is spawn -> ``/health/liveliness`` answering 200."""

    upstream: Upstream
    directory: Path
    url: str = ""
    start_s: float = 0.0
    first_answer_s: float = 0.0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def config(self) -> Path:
        creds = self.upstream.litellm_creds()

        def entry(model: str) -> dict[str, Any]:
            return {"model_name": model, "litellm_params": {"model": f"oci/{model}", "api_base": self.upstream.url,
                                                            **creds}}

        # JSON is valid YAML: no yaml dependency needed on our side.
        path = self.directory / "litellm-proxy.yaml"
        path.write_text(json.dumps({"model_list": [entry(CHAT_MODEL), entry(EMBED_MODEL)],
                                    "litellm_settings": {"drop_params": True}}))
        return path

    def start(self, timeout_s: float = 240.0) -> "Proxy":
        port = free_port()
        env = {**litellm_environ(), "LITELLM_MASTER_KEY": MASTER_KEY}
        log = open(self.directory / f"litellm-proxy-{port}.log", "wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen([str(VENV / "bin" / "litellm"), "--config", str(self.config()),
                                      "--host", "127.0.0.1", "--port", str(port)],
                                     env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.url = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=5) as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the LiteLLM proxy exited with {self.proc.returncode}")
                if time.perf_counter() - started > timeout_s:
                    self.stop()
                    raise RuntimeError(f"the LiteLLM proxy did not answer within {timeout_s:.0f} s")
                try:
                    if client.get(self.url + "/health/liveliness").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            self.start_s = time.perf_counter() - started
            answer = client.post(self.url + "/v1/chat/completions", json=CHAT_BODY, headers=self.headers,
                                 timeout=120)
            answer.raise_for_status()
            self.first_answer_s = time.perf_counter() - started
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {MASTER_KEY}"}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

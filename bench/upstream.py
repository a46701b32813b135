"""The shared upstream of every benchmark: one OCI emulator process and the credentials it accepts.

The emulator runs in its own process (its CPU work must not share a GIL with what is measured)
and accepts two keys: the gateway's resource principal (what a Function has) and an API key in a
file (what LiteLLM's ``oci/`` provider signs with). ``direct_*`` helpers replay an OCI request
with a pre-computed signature, so the "direct" baseline is the cheapest possible client: it pays
for the network and the emulator only, and anything a gateway adds on top (signing included)
counts as that gateway's overhead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.tls import LocalTLS, make_local_tls
from local.local_credentials import LocalCredentials, make_api_key_env, make_resource_principal_env

COMPARTMENT = "ocid1.compartment.oc1..bench"
REGION = "us-chicago-1"
CHAT_MODEL = "meta.llama-3.3-70b-instruct"
EMBED_MODEL = "cohere.embed-v4.0"  # Embed v3 was retired by OCI on 2026-10-21
CHAT_BODY: dict[str, Any] = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hello there"}],
                             "max_tokens": 50}
STREAM_BODY: dict[str, Any] = {**CHAT_BODY, "stream": True}
EMBED_BODY: dict[str, Any] = {"model": EMBED_MODEL, "input": [f"benchmark sentence number {i}" for i in range(96)],
                              "encoding_format": "float"}
EMBED_BASE64_BODY: dict[str, Any] = {**EMBED_BODY, "encoding_format": "base64"}  # the openai SDK's default


REPO_ROOT = Path(__file__).resolve().parents[1]


def start_emulator(key_id: str, public_key_pem: str, directory: str, seed: int = 7,
                   tls: LocalTLS | None = None) -> tuple[subprocess.Popen[str], str]:
    """``python -m bench.emulator_main`` accepting one key (over HTTPS with ``tls``); returns the process and its URL."""
    pem = Path(directory) / "emulator-public.pem"
    pem.write_text(public_key_pem)
    https = ["--tls-cert", str(tls.cert_file), "--tls-key", str(tls.key_file)] if tls else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.emulator_main", "--port", "0", "--public-key-file", str(pem),
         "--key-id", key_id, "--seed", str(seed), *https],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, cwd=REPO_ROOT,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "://" not in line:
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return proc, line.strip().split()[-1].rstrip("/")


@dataclass
class Upstream:
    """A running emulator (``url``) plus both credential sets; use as a context manager.

    ``https=True`` serves over TLS with a local CA; :meth:`gateway_env` then points the gateway's trust
    store at certifi's bundle plus that CA (:mod:`bench.tls`).
    """

    url: str = ""
    rp: LocalCredentials | None = None
    api: LocalCredentials | None = None
    https: bool = False
    tls: LocalTLS | None = field(default=None, repr=False)
    _proc: subprocess.Popen[str] | None = field(default=None, repr=False)
    _tmp: str = field(default="", repr=False)

    def __enter__(self) -> "Upstream":
        self._tmp = tempfile.mkdtemp(prefix="bench-creds-")
        self.rp = make_resource_principal_env(Path(self._tmp) / "rp", region=REGION)
        self.api = make_api_key_env(region=REGION, key_file_dir=Path(self._tmp) / "api")
        self.tls = make_local_tls(Path(self._tmp)) if self.https else None
        self._proc, self.url = start_emulator(self.rp.key_id, self.rp.public_key_pem, self._tmp, tls=self.tls)
        self.control("POST", "/keys", {"keyId": self.api.key_id, "publicKeyPem": self.api.public_key_pem})
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(10)
        shutil.rmtree(self._tmp, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    # --- control -------------------------------------------------------------------------------
    @property
    def verify(self) -> Any:
        """What an httpx client of this emulator passes as ``verify``."""
        import ssl

        return ssl.create_default_context(cafile=str(self.tls.trust_file)) if self.tls else True

    def control(self, method: str, path: str, payload: Any = None) -> Any:
        response = httpx.request(method, f"{self.url}/_emulator{path}", json=payload, timeout=30, verify=self.verify)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Clear faults, latency and recorded requests (keys stay)."""
        self.control("POST", "/reset")

    def recorded(self) -> list[dict[str, Any]]:
        return self.control("GET", "/requests")

    # --- environments ---------------------------------------------------------------------------
    def gateway_env(self, **extra: str) -> dict[str, str]:
        """The Function's environment: resource principal, endpoint override, compartment."""
        assert self.rp is not None
        env = dict(self.rp.env)
        env.update(GATEWAY_ROLE="gateway", OCI_GENAI_ENDPOINT=self.url, OCI_GENAI_MANAGEMENT_ENDPOINT=self.url,
                   OCI_COMPARTMENT_ID=COMPARTMENT, OCI_REGION=REGION)
        if self.tls is not None:  # the image's layout: certifi's roots (plus the local CA) as a hashed directory
            env["SSL_CERT_DIR"] = str(self.tls.trust_dir)
        env.update(extra)
        return env

    def litellm_creds(self) -> dict[str, str]:
        """What LiteLLM's ``oci/`` provider needs (manual credentials, key in a file)."""
        assert self.api is not None
        return {"oci_user": self.api.env["OCI_USER"], "oci_fingerprint": self.api.env["OCI_FINGERPRINT"],
                "oci_tenancy": self.api.env["OCI_TENANCY"], "oci_key_file": self.api.env["OCI_KEY_FILE"],
                "oci_region": REGION, "oci_compartment_id": COMPARTMENT}


@dataclass(frozen=True)
class DirectCall:
    """One OCI request ready to replay: path, exact body bytes and signed headers."""

    path: str
    body: bytes
    headers: dict[str, str] = field(repr=False)
    stream: bool = False


def presign(upstream: Upstream, path: str, oci_body: dict[str, Any], *, stream: bool = False) -> DirectCall:
    """Sign ``oci_body`` for ``path`` once with the API key (valid for the emulator's 5-minute skew)."""
    from core.oci.credentials.api_key import load_api_key
    from core.oci.signing import signing_headers

    assert upstream.api is not None
    key = load_api_key(upstream.api.env).signing_key()
    body = json.dumps(oci_body, separators=(",", ":")).encode()
    url = f"{upstream.url}{path}"
    base = {"content-type": "application/json", "accept": "text/event-stream" if stream else "application/json"}
    signed = signing_headers("POST", url, base, body, key)
    return DirectCall(path, body, {**base, **signed}, stream)


def direct_once(client: httpx.Client, upstream: Upstream, call: DirectCall) -> int:
    """Send one pre-signed call; read the whole answer (every byte of a stream)."""
    if call.stream:
        with client.stream("POST", upstream.url + call.path, content=call.body, headers=call.headers) as response:
            for _ in response.iter_raw():
                pass
            return response.status_code
    response = client.post(upstream.url + call.path, content=call.body, headers=call.headers)
    return response.status_code


def captured_oci_body(upstream: Upstream, path_suffix: str) -> dict[str, Any]:
    """The JSON body of the last request the emulator recorded on ``path_suffix`` (what the gateway sent)."""
    for request in reversed(upstream.recorded()):
        if request["path"].endswith(path_suffix) and request.get("json") is not None:
            return request["json"]
    raise RuntimeError(f"the emulator recorded no request on {path_suffix}")

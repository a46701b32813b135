"""Nothing secret leaves the function: not in a log line, an error body or a response header.

Runs every route of the gateway (and the authorizer role) through the real fdk with known
fake secrets — the caller's API key, the function's OCI private key (API-key credentials), a
resource principal's session token and key, the pepper — and with LOG_LEVEL=DEBUG, then
searches everything the function wrote and answered. It also checks the signatures the
emulator received never come back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.local_credentials import make_api_key_env, make_resource_principal_env

pytestmark = pytest.mark.integration

CALLER_KEY = "sk-CALLERSECRET0123456789abcdefABCDEF"
PEPPER = "pepper-SUPERSECRET-0123456789abcdef0123456789"

REQUESTS = [
    ("POST", "/v1/chat/completions", {"model": "meta.llama-3.3-70b-instruct",
                                      "messages": [{"role": "user", "content": "hello"}]}),
    ("POST", "/v1/chat/completions", {"model": "meta.llama-3.3-70b-instruct", "stream": True,
                                      "stream_options": {"include_usage": True},
                                      "messages": [{"role": "user", "content": "stream"}]}),
    ("POST", "/v1/chat/completions", {"model": "meta.llama-3.3-70b-instruct", "messages": "bad"}),
    ("POST", "/v1/chat/completions", {"model": "meta.not-a-model", "messages": [{"role": "user", "content": "x"}]}),
    ("POST", "/v1/embeddings", {"model": "cohere.embed-english-v3.0", "input": ["a", "b"]}),
    ("POST", "/v1/embeddings", {"model": "cohere.embed-english-v3.0", "input": []}),
    ("GET", "/v1/models", None),
    ("GET", "/v1/models/meta.llama-3.3-70b-instruct", None),
    ("GET", "/health", None),
    ("POST", "/v1/nowhere", {}),
]


def secret_fragments(env: dict[str, str]) -> list[str]:
    """Distinctive pieces of every secret in the function's environment (PEM body lines, tokens)."""
    fragments = [CALLER_KEY, PEPPER]
    for name, value in env.items():
        if name in ("OCI_KEY", "OCI_RESOURCE_PRINCIPAL_RPST", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"):
            text = Path(value).read_text() if value.startswith("/") else value
            lines = [line for line in text.replace("\\n", "\n").splitlines() if len(line) > 20
                     and "-----" not in line]
            fragments.extend(lines[:3] or [text[:40]])
    return fragments


def run_everything(gateway, emulator) -> tuple[list[str], list[str]]:
    answers: list[str] = []
    for method, path, body in REQUESTS:
        result = gateway.call_http(method, path, {"content-type": "application/json",
                                                  "authorization": f"Bearer {CALLER_KEY}",
                                                  "api-key": CALLER_KEY},
                                   json.dumps(body).encode() if body is not None else b"")
        answers.append(result.body.decode("utf-8", "replace"))
        answers.append(json.dumps(result.headers))
    signatures = []
    for record in emulator.requests:
        auth = record.headers.get("authorization", "")
        if 'signature="' in auth:
            signatures.append(auth.split('signature="', 1)[1][:40])
    return answers, signatures


@pytest.mark.parametrize("principal", ["api_key", "resource_principal"])
def test_no_secret_in_logs_bodies_or_headers(gateway_factory, emulator, tmp_path, principal):
    if principal == "api_key":
        creds = make_api_key_env()
        env = {**creds.env, "OCI_AUTH": "api_key", "OCI_RESOURCE_PRINCIPAL_VERSION": None,
               "OCI_RESOURCE_PRINCIPAL_RPST": None, "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": None}
    else:
        creds = make_resource_principal_env(tmp_path / "rp")
        env = dict(creds.env)
    emulator.add_key(creds.key_id, creds.public_key)
    gateway = gateway_factory({**env, "LOG_LEVEL": "DEBUG"})
    answers, signatures = run_everything(gateway, emulator)
    assert signatures, "the emulator saw no signed call"
    haystacks = {"function log": gateway.log_text(), "answers": "\n".join(answers)}
    full_env = {k: v for k, v in {**creds.env}.items() if v}
    for fragment in secret_fragments(full_env) + signatures:
        for where, text in haystacks.items():
            assert fragment not in text, f"a secret fragment leaked into the {where}"
    if principal == "resource_principal":
        token = Path(creds.env["OCI_RESOURCE_PRINCIPAL_RPST"]).read_text().strip()
        for where, text in haystacks.items():
            assert token[:60] not in text and token[-40:] not in text, f"the session token leaked into the {where}"
    assert '"event":"request"' in haystacks["function log"]  # the log was really captured


def test_authorizer_never_logs_keys_or_pepper(gateway_factory, emulator):
    from core.apikeys import mint

    key, record = mint("team-a", ["meta.*"], pepper=PEPPER.encode())
    table = json.dumps({"keys": [record.to_json() if hasattr(record, "to_json") else record.__dict__]})
    gateway = gateway_factory({"GATEWAY_ROLE": "authorizer", "API_KEYS": table, "API_KEYS_PEPPER": PEPPER,
                               "LOG_LEVEL": "DEBUG"})
    answers = []
    for presented in (key, CALLER_KEY, key[:-3] + "abc", ""):
        body = {"type": "USER_DEFINED", "data": {"authorization": f"Bearer {presented}"}}
        answers.append(gateway.call_invoke(json.dumps(body).encode()).body.decode())
    text = gateway.log_text() + "\n".join(answers)
    secret_part = key.rsplit("_", 1)[-1]
    assert secret_part not in text and PEPPER not in text and CALLER_KEY not in text

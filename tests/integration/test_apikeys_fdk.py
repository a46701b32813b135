"""API keys end to end: the authorizer role under the real fdk, Vault through the emulator, the gateway's
allow-list and per-key usage lines, and no key material in any log line."""

from __future__ import annotations

import json

import pytest

from core.apikeys import key_hash, new_key, new_pepper, parse_key
from local.emulator.vault import install_vault
from tests.support.logs import events_in

pytestmark = pytest.mark.integration

TABLE_OCID = "ocid1.vaultsecret.oc1.ord.amaaaaaakeytable"
PEPPER_OCID = "ocid1.vaultsecret.oc1.ord.amaaaaaapepper"
LLAMA = "meta.llama-3.3-70b-instruct"


def table(pepper: str, *keys: str, models=("meta.*", "gpt-4o"), **extra) -> str:
    return json.dumps({"keys": [{"id": parse_key(k), "hash": key_hash(k, pepper.encode()), "owner": f"o{i}",
                                 "models": list(models), **extra} for i, k in enumerate(keys)]})


def auth_body(key: str | None = None, **data) -> bytes:
    if key is not None:
        data["authorization"] = f"Bearer {key}"
    return json.dumps({"type": "USER_DEFINED", "data": data}).encode()


def answer_of(result) -> dict:
    assert result.status == 200, result.body
    return json.loads(result.body)


def log_events(proc, name: str) -> list[dict]:
    return events_in(proc.log_text(), name)


def test_authorizer_contract_through_the_real_fdk(gateway_factory):
    pepper, key, other = new_pepper(), new_key(), new_key()
    proc = gateway_factory({"GATEWAY_ROLE": "authorizer", "API_KEYS": table(pepper, key), "API_KEYS_PEPPER": pepper})
    good = answer_of(proc.call_invoke(auth_body(key)))
    assert good["active"] is True and good["principal"] == parse_key(key)
    assert good["context"] == {"key_id": parse_key(key), "owner": "o0", "allowed_models": "meta.*,gpt-4o",
                               "admin": "false", "guardrails": ""}
    assert good["expiresAt"].endswith("Z")
    # API Gateway's multi-valued form, the api-key argument, and the legacy TOKEN form.
    assert answer_of(proc.call_invoke(auth_body(**{"api-key": [key]})))["active"] is True
    assert answer_of(proc.call_invoke(json.dumps({"type": "TOKEN", "token": key})))["active"] is True
    for body in (auth_body(other), auth_body(), auth_body("sk-garbage"), b"", b"\x00\xff", b"[]",
                 json.dumps({"type": "USER_DEFINED", "data": {"authorization": {"x": 1}}}).encode()):
        bad = answer_of(proc.call_invoke(body))
        assert bad["active"] is False and bad["wwwAuthenticate"].startswith("Bearer ")
    text = proc.log_text()
    assert key not in text and other not in text and pepper not in text
    outcomes = [e["outcome"] for e in log_events(proc, "auth")]
    assert outcomes[:3] == ["ok", "ok", "ok"] and "unknown" in outcomes and "missing" in outcomes
    assert all(e["status"] == 200 for e in log_events(proc, "request"))


def test_authorizer_reads_vault_signed_and_rereads_after_the_cache(gateway_factory, emulator):
    pepper, key = new_pepper(), new_key()
    vault = install_vault(emulator, {TABLE_OCID: table(pepper, key).encode(), PEPPER_OCID: pepper.encode()})
    env = {"GATEWAY_ROLE": "authorizer", "API_KEYS_SECRET_OCID": TABLE_OCID,
           "API_KEYS_PEPPER_SECRET_OCID": PEPPER_OCID, "OCI_SECRETS_ENDPOINT": emulator.url}
    cached = gateway_factory({**env, "API_KEYS_CACHE_SECONDS": "3600"})
    fresh = gateway_factory({**env, "API_KEYS_CACHE_SECONDS": "0"})
    for proc in (cached, fresh):
        assert answer_of(proc.call_invoke(auth_body(key)))["active"] is True
    reads = [r for r in emulator.requests if r.route == "vault.getSecretBundle"]
    assert len(reads) == 4 and all(r.verified and r.method == "GET" for r in reads), reads
    assert all(r.key_id.startswith("ST$") for r in reads)  # the function's resource principal
    # Revoke: upload a new table version with the key disabled.
    vault.put(TABLE_OCID, table(pepper, key, disabled=True).encode())
    assert answer_of(fresh.call_invoke(auth_body(key)))["active"] is False  # cache 0: re-read at once
    assert answer_of(cached.call_invoke(auth_body(key)))["active"] is True  # still within its cache window
    assert len([r for r in emulator.requests if r.route == "vault.getSecretBundle"]) == 6
    for proc in (cached, fresh):
        text = proc.log_text()
        assert key not in text and pepper not in text


def test_vault_unavailable_is_inactive_not_5xx(gateway_factory, emulator):
    install_vault(emulator, {})  # the secret does not exist: OCI's 404
    key = new_key()
    proc = gateway_factory({"GATEWAY_ROLE": "authorizer", "API_KEYS_SECRET_OCID": TABLE_OCID,
                            "API_KEYS_PEPPER": new_pepper(), "OCI_SECRETS_ENDPOINT": emulator.url,
                            "OCI_MAX_RETRIES": "0"})
    result = proc.call_invoke(auth_body(key))
    assert answer_of(result) == {"active": False,
                                 "wwwAuthenticate": 'Bearer realm="oci-genai-gateway", error="invalid_token"'}
    errors = log_events(proc, "apikeys_unavailable")
    assert errors and errors[0]["level"] == "error"
    assert key not in proc.log_text()


def test_emulated_vault_speaks_the_sdk_protocol(emulator, rsa_key):
    """The oci SDK's own SecretsClient reads a secret from the emulator (signature verified)."""
    import base64

    import oci
    from cryptography.hazmat.primitives import serialization

    from core.oci.signing import fingerprint
    from tests.conftest import TEST_TENANCY, TEST_USER

    fp = fingerprint(rsa_key.public_key())
    emulator.add_key(f"{TEST_TENANCY}/{TEST_USER}/{fp}", rsa_key.public_key())
    install_vault(emulator, {TABLE_OCID: b"hello vault"})
    pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    signer = oci.signer.Signer(TEST_TENANCY, TEST_USER, fp, None, private_key_content=pem)
    config = {"region": "us-chicago-1", "tenancy": TEST_TENANCY, "user": TEST_USER, "fingerprint": fp,
              "key_file": "/unused"}  # the signer carries the key; the SDK validates the config anyway
    client = oci.secrets.SecretsClient(config, signer=signer,
                                       service_endpoint=emulator.url)
    bundle = client.get_secret_bundle(TABLE_OCID).data
    assert base64.b64decode(bundle.secret_bundle_content.content) == b"hello vault"
    assert bundle.secret_id == TABLE_OCID and "CURRENT" in bundle.stages
    assert emulator.requests[-1].verified


def chat_body(model: str, **extra) -> bytes:
    return json.dumps({"model": model, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 20,
                       **extra}).encode()


def test_gateway_enforces_the_allow_list_and_logs_usage_per_key(gateway_factory, emulator):
    proc = gateway_factory()
    granted = {"content-type": "application/json", "X-Gateway-Key-Id": "abc123def456",
               "X-Gateway-Allowed-Models": "meta.*"}
    denied = proc.call_http("POST", "/v1/chat/completions", granted, chat_body("cohere.command-r-plus-08-2024"))
    assert denied.status == 403
    error = json.loads(denied.body)["error"]
    assert error["code"] == "model_not_allowed" and error["type"] == "permission_error"
    assert not [r for r in emulator.requests if r.path.endswith("/actions/chat")]  # refused before OCI
    ok = proc.call_http("POST", "/v1/chat/completions", granted, chat_body(LLAMA))
    assert ok.status == 200, ok.body
    usage = json.loads(ok.body)["usage"]
    streamed = proc.call_http("POST", "/v1/chat/completions", granted,
                              chat_body(LLAMA, stream=True, stream_options={"include_usage": True}))
    assert streamed.status == 200
    # Without the headers (fn invoke, IAM-authenticated) there is no allow-list.
    free = proc.call_http("POST", "/v1/chat/completions", {"content-type": "application/json"},
                          chat_body("cohere.command-r-plus-08-2024"))
    assert free.status == 200, free.body
    lines = log_events(proc, "request")
    per_key = [line for line in lines if line.get("key_id") == "abc123def456"]
    assert [line["status"] for line in per_key] == [403, 200, 200]
    assert per_key[1]["prompt_tokens"] == usage["prompt_tokens"]
    assert per_key[1]["completion_tokens"] == usage["completion_tokens"]
    assert "key_id" not in lines[-1]
    end = log_events(proc, "stream_end")
    assert end and end[-1]["key_id"] == "abc123def456" and end[-1]["completion_tokens"] > 0

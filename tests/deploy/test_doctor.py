"""The doctor against the emulator: it passes, and each injected fault fails with the fix that cures it."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from typing import Any, Iterator

import pytest
import trustme

from core import doctor, runtime
from local.local_credentials import make_resource_principal_env
from tests.deploy.conftest import REPO
from tests.support.runtime import reset_settings

GRANTEE = "group DoctorTesters"


@pytest.fixture
def env(gateway_env: dict[str, str], emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for key, value in gateway_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OCI_MAX_RETRIES", "0")
    reset_settings()
    runtime.set_credentials(None)
    yield gateway_env
    runtime.reset()


def _run(role: str = "gateway", **kwargs: Any) -> doctor.Report:
    async def go() -> doctor.Report:
        try:
            return await doctor.run(role, grantee=GRANTEE, **kwargs)
        finally:
            await runtime.close_client()

    return asyncio.run(go())


def _failed(report: doctor.Report) -> dict[str, doctor.Check]:
    return {check.name: check for check in report.checks if not check.ok}


def test_every_gateway_check_passes_against_the_emulator(env: dict, emulator: Any) -> None:
    report = _run()
    assert report.ok, [c.to_json() for c in report.checks]
    names = [check.name for check in report.checks]
    assert names[:2] == ["credentials", "endpoint 127.0.0.1"]
    assert "chat meta.llama-3.3-70b-instruct" in names and "model listing" in names
    (embedding,) = [check for check in report.checks if check.name.startswith("embeddings ")]
    # The embedding is asked as base64 (the openai SDK's default), which shows whether OCI's own strings are used.
    assert embedding.detail == "1-input embedding; OCI's base64 strings passed through"
    (embed_call,) = [r for r in emulator.requests if r.path.endswith("/actions/embedText")]
    assert embed_call.json["embeddingTypes"] == ["float", "base64"]
    chat = [r for r in emulator.requests if r.path.endswith("/actions/chat")]
    assert chat and chat[0].json["chatRequest"]["maxTokens"] == 1 and all(r.verified for r in emulator.requests)
    assert all(check.ms is not None and check.ms >= 0 for check in report.checks[1:])


def test_an_embedding_refused_with_embedding_types_passes_and_says_base64_is_packed(env: dict, emulator: Any) -> None:
    emulator.inject(400, path_contains="/actions/embedText")
    report = _run()
    assert report.ok, [c.to_json() for c in report.checks]
    (embedding,) = [check for check in report.checks if check.name.startswith("embeddings ")]
    assert embedding.detail == "1-input embedding; base64 packed here (a 400 for embeddingTypes ['float', 'base64'])"
    calls = [r.json for r in emulator.requests if r.path.endswith("/actions/embedText")]
    assert [c.get("embeddingTypes") for c in calls] == [["float", "base64"], None]


def test_a_401_names_the_credentials(env: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    stranger = make_resource_principal_env(tmp_path, region="us-chicago-1")  # a key the emulator does not know
    for key, value in stranger.env.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    runtime.set_credentials(None)
    failed = _failed(_run())
    assert "chat meta.llama-3.3-70b-instruct" in failed
    assert "rejected the request signature" in failed["chat meta.llama-3.3-70b-instruct"].fix
    assert "fingerprint" in failed["chat meta.llama-3.3-70b-instruct"].fix


def test_a_404_not_authorized_names_the_missing_statement(env: dict, emulator: Any) -> None:
    emulator.inject(404, path_contains="/actions/chat")
    failed = _failed(_run())
    assert list(failed) == ["chat meta.llama-3.3-70b-instruct"]
    assert failed["chat meta.llama-3.3-70b-instruct"].fix.startswith(
        "add the policy statement: Allow group DoctorTesters to use generative-ai-chat in compartment id "
        "ocid1.compartment.oc1..local")


def test_listing_refused_names_inspect_generative_ai_model(env: dict, emulator: Any) -> None:
    # Every read refused: the gateway's own background read of the list (started by the chat check) may take one.
    emulator.inject(404, times=10, path_contains="/20231130/models")
    failed = _failed(_run())
    assert "Allow group DoctorTesters to inspect generative-ai-model in compartment id" in failed["model listing"].fix


def test_a_timeout_points_at_egress(env: dict, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_TIMEOUT_SECONDS", "0.5")
    reset_settings()
    emulator.emulator.latency = 1.5
    report = _run()
    failed = _failed(report)
    assert "chat meta.llama-3.3-70b-instruct" in failed, [c.to_json() for c in report.checks]
    fix = failed["chat meta.llama-3.3-70b-instruct"].fix
    assert "did not answer in time" in fix and 'egress = "nat"' in fix


def test_a_name_that_does_not_resolve_points_at_the_region(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_GENAI_ENDPOINT", "https://genai.doctor-test.invalid")
    reset_settings()
    report = _run()
    endpoint = report.checks[-1]
    assert (endpoint.name, endpoint.ok) == ("endpoint genai.doctor-test.invalid", False)
    assert endpoint.detail.startswith("dns:") and "check OCI_REGION" in endpoint.fix
    assert len(report.checks) == 2  # nothing is called through an endpoint that cannot be reached


@pytest.fixture
def untrusted_tls_server() -> Iterator[int]:
    """A TLS server whose certificate no public CA signed (what a TLS-intercepting proxy looks like)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0, ssl=context))
    port = server.sockets[0].getsockname()[1]
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_a_tls_failure_points_at_the_proxy(env: dict, monkeypatch: pytest.MonkeyPatch,
                                           untrusted_tls_server: int) -> None:
    monkeypatch.setenv("OCI_GENAI_ENDPOINT", f"https://localhost:{untrusted_tls_server}")
    reset_settings()
    endpoint = _run().checks[-1]
    assert endpoint.ok is False and endpoint.detail.startswith("tls:")
    assert "certificate" in endpoint.detail
    assert "intercepts HTTPS" in endpoint.fix and "SSL_CERT_FILE" in endpoint.fix


def test_make_doctor_runs_the_doctor_module() -> None:
    result = subprocess.run(["make", "-n", "doctor", "ARGS=--capture out.json"], cwd=REPO, check=False,
                            capture_output=True, text=True, timeout=60)
    assert ".venv/bin/python -m deploy.doctor --capture out.json" in result.stdout


def test_a_fresh_clone_passes_against_the_emulator_and_captures(tmp_path: Any) -> None:
    """No credentials at all (a new HOME, no OCI_*): the doctor starts the emulator, passes, writes a capture."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCI_")}
    env["HOME"] = str(tmp_path)
    capture = tmp_path / "capture.json"
    result = subprocess.run([sys.executable, "-m", "deploy.doctor", "--capture", str(capture)], cwd=REPO, env=env,
                            check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed." in result.stdout and "bundled emulator" in result.stderr
    document = json.loads(capture.read_text())
    text = capture.read_text()
    assert "ocid1." not in text and "Signature " not in text and "Reply with the single word" not in text
    cases = {exchange["case"] for exchange in document["exchanges"]}
    assert "cohere-v2 tool-call stream" in cases


# --- inside the deployment: fn invoke {"doctor": true} and GET /health?deep=1 ---------------------------------------

def test_fn_invoke_doctor_runs_the_gateway_checks_in_the_function(gateway_factory: Any, emulator: Any) -> None:
    function = gateway_factory()
    result = function.call_invoke(json.dumps({"doctor": True}).encode())
    report = json.loads(result.body)
    assert result.status == 200 and report["doctor"] == "gateway" and report["status"] == "ok", report
    assert {"credentials", "model listing", "chat meta.llama-3.3-70b-instruct"} <= {c["check"] for c in report["checks"]}
    emulator.inject(404, path_contains="/actions/chat")
    failed = [c for c in json.loads(function.call_invoke(b'{"doctor": true}').body)["checks"] if not c["ok"]]
    assert failed[0]["fix"].startswith("add the policy statement: Allow dynamic-group <name_prefix>-gateway-fn to "
                                       "use generative-ai-chat in compartment id")


def test_the_authorizer_doctor_names_the_secret_it_cannot_read(gateway_factory: Any, emulator: Any) -> None:
    secret = "ocid1.vaultsecret.oc1.us-chicago-1.doctormissing"
    function = gateway_factory({"GATEWAY_ROLE": "authorizer", "API_KEYS_SECRET_OCID": secret,
                                "API_KEYS_PEPPER": "p" * 44, "OCI_SECRETS_ENDPOINT": emulator.url})
    report = json.loads(function.call_invoke(b'{"doctor": true}').body)
    assert report["doctor"] == "authorizer" and report["status"] == "fail"
    [failed] = [c for c in report["checks"] if not c["ok"]]
    assert f"read secret-bundles in compartment id <the secrets' compartment> where any {{target.secret.id = " \
           f"'{secret}'}}" in failed["fix"]


async def _deep(admin: str | None) -> Any:
    from core.exchange import HTTP, Headers, Request
    from handlers.router import dispatch

    headers = Headers({"x-gateway-key-id": "k1", "x-gateway-allowed-models": "*",
                       **({"x-gateway-admin": admin} if admin is not None else {})})
    response = await dispatch(Request(method="GET", path="/v1/health", query="deep=1", headers=headers, kind=HTTP))
    return response.status, json.loads(response.body)


def test_deep_health_needs_an_admin_key_and_runs_at_most_once_a_minute(env: dict, emulator: Any) -> None:
    async def scenario() -> list[Any]:
        try:
            return [await _deep(None), await _deep("false"), await _deep("true"), await _deep("true")]
        finally:
            await runtime.close_client()

    (anonymous, refused, first, again) = asyncio.run(scenario())
    assert anonymous[0] == refused[0] == 403 and refused[1]["error"]["code"] == "admin_required"
    assert first[0] == 200 and first[1]["status"] == "ok" and "cached_seconds" not in first[1]
    assert again[0] == 200 and again[1]["checks"] == first[1]["checks"] and again[1]["cached_seconds"] < 60
    assert len([r for r in emulator.requests if r.path.endswith("/actions/chat")]) == 1  # tokens spent once


# --- the policies Terraform should have created ---------------------------------------------------------------------

EXPECTED = {"compartment_id": "ocid1.compartment.oc1..policies",
            "statements": ["Allow dynamic-group genai-gw-gateway-fn to use generative-ai-chat in compartment id x",
                           "Allow service cloudEvents to use functions-family in compartment id x"]}


def test_the_policies_terraform_created_are_found(env: dict, emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_IDENTITY_ENDPOINT", emulator.url)
    reset_settings()
    emulator.policies[:] = [{"name": "genai-gw-functions", "compartmentId": EXPECTED["compartment_id"],
                             "statements": ["allow dynamic-group genai-gw-gateway-fn to use  generative-ai-chat in "
                                            "compartment id x"]},
                            {"name": "genai-gw-services", "compartmentId": EXPECTED["compartment_id"],
                             "statements": [EXPECTED["statements"][1]]}]
    check = _run(expected_policies=EXPECTED).checks[-1]
    assert (check.name, check.ok, check.detail) == ("policies", True, "all 2 statements present")


def test_a_missing_statement_is_named_with_where_it_belongs(env: dict, emulator: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_IDENTITY_ENDPOINT", emulator.url)
    reset_settings()
    emulator.policies[:] = [{"name": "other", "compartmentId": EXPECTED["compartment_id"],
                             "statements": [EXPECTED["statements"][1]]}]
    check = _run(expected_policies=EXPECTED).checks[-1]
    assert check.ok is False and "1 of 2 statements missing in compartment ocid1.compartment.oc1..policies" in check.detail
    assert check.fix.endswith(EXPECTED["statements"][0])


def test_policies_that_cannot_be_read_name_inspect_policies(env: dict, emulator: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_IDENTITY_ENDPOINT", emulator.url)
    reset_settings()
    emulator.inject(404, path_contains="/policies")
    check = _run(expected_policies=EXPECTED).checks[-1]
    assert "Allow group DoctorTesters to inspect policies in compartment id ocid1.compartment.oc1..policies" in check.fix

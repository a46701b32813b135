"""The pooled OCI client: signing, retries with backoff and Retry-After, deadlines, error mapping."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from core.oci.client import OCIClient, backoff_delay, parse_retry_after
from core.errors import APIError
from core.settings import Settings

URL = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/chat"


class Sleeps:
    """Records backoff waits instead of sleeping, so tests stay fast."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(creds, **settings) -> tuple[OCIClient, Sleeps]:
    sleeps = Sleeps()
    return OCIClient(Settings(**settings), creds, sleep=sleeps), sleeps


def verify_signature(request: httpx.Request, public_key) -> None:
    auth = request.headers["authorization"]
    fields = dict(part.split("=", 1) for part in auth[len("Signature "):].split(","))
    fields = {k: v.strip('"') for k, v in fields.items()}
    lines = []
    for name in fields["headers"].split():
        if name == "(request-target)":
            lines.append(f"(request-target): {request.method.lower()} {request.url.raw_path.decode()}")
        else:
            lines.append(f"{name}: {request.headers[name]}")
    public_key.verify(base64.b64decode(fields["signature"]), "\n".join(lines).encode(), padding.PKCS1v15(),
                      hashes.SHA256())


@respx.mock
async def test_request_is_signed_and_carries_request_id(api_key_credentials, rsa_key):
    route = respx.post(URL).mock(return_value=httpx.Response(200, json={"ok": True},
                                                             headers={"opc-request-id": "UPSTREAM1"}))
    client, _ = make_client(api_key_credentials)
    result = await client.request("POST", URL, json_body={"a": "é"}, request_id="ABC123")
    sent = route.calls.last.request
    verify_signature(sent, rsa_key.public_key())
    assert sent.headers["opc-request-id"] == "ABC123"
    assert "zstd" not in sent.headers["accept-encoding"] and "br" not in sent.headers["accept-encoding"]
    assert result.request_id == "UPSTREAM1" and result.json() == {"ok": True}


@respx.mock
async def test_retries_429_then_succeeds_honouring_retry_after(api_key_credentials):
    route = respx.post(URL).mock(side_effect=[
        httpx.Response(429, json={"code": "TooManyRequests", "message": "slow down"}, headers={"retry-after": "2"}),
        httpx.Response(503, json={"code": "ServiceUnavailable", "message": "busy"}),
        httpx.Response(200, json={"ok": 1}),
    ])
    client, sleeps = make_client(api_key_credentials, oci_max_retries=3)
    result = await client.request("POST", URL, json_body={})
    assert result.status == 200 and route.call_count == 3
    assert sleeps.waits[0] >= 2.0  # Retry-After is the floor
    assert len(sleeps.waits) == 2


@respx.mock
async def test_exhausted_429_keeps_retry_after(api_key_credentials):
    respx.post(URL).mock(return_value=httpx.Response(
        429, json={"code": "TooManyRequests", "message": "slow down"}, headers={"retry-after": "1"}))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=2)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={})
    assert caught.value.status == 429 and caught.value.headers["retry-after"] == "1"
    assert caught.value.body()["error"]["type"] == "rate_limit_error"
    assert len(sleeps.waits) == 2


@respx.mock
async def test_400_is_not_retried_and_nested_message_unwrapped(api_key_credentials):
    inner = '{"code":"Client specified an invalid argument","error":"Invalid request content: Invalid function schema."}'
    route = respx.post(URL).mock(return_value=httpx.Response(400, json={"code": "400", "message": inner}))
    client, sleeps = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={})
    assert route.call_count == 1 and not sleeps.waits
    assert caught.value.status == 400
    assert "Invalid function schema" in caught.value.message and "{" not in caught.value.message


@respx.mock
async def test_500_exhausted_says_do_not_retry(api_key_credentials):
    respx.post(URL).mock(return_value=httpx.Response(500, json={"code": "InternalError", "message": "boom"}))
    client, _ = make_client(api_key_credentials, oci_max_retries=1)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={})
    assert caught.value.status == 500 and caught.value.headers["x-should-retry"] == "false"


@respx.mock
async def test_connection_errors_are_retried_then_reported_as_503(api_key_credentials):
    route = respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=2)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={})
    assert route.call_count == 3 and caught.value.status == 503
    assert caught.value.code == "upstream_unreachable"


@respx.mock
async def test_gateway_credentials_rejected_is_operator_error_not_401(api_key_credentials):
    respx.post(URL).mock(return_value=httpx.Response(401, json={"code": "NotAuthenticated", "message": "bad sig"}))
    client, _ = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={})
    assert caught.value.status == 500 and caught.value.code == "gateway_auth_failed"
    assert "credentials" in caught.value.message


@respx.mock
async def test_not_authorized_for_known_model_is_503_policy_hint(api_key_credentials):
    respx.post(URL).mock(return_value=httpx.Response(
        404, json={"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not found."}))
    client, _ = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={}, model="meta.llama-3.3-70b-instruct", known_model=True)
    assert caught.value.status == 503 and "policy" in caught.value.message
    with pytest.raises(APIError) as unknown:
        await client.request("POST", URL, json_body={}, model="meta.nope", known_model=False)
    assert unknown.value.status == 404 and unknown.value.code == "model_not_found"


@respx.mock
async def test_deadline_stops_retries_early(api_key_credentials):
    route = respx.post(URL).mock(return_value=httpx.Response(429, json={}, headers={"retry-after": "30"}))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=5, deadline_margin_seconds=1.0)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={}, deadline=time.time() + 10)
    assert route.call_count == 1 and not sleeps.waits  # a 30 s wait cannot fit in 10 s
    assert caught.value.status == 429


async def test_deadline_already_passed_answers_503_without_calling(api_key_credentials):
    client, _ = make_client(api_key_credentials)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL).mock(return_value=httpx.Response(200, json={}))
        with pytest.raises(APIError) as caught:
            await client.request("POST", URL, json_body={}, deadline=time.time() + 0.5)
    assert caught.value.status == 503 and caught.value.code == "deadline_exceeded"
    assert route.call_count == 0


@respx.mock
async def test_timeout_is_503_not_504(api_key_credentials):
    respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    client, _ = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await client.request("POST", URL, json_body={})
    assert caught.value.status == 503 and caught.value.code == "upstream_timeout"


def test_parse_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)


def test_backoff_grows_and_respects_floor():
    import random

    rng = random.Random(1)
    assert all(0 <= backoff_delay(0, None, rng) <= 0.25 for _ in range(50))
    assert max(backoff_delay(5, None, rng) for _ in range(200)) > 2.0
    assert backoff_delay(0, 5.0, rng) >= 5.0

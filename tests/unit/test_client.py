"""The pooled OCI client: signing, the retry rule with backoff and Retry-After, deadlines, and how callers
map its failures (:func:`core.oci.failures.api_error`)."""

from __future__ import annotations

import base64
import time

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from core.errors import APIError
from core.oci.client import OCIClient, UpstreamError, UpstreamStatus, UpstreamUnreachable
from core.oci.failures import api_error
from core.oci.retry import backoff_delay, parse_retry_after
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


async def call(client: OCIClient, method: str = "POST", *, model: str | None = None, known_model: bool = True,
               **kwargs):
    """What a service does: one client call, a failure mapped to the caller's error."""
    try:
        return await client.request(method, URL, **kwargs)
    except UpstreamError as exc:
        raise api_error(exc, model=model, known_model=known_model) from None


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
    result = await call(client, json_body={})
    assert result.status == 200 and route.call_count == 3
    assert sleeps.waits[0] >= 2.0  # Retry-After is the floor
    assert len(sleeps.waits) == 2


@respx.mock
async def test_exhausted_429_keeps_retry_after(api_key_credentials):
    respx.post(URL).mock(return_value=httpx.Response(
        429, json={"code": "TooManyRequests", "message": "slow down"}, headers={"retry-after": "1"}))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=2)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={})
    assert caught.value.status == 429 and caught.value.headers["retry-after"] == "1"
    assert caught.value.body()["error"]["type"] == "rate_limit_error"
    assert len(sleeps.waits) == 2


@respx.mock
async def test_400_is_not_retried_and_nested_message_unwrapped(api_key_credentials):
    inner = '{"code":"Client specified an invalid argument","error":"Invalid request content: Invalid function schema."}'
    route = respx.post(URL).mock(return_value=httpx.Response(400, json={"code": "400", "message": inner}))
    client, sleeps = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={})
    assert route.call_count == 1 and not sleeps.waits
    assert caught.value.status == 400
    assert "Invalid function schema" in caught.value.message and "{" not in caught.value.message


@respx.mock
@pytest.mark.parametrize("status", [500, 504])
async def test_a_post_answered_500_or_504_is_not_sent_again_and_says_do_not_retry(api_key_credentials, status):
    route = respx.post(URL).mock(return_value=httpx.Response(status, json={"code": "InternalError", "message": "boom"}))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=3)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={})
    assert route.call_count == 1 and not sleeps.waits  # the generation may have run: never twice
    assert caught.value.status in (500, 503) and caught.value.headers["x-should-retry"] == "false"


@respx.mock
@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_a_get_is_retried_on_every_transient_status(api_key_credentials, status):
    route = respx.get(URL).mock(side_effect=[httpx.Response(status, json={}), httpx.Response(200, json={"ok": 1})])
    client, sleeps = make_client(api_key_credentials, oci_max_retries=3)
    result = await call(client, "GET")
    assert result.status == 200 and route.call_count == 2 and len(sleeps.waits) == 1


@respx.mock
async def test_502_exhausted_on_a_post_says_do_not_retry(api_key_credentials):
    route = respx.post(URL).mock(return_value=httpx.Response(502, json={"code": "BadGateway", "message": "lb"}))
    client, _ = make_client(api_key_credentials, oci_max_retries=1)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={})
    assert route.call_count == 2
    assert caught.value.status == 503 and caught.value.headers["x-should-retry"] == "false"


@respx.mock
@pytest.mark.parametrize("error", [httpx.ReadError, httpx.ReadTimeout, httpx.WriteError, httpx.RemoteProtocolError])
async def test_a_post_that_may_have_reached_oci_is_never_sent_again(api_key_credentials, error):
    route = respx.post(URL).mock(side_effect=error("gone"))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=3)
    with pytest.raises(UpstreamUnreachable):
        await client.request("POST", URL, json_body={})
    assert route.call_count == 1 and not sleeps.waits


@respx.mock
@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError])
async def test_a_post_that_never_left_is_sent_again(api_key_credentials, error):
    route = respx.post(URL).mock(side_effect=[error("not sent"), httpx.Response(200, json={"ok": 1})])
    client, _ = make_client(api_key_credentials, oci_max_retries=3)
    assert (await client.request("POST", URL, json_body={})).status == 200 and route.call_count == 2


@respx.mock
@pytest.mark.parametrize("error", [httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_a_get_is_retried_after_any_transport_failure(api_key_credentials, error):
    route = respx.get(URL).mock(side_effect=[error("gone"), httpx.Response(200, json={"ok": 1})])
    client, _ = make_client(api_key_credentials, oci_max_retries=3)
    assert (await client.request("GET", URL)).status == 200 and route.call_count == 2


@respx.mock
async def test_a_changed_request_after_a_400_is_a_new_call_not_a_retry(api_key_credentials):
    """A caller may resend once with a changed body (a dropped parameter): the client sends it as a new call."""
    route = respx.post(URL).mock(side_effect=[
        httpx.Response(400, json={"code": "400", "message": "Unsupported parameter: topK"}),
        httpx.Response(200, json={"ok": 1})])
    client, sleeps = make_client(api_key_credentials, oci_max_retries=0)
    with pytest.raises(UpstreamStatus) as caught:
        await client.request("POST", URL, json_body={"topK": 5}, request_id="R1")
    assert caught.value.status == 400 and b"topK" in caught.value.body and caught.value.attempts == 1
    assert (await client.request("POST", URL, json_body={}, request_id="R1")).status == 200
    assert [c.request.content for c in route.calls] == [b'{"topK":5}', b"{}"] and not sleeps.waits


@respx.mock
async def test_connection_errors_are_retried_then_reported_as_503(api_key_credentials):
    route = respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=2)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={})
    assert route.call_count == 3 and caught.value.status == 503
    assert caught.value.code == "upstream_unreachable"


@respx.mock
async def test_gateway_credentials_rejected_is_operator_error_not_401(api_key_credentials):
    respx.post(URL).mock(return_value=httpx.Response(401, json={"code": "NotAuthenticated", "message": "bad sig"}))
    client, _ = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={})
    assert caught.value.status == 500 and caught.value.code == "gateway_auth_failed"
    assert "credentials" in caught.value.message


@respx.mock
async def test_not_authorized_for_known_model_is_503_policy_hint(api_key_credentials):
    respx.post(URL).mock(return_value=httpx.Response(
        404, json={"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not found."}))
    client, _ = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={}, model="meta.llama-3.3-70b-instruct", known_model=True)
    assert caught.value.status == 503 and "policy" in caught.value.message
    with pytest.raises(APIError) as unknown:
        await call(client, json_body={}, model="meta.nope", known_model=False)
    assert unknown.value.status == 404 and unknown.value.code == "model_not_found"


@respx.mock
async def test_deadline_stops_retries_early(api_key_credentials):
    route = respx.post(URL).mock(return_value=httpx.Response(429, json={}, headers={"retry-after": "30"}))
    client, sleeps = make_client(api_key_credentials, oci_max_retries=5, deadline_margin_seconds=1.0)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={}, deadline=time.time() + 10)
    assert route.call_count == 1 and not sleeps.waits  # a 30 s wait cannot fit in 10 s
    assert caught.value.status == 429


async def test_deadline_already_passed_answers_503_without_calling(api_key_credentials):
    client, _ = make_client(api_key_credentials)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(URL).mock(return_value=httpx.Response(200, json={}))
        with pytest.raises(APIError) as caught:
            await call(client, json_body={}, deadline=time.time() + 0.5)
    assert caught.value.status == 503 and caught.value.code == "deadline_exceeded"
    assert route.call_count == 0


@respx.mock
async def test_timeout_is_503_not_504(api_key_credentials):
    respx.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    client, _ = make_client(api_key_credentials)
    with pytest.raises(APIError) as caught:
        await call(client, json_body={})
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

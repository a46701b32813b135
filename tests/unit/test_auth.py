"""core.oci.auth.OCIAuth driven by real httpx clients against respx routes.

The signature on each request that reaches the (mocked) server is checked by an
independent verifier below: it rebuilds the signing string from what was received
and verifies it with the public key, the way OCI does.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import itertools
from pathlib import Path

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.oci.auth import OCIAuth
from core.oci.credentials import ApiKeyCredentials, load_credentials
from core.settings import Settings
from core.oci.signing import SigningKey
from tests.unit.conftest import TEST_TENANCY, TEST_USER, THROWAWAY_TEST_KEY_FINGERPRINT, pem_of

URL = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/chat"


def verify(request: httpx.Request, public_key: rsa.RSAPublicKey) -> str:
    """Check an OCI signature as the server would; return the keyId."""
    params = dict(
        part.split("=", 1) for part in request.headers["authorization"].removeprefix("Signature ").split('",')
    )
    params = {k: v.strip('"') for k, v in params.items()}
    assert params["algorithm"] == "rsa-sha256" and params["version"] == "1"
    lines = []
    for name in params["headers"].split():
        if name == "(request-target)":
            lines.append(f"{name}: {request.method.lower()} {request.url.raw_path.decode()}")
        else:
            lines.append(f"{name}: {request.headers[name]}")
    public_key.verify(base64.b64decode(params["signature"]), "\n".join(lines).encode(), padding.PKCS1v15(),
                      hashes.SHA256())
    if "x-content-sha256" in params["headers"]:
        body = request.content
        assert request.headers["x-content-sha256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert request.headers["content-length"] == str(len(body))
    return params["keyId"]


@pytest.fixture
def rotating_rp(tmp_path: Path, jwt_factory, fresh_keys, monkeypatch: pytest.MonkeyPatch):
    """Resource principal credentials backed by files the test can rotate."""
    old, new = jwt_factory(exp=4102444800, iat=1), jwt_factory(exp=4102444800, iat=2)
    rpst = tmp_path / "rpst"
    rpst.write_text(old)
    (tmp_path / "private.pem").write_text(pem_of(fresh_keys[0]))
    env = {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2", "OCI_RESOURCE_PRINCIPAL_RPST": str(rpst),
           "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(tmp_path / "private.pem"),
           "OCI_RESOURCE_PRINCIPAL_REGION": "us-chicago-1"}
    creds = load_credentials(Settings.from_env(env), env)
    counter = itertools.count()
    monkeypatch.setattr(email.utils, "formatdate",
                        lambda *a, **k: f"Tue, 07 Jan 2025 12:00:{next(counter):02d} GMT")
    return creds, rpst, old, new, fresh_keys[0].public_key()


@respx.mock
async def test_async_client_request_is_signed(rotating_rp) -> None:
    creds, _, old, _, public_key = rotating_rp
    route = respx.post(URL).mock(return_value=httpx.Response(200, json={"ok": True}))
    async with httpx.AsyncClient(auth=OCIAuth(creds)) as client:
        response = await client.post(URL, json={"compartmentId": "c", "message": "héllo"})
    assert response.status_code == 200
    assert route.call_count == 1
    sent = route.calls.last.request
    assert verify(sent, public_key) == f"ST${old}"
    assert sent.headers["content-type"] == "application/json"
    assert 'headers="date (request-target) host content-length content-type x-content-sha256"' in \
        sent.headers["authorization"]


@respx.mock
async def test_401_refreshes_and_retries_once_with_new_token(rotating_rp) -> None:
    creds, rpst, old, new, public_key = rotating_rp
    seen: list[httpx.Request] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            rpst.write_text(new)  # the platform rotated the token meanwhile
            return httpx.Response(401, json={"code": "NotAuthenticated"})
        return httpx.Response(200, json={"ok": True})

    route = respx.post(URL).mock(side_effect=upstream)
    async with httpx.AsyncClient(auth=OCIAuth(creds)) as client:
        response = await client.post(URL, json={"a": 1})
    assert response.status_code == 200
    assert route.call_count == 2
    first, second = (call.request for call in route.calls)
    assert verify(first, public_key) == f"ST${old}"
    assert verify(second, public_key) == f"ST${new}"
    assert first.headers["date"] != second.headers["date"]  # re-signed with a fresh date
    assert second.content == first.content == b'{"a":1}'


@respx.mock
async def test_second_401_is_returned_as_is(rotating_rp) -> None:
    creds, rpst, _, new, _ = rotating_rp

    def upstream(request: httpx.Request) -> httpx.Response:
        rpst.write_text(new)
        return httpx.Response(401, json={"code": "NotAuthenticated", "message": "still no"})

    route = respx.post(URL).mock(side_effect=upstream)
    async with httpx.AsyncClient(auth=OCIAuth(creds)) as client:
        response = await client.post(URL, json={})
    assert route.call_count == 2
    assert response.status_code == 401
    assert response.json()["message"] == "still no"


@respx.mock
async def test_401_without_rotation_is_not_retried(rotating_rp) -> None:
    creds, *_ = rotating_rp
    route = respx.post(URL).mock(return_value=httpx.Response(401))
    async with httpx.AsyncClient(auth=OCIAuth(creds)) as client:
        response = await client.post(URL, json={})
    assert response.status_code == 401
    assert route.call_count == 1


@respx.mock
async def test_non_refreshable_credentials_do_not_retry(throwaway_key) -> None:
    creds = ApiKeyCredentials(
        kind="api_key", region="us-chicago-1", tenancy_id=TEST_TENANCY,
        key=SigningKey(f"{TEST_TENANCY}/{TEST_USER}/{THROWAWAY_TEST_KEY_FINGERPRINT}", throwaway_key),
    )
    route = respx.get(URL).mock(return_value=httpx.Response(401))
    async with httpx.AsyncClient(auth=OCIAuth(creds)) as client:
        response = await client.get(URL)
    assert response.status_code == 401
    assert route.call_count == 1
    verify(route.calls.last.request, throwaway_key.public_key())


@respx.mock
def test_sync_client_is_signed_and_retried(rotating_rp) -> None:
    creds, rpst, old, new, public_key = rotating_rp
    route = respx.get(URL).mock(side_effect=[httpx.Response(401), httpx.Response(204)])
    rpst.write_text(new)  # rotated before the call: the first attempt still uses the loaded token
    with httpx.Client(auth=OCIAuth(creds)) as client:
        response = client.get(URL)
    assert response.status_code == 204
    assert [verify(call.request, public_key) for call in route.calls] == [f"ST${old}", f"ST${new}"]


class SlowFederation:
    """Credentials whose token exchange blocks like a network call would (the real base class around it)."""

    @staticmethod
    def make(jwt_factory, key, *, first_lifetime: float, exchange_seconds: float):
        import threading
        import time as clock

        from core.oci.credentials.federated import FederatedCredentials, Session

        class Slow(FederatedCredentials):
            kind = "instance_principal"
            exchanges = 0
            renewal_threads: list[str] = []

            def _federate(self, now: float) -> Session:
                type(self).exchanges += 1
                lifetime = first_lifetime if type(self).exchanges == 1 else 3600.0
                if type(self).exchanges > 1:
                    type(self).renewal_threads.append(threading.current_thread().name)
                    clock.sleep(exchange_seconds)  # a blocking token exchange
                token = jwt_factory(exp=now + lifetime, iat=int(now), n=type(self).exchanges)
                return Session.issued(token, key, {"exp": now + lifetime}, now + lifetime, now)

        return Slow(region="us-chicago-1", tenancy_id=TEST_TENANCY)


@respx.mock
async def test_a_due_renewal_runs_off_the_event_loop_once_for_concurrent_requests(jwt_factory, fresh_keys):
    import asyncio
    import threading
    import time as clock

    creds = SlowFederation.make(jwt_factory, fresh_keys[0], first_lifetime=60, exchange_seconds=0.4)  # due at once
    assert creds.refresh_due() and type(creds).exchanges == 1
    route = respx.post(URL).mock(return_value=httpx.Response(200, json={}))
    gaps: list[float] = []

    async def ticker() -> None:
        last = clock.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = clock.monotonic()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    async with httpx.AsyncClient(auth=OCIAuth(creds)) as client:
        answers = await asyncio.gather(*(client.post(URL, json={"n": n}) for n in range(5)))
    ticking.cancel()
    assert all(a.status_code == 200 for a in answers)
    assert type(creds).exchanges == 2  # five requests, one renewal
    assert type(creds).renewal_threads != [threading.current_thread().name]  # in a worker thread
    assert max(gaps) < 0.2  # the loop kept running while the exchange blocked for 0.4 s
    key_ids = {verify(call.request, fresh_keys[0].public_key()) for call in route.calls}
    assert key_ids == {creds.signing_key().key_id}


@respx.mock
async def test_a_fixed_key_is_read_inline_without_a_thread(throwaway_key, monkeypatch) -> None:
    import asyncio

    def no_threads(*args, **kwargs):
        raise AssertionError("a fixed key needs no worker thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    creds = ApiKeyCredentials(
        kind="api_key", region="us-chicago-1", tenancy_id=TEST_TENANCY,
        key=SigningKey(f"{TEST_TENANCY}/{TEST_USER}/{THROWAWAY_TEST_KEY_FINGERPRINT}", throwaway_key),
    )
    respx.post(URL).mock(return_value=httpx.Response(200, json={}))
    async with httpx.AsyncClient(auth=OCIAuth(creds)) as client:
        assert (await client.post(URL, json={})).status_code == 200

"""The authorizer role: the API Gateway contract through the router, Vault loading, caching, never a 5xx."""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from core import keystore, logs
from core.apikeys import key_hash, new_key, parse_key
from core.keystore import KeyStore
from core.settings import Settings
from tests.support.runtime import reset_settings
from core.exchange import HTTP, INVOKE, Headers, Request
from core.authorizer import presented_key
from handlers.router import dispatch

PEPPER = "authorizer-unit-test-pepper-0123456789abcdef"
TABLE_OCID = "ocid1.vaultsecret.oc1.iad.amaaaaaatable"
PEPPER_OCID = "ocid1.vaultsecret.oc1.iad.amaaaaaapepper"
SECRETS = "https://secrets.vaults.us-ashburn-1.oci.oraclecloud.com/20190301/secretbundles"


def table_json(*keys: str, **extra) -> str:
    rows = [{"id": parse_key(k), "hash": key_hash(k, PEPPER.encode()), "owner": f"owner-{i}",
             "models": ["meta.*", "gpt-4o"], **extra} for i, k in enumerate(keys)]
    return json.dumps({"keys": rows})


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logs._JsonLineFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def events(self, name: str) -> list[dict]:
        return [json.loads(line) for line in self.lines if json.loads(line).get("event") == name]


@pytest.fixture
def log_lines():
    handler = Captured()
    logger = logging.getLogger(logs.LOGGER_NAME)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


@pytest.fixture
def authorizer_env(gateway_env):
    for name in ("API_KEYS", "API_KEYS_PEPPER", "API_KEYS_SECRET_OCID", "API_KEYS_PEPPER_SECRET_OCID",
                 "API_KEYS_CACHE_SECONDS", "API_KEYS_AUTH_TTL_SECONDS", "OCI_SECRETS_ENDPOINT"):
        gateway_env.delenv(name, raising=False)
    gateway_env.setenv("GATEWAY_ROLE", "authorizer")
    reset_settings()
    reset_settings()
    yield gateway_env
    reset_settings()


def configure(env, **values: str) -> None:
    for name, value in values.items():
        env.setenv(name, value)
    reset_settings()
    reset_settings()


def invoke(body) -> Request:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Request(method="POST", path="", headers=Headers({"content-type": "application/json"}), body=raw,
                   kind=INVOKE, request_id="AUTHREQ")


async def authorize(body) -> dict:
    response = await dispatch(invoke(body))
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.body)


def user_defined(**data) -> dict:
    return {"type": "USER_DEFINED", "data": data}


# --- presented_key (pure) --------------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    (user_defined(authorization="Bearer K"), ("K", "ok")),
    (user_defined(Authorization="bearer   K "), ("K", "ok")),
    (user_defined(authorization="K"), ("K", "ok")),
    (user_defined(**{"api-key": "K"}), ("K", "ok")),
    (user_defined(api_key="K"), ("K", "ok")),
    (user_defined(**{"x-api-key": ["K"]}), ("K", "ok")),
    (user_defined(authorization=["Bearer K", "Bearer K"]), ("K", "ok")),
    (user_defined(authorization="Bearer K", **{"api-key": "K"}), ("K", "ok")),
    (user_defined(authorization="Bearer K", **{"api-key": "L"}), (None, "ambiguous")),
    (user_defined(authorization=["Bearer K", "Bearer L"]), (None, "ambiguous")),
    (user_defined(), (None, "missing")),
    ({"type": "USER_DEFINED"}, (None, "missing")),
    (user_defined(authorization=""), (None, "missing")),
    (user_defined(other="Bearer K"), (None, "missing")),
    (user_defined(authorization=7), (None, "bad_input")),
    (user_defined(authorization=["K", 7]), (None, "bad_input")),
    ({"type": "USER_DEFINED", "data": "K"}, (None, "bad_input")),
    ({"type": "TOKEN", "token": "Bearer K"}, ("K", "ok")),
    ({"type": "TOKEN", "token": "K"}, ("K", "ok")),
    ({"type": "TOKEN"}, (None, "missing")),
    ({"type": "SOMETHING", "token": "K"}, (None, "bad_input")),
    ([], (None, "bad_input")),
    (None, (None, "bad_input")),
    (user_defined(authorization="Bearer " + "x" * 5000), (None, "malformed")),
])
def test_presented_key(body, expected):
    assert presented_key(body) == expected


# --- through the router ----------------------------------------------------------------------

async def test_valid_key_is_active_with_context(authorizer_env, log_lines):
    key = new_key()
    configure(authorizer_env, API_KEYS=table_json(key, expires="2099-01-01"), API_KEYS_PEPPER=PEPPER,
              API_KEYS_AUTH_TTL_SECONDS="120")
    before = datetime.now(timezone.utc)
    answer = await authorize(user_defined(authorization=f"Bearer {key}"))
    key_id = parse_key(key)
    assert set(answer) == {"active", "principal", "scope", "expiresAt", "context"}
    assert answer["active"] is True and answer["principal"] == key_id and answer["scope"] == ["gateway"]
    assert answer["context"] == {"key_id": key_id, "owner": "owner-0", "allowed_models": "meta.*,gpt-4o",
                                 "admin": "false", "guardrails": ""}
    expires = datetime.fromisoformat(answer["expiresAt"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=118) <= expires <= datetime.now(timezone.utc) + timedelta(seconds=121)
    assert all(isinstance(v, str) for v in answer["context"].values())
    events = log_lines.events("auth")
    assert events and events[-1]["outcome"] == "ok" and events[-1]["key_id"] == key_id
    assert key not in "\n".join(log_lines.lines) and PEPPER not in "\n".join(log_lines.lines)


async def test_expires_at_never_past_the_keys_expiry(authorizer_env):
    key = new_key()
    soon = (datetime.now(timezone.utc) + timedelta(seconds=30)).replace(microsecond=0)
    configure(authorizer_env, API_KEYS=table_json(key, expires=soon.isoformat()), API_KEYS_PEPPER=PEPPER,
              API_KEYS_AUTH_TTL_SECONDS="3600")
    answer = await authorize({"type": "TOKEN", "token": key})
    assert answer["active"] is True
    assert datetime.fromisoformat(answer["expiresAt"].replace("Z", "+00:00")) == soon


@pytest.mark.parametrize("case", ["missing", "malformed", "unknown", "disabled", "expired", "wrong_pepper"])
async def test_bad_keys_are_inactive_with_a_challenge(authorizer_env, log_lines, case):
    good, disabled, expired = new_key(), new_key(), new_key()
    table = json.loads(table_json(good))["keys"]
    table += json.loads(table_json(disabled, disabled=True))["keys"]
    table[-1]["owner"] = "b"
    table += json.loads(table_json(expired, expires="2020-01-01"))["keys"]
    configure(authorizer_env, API_KEYS=json.dumps(table),
              API_KEYS_PEPPER=PEPPER if case != "wrong_pepper" else "another-pepper-" + "x" * 32)
    presented = {"missing": None, "malformed": "sk-not-ours", "unknown": new_key(), "disabled": disabled,
                 "expired": expired, "wrong_pepper": good}[case]
    answer = await authorize(user_defined(**({"authorization": f"Bearer {presented}"} if presented else {})))
    assert answer["active"] is False
    assert set(answer) == {"active", "wwwAuthenticate"}
    assert answer["wwwAuthenticate"].startswith('Bearer realm="oci-genai-gateway"')
    assert ("invalid_token" in answer["wwwAuthenticate"]) == (case != "missing")
    outcome = log_lines.events("auth")[-1]["outcome"]
    assert outcome == {"wrong_pepper": "wrong_secret"}.get(case, case)
    text = "\n".join(log_lines.lines)
    if presented:
        assert presented not in text


async def test_unloadable_table_is_inactive_and_logged_not_told(authorizer_env, log_lines):
    configure(authorizer_env, API_KEYS='{"keys": [{"id": "bad"}]}', API_KEYS_PEPPER=PEPPER)
    answer = await authorize(user_defined(authorization=f"Bearer {new_key()}"))
    assert answer == {"active": False, "wwwAuthenticate": 'Bearer realm="oci-genai-gateway", error="invalid_token"'}
    errors = log_lines.events("apikeys_unavailable")
    assert errors and errors[-1]["level"] == "error" and "API_KEYS" in errors[-1]["detail"]
    configure(authorizer_env, API_KEYS="", API_KEYS_PEPPER=PEPPER)
    answer = await authorize(user_defined(authorization=f"Bearer {new_key()}"))
    assert answer["active"] is False
    assert "no API key table" in log_lines.events("apikeys_unavailable")[-1]["detail"]


async def test_garbage_invocations_get_contract_json(authorizer_env):
    configure(authorizer_env, API_KEYS=table_json(new_key()), API_KEYS_PEPPER=PEPPER)
    for body in (b"", b"not json", b"[1,2]", b'"x"', b"\xff\xfe", b'{"type": 3}', b"{" * 10000, b'{"a":' * 5000):
        response = await dispatch(invoke(body))
        assert response.status == 200, body[:20]
        assert json.loads(response.body)["active"] is False


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner,
                                                                               max_size=4), max_leaves=20)
ARGS = st.dictionaries(st.sampled_from(["authorization", "Authorization", "api-key", "api_key", "x-api-key", "other"]),
                       JSON | st.text() | st.lists(st.text(), max_size=3), max_size=4)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON | st.builds(lambda d: {"type": "USER_DEFINED", "data": d}, ARGS)
       | st.builds(lambda t: {"type": "TOKEN", "token": t}, JSON))
async def test_never_a_5xx_for_any_json(authorizer_env, body):
    configure(authorizer_env, API_KEYS=table_json(new_key()), API_KEYS_PEPPER=PEPPER)
    answer = await authorize(body)
    assert answer["active"] is False
    assert isinstance(answer["wwwAuthenticate"], str)


async def test_http_intent_on_authorizer_role_is_not_a_5xx(authorizer_env):
    configure(authorizer_env, API_KEYS=table_json(new_key()), API_KEYS_PEPPER=PEPPER)
    response = await dispatch(Request(method="POST", path="/anything", headers=Headers({}), body=b"{}", kind=HTTP))
    assert response.status < 500


# --- Vault and the cache ---------------------------------------------------------------------

def bundle(ocid: str, content: bytes) -> dict:
    return {"secretId": ocid, "versionNumber": 1, "stages": ["CURRENT", "LATEST"],
            "secretBundleContent": {"contentType": "BASE64", "content": base64.b64encode(content).decode()}}


@respx.mock
async def test_table_and_pepper_from_vault_signed_and_cached(authorizer_env):
    key = new_key()
    table_route = respx.get(f"{SECRETS}/{TABLE_OCID}").mock(
        return_value=httpx.Response(200, json=bundle(TABLE_OCID, table_json(key).encode())))
    pepper_route = respx.get(f"{SECRETS}/{PEPPER_OCID}").mock(
        return_value=httpx.Response(200, json=bundle(PEPPER_OCID, PEPPER.encode() + b"\n")))
    configure(authorizer_env, API_KEYS_SECRET_OCID=TABLE_OCID, API_KEYS_PEPPER_SECRET_OCID=PEPPER_OCID,
              API_KEYS_CACHE_SECONDS="3600")
    for _ in range(3):
        assert (await authorize(user_defined(authorization=f"Bearer {key}")))["active"] is True
    assert table_route.call_count == 1 and pepper_route.call_count == 1  # cached
    sent = table_route.calls[0].request
    assert sent.headers["authorization"].startswith("Signature ") and 'headers="date (request-target) host"' in \
        sent.headers["authorization"]


@respx.mock
async def test_vault_failure_is_inactive_then_retried_after_a_pause(authorizer_env, log_lines, monkeypatch):
    key = new_key()
    route = respx.get(f"{SECRETS}/{TABLE_OCID}").mock(side_effect=[
        httpx.Response(404, json={"code": "NotAuthorizedOrNotFound", "message": "no"}),
        httpx.Response(200, json=bundle(TABLE_OCID, table_json(key).encode())),
    ])
    configure(authorizer_env, API_KEYS_SECRET_OCID=TABLE_OCID, API_KEYS_PEPPER=PEPPER)
    assert (await authorize(user_defined(authorization=f"Bearer {key}")))["active"] is False
    assert log_lines.events("apikeys_unavailable")
    assert (await authorize(user_defined(authorization=f"Bearer {key}")))["active"] is False
    assert route.call_count == 1  # the failure is remembered briefly: no second wait on a failing Vault
    monkeypatch.setattr(keystore, "RETRY_AFTER_FAILURE_SECONDS", 0.0)
    assert (await authorize(user_defined(authorization=f"Bearer {key}")))["active"] is True
    assert route.call_count == 2


async def test_keystore_cache_expires(monkeypatch):
    now = [1000.0]
    store = KeyStore(clock=lambda: now[0])
    first, second = new_key(), new_key()
    env = {"API_KEYS": table_json(first), "API_KEYS_PEPPER": PEPPER, "API_KEYS_CACHE_SECONDS": "60"}
    settings = Settings.from_env(env)
    material = await store.get(settings)
    assert material.table.get(parse_key(first)) and store.loads == 1
    changed = Settings.from_env({**env, "API_KEYS": table_json(second)})
    now[0] += 59
    assert (await store.get(changed)).table.get(parse_key(first)) and store.loads == 1  # still cached
    now[0] += 2
    material = await store.get(changed)
    assert store.loads == 2 and material.table.get(parse_key(second)) and not material.table.get(parse_key(first))
    assert PEPPER not in repr(material) and PEPPER not in repr(store)


async def test_a_failed_reload_keeps_a_recent_table_with_a_warning_until_it_is_too_old(log_lines):
    now = [0.0]
    store = KeyStore(clock=lambda: now[0])
    key = new_key()
    env = {"API_KEYS": table_json(key), "API_KEYS_PEPPER": PEPPER, "API_KEYS_CACHE_SECONDS": "1",
           "API_KEYS_STALE_SECONDS": "30"}
    await store.get(Settings.from_env(env))
    broken = Settings.from_env({**env, "API_KEYS": "[oops"})
    now[0] += 5
    assert (await store.get(broken)).table.get(parse_key(key))  # stale but recent: still used
    assert [e["table_age_s"] for e in log_lines.events("apikeys_stale")] == [5]
    now[0] += 26
    from core.errors import ConfigError

    with pytest.raises(ConfigError):  # 31 s old: revocations must not wait longer, fail closed
        await store.get(broken)


async def test_a_stale_limit_of_zero_never_serves_a_stale_table():
    now = [0.0]
    store = KeyStore(clock=lambda: now[0])
    env = {"API_KEYS": table_json(new_key()), "API_KEYS_PEPPER": PEPPER, "API_KEYS_CACHE_SECONDS": "1",
           "API_KEYS_STALE_SECONDS": "0"}
    await store.get(Settings.from_env(env))
    now[0] += 5
    from core.errors import ConfigError

    with pytest.raises(ConfigError):
        await store.get(Settings.from_env({**env, "API_KEYS": "[oops"}))


async def test_the_keys_guardrails_travel_in_the_context(authorizer_env):
    key = new_key()
    configure(authorizer_env, API_KEYS=table_json(key, guardrails={"pii": "mask", "pi": "block"}),
              API_KEYS_PEPPER=PEPPER)
    answer = await authorize(user_defined(authorization=f"Bearer {key}"))
    assert answer["context"]["guardrails"] == "prompt_injection=block,pii=mask"


class HangingVault:
    """A loopback Vault that answers while ``healthy`` and otherwise reads the request and never answers."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.healthy = True
        self.requests = 0
        self._release = None

    async def __aenter__(self) -> "HangingVault":
        import asyncio

        self._release = asyncio.Event()

        async def on_connect(reader, writer) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    self.requests += 1
                    if not self.healthy:
                        await self._release.wait()
                        return
                    ocid = head.split(b" ", 2)[1].rsplit(b"/", 1)[1].decode()
                    content = table_json(self.key).encode() if ocid == TABLE_OCID else PEPPER.encode()
                    body = json.dumps(bundle(ocid, content)).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
                    await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *args: object) -> None:
        self._release.set()
        self.server.close()
        await self.server.wait_closed()


async def test_a_hanging_vault_with_no_table_answers_inactive_within_two_seconds(authorizer_env, log_lines):
    import time

    key = new_key()
    async with HangingVault(key) as vault:
        vault.healthy = False
        configure(authorizer_env, API_KEYS_SECRET_OCID=TABLE_OCID, API_KEYS_PEPPER_SECRET_OCID=PEPPER_OCID,
                  OCI_SECRETS_ENDPOINT=vault.url)
        started = time.monotonic()
        answer = await authorize(user_defined(authorization=f"Bearer {key}"))
        elapsed = time.monotonic() - started
        again = time.monotonic()
        assert (await authorize(user_defined(authorization=f"Bearer {key}")))["active"] is False
        assert time.monotonic() - again < 0.2  # remembered: the next call does not wait for Vault again
    assert answer["active"] is False and elapsed < 2.0
    assert log_lines.events("apikeys_unavailable")[0]["detail"].startswith("503 upstream_timeout")


async def test_a_hanging_vault_keeps_a_recent_table_in_use_with_a_warning(authorizer_env, log_lines):
    import asyncio
    import time

    key = new_key()
    async with HangingVault(key) as vault:
        configure(authorizer_env, API_KEYS_SECRET_OCID=TABLE_OCID, API_KEYS_PEPPER_SECRET_OCID=PEPPER_OCID,
                  OCI_SECRETS_ENDPOINT=vault.url, API_KEYS_CACHE_SECONDS="0.2", API_KEYS_STALE_SECONDS="60")
        assert (await authorize(user_defined(authorization=f"Bearer {key}")))["active"] is True
        vault.healthy = False
        await asyncio.sleep(0.3)  # the cached table is due for a re-read, which now hangs
        started = time.monotonic()
        answer = await authorize(user_defined(authorization=f"Bearer {key}"))
        elapsed = time.monotonic() - started
    assert answer["active"] is True and elapsed < 2.0
    assert len(log_lines.events("apikeys_stale")) == 1 and not log_lines.events("apikeys_unavailable")

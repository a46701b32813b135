"""``GET /health``: configuration checks with no upstream call, 200 or 503 naming what is wrong."""

from __future__ import annotations

import json

import pytest
import respx

from core import aliases
from tests.support.runtime import reset_settings
from core.exchange import HTTP, Request
from core import health, runtime
from handlers.router import dispatch

SECRET_MARKER = "NEVER-SHOW-THIS-KEY-MATERIAL"


@pytest.fixture(autouse=True)
def _fresh_aliases():
    reset_settings()
    yield
    reset_settings()


async def get(path: str, method: str = "GET"):
    with respx.mock:  # any request to anywhere would fail the test: health never calls out
        response = await dispatch(Request(method=method, path=path, kind=HTTP))
    body = json.loads(response.body) if response.body else None
    return response, body


@pytest.mark.parametrize("path", ["/health", "/v1/health", "/openai/v1/health"])
async def test_configured_gateway_is_healthy_on_every_prefix(gateway_env, path):
    response, body = await get(path)
    assert response.status == 200, body
    assert body["status"] == "ok" and "problems" not in body
    assert body["role"] == "gateway" and body["auth"] == "api_key"
    assert body["region"] == "us-chicago-1"
    assert body["genai_host"] == "inference.generativeai.us-chicago-1.oci.oraclecloud.com"
    assert body["compartment"] == "setting"
    assert response.headers["cache-control"] == "no-store"


async def test_facts_carry_no_ocids(gateway_env):
    _, body = await get("/health")
    assert "ocid1." not in json.dumps(body)


async def test_head_is_answered_and_post_is_refused(gateway_env):
    head, _ = await get("/health", "HEAD")
    assert head.status == 200
    post, body = await get("/health", "POST")
    assert post.status == 405 and body["error"]["code"] == "method_not_allowed"


async def test_missing_credentials_is_503_naming_the_check(clean_config):
    clean_config.setenv("OCI_REGION", "us-chicago-1")
    response, body = await get("/health")
    assert response.status == 503
    assert body["status"] == "error"
    [problem] = body["problems"]
    assert problem["check"] == "credentials" and "OCI_USER" in problem["message"]


async def test_broken_key_is_reported_without_the_key(clean_config):
    clean_config.setenv("OCI_REGION", "us-chicago-1")
    clean_config.setenv("OCI_USER", "ocid1.user.oc1..u")
    clean_config.setenv("OCI_TENANCY", "ocid1.tenancy.oc1..t")
    clean_config.setenv("OCI_FINGERPRINT", "00:11")
    clean_config.setenv("OCI_KEY", f"-----BEGIN PRIVATE KEY-----\n{SECRET_MARKER}\n-----END PRIVATE KEY-----\n")
    response, body = await get("/health")
    assert response.status == 503
    assert [p["check"] for p in body["problems"]] == ["credentials"]
    assert SECRET_MARKER not in json.dumps(body)


async def test_no_region_is_reported(gateway_env, api_key_credentials):
    from dataclasses import replace

    gateway_env.delenv("OCI_REGION")
    runtime.set_credentials(replace(api_key_credentials, region=None))
    reset_settings()
    response, body = await get("/health")
    assert response.status == 503
    assert {p["check"] for p in body["problems"]} == {"region"}
    assert "OCI_REGION" in body["problems"][0]["message"]


async def test_bad_alias_table_is_reported(gateway_env):
    gateway_env.setenv("MODEL_ALIASES", json.dumps({"gpt-4o": {"serving_mode": "ON_DEMAND"}}))  # no model
    reset_settings()
    response, body = await get("/health")
    assert response.status == 503
    assert [p["check"] for p in body["problems"]] == ["aliases"]
    assert "region" in body  # the other checks still ran and reported their facts


async def test_good_alias_table_is_counted(gateway_env):
    gateway_env.setenv("MODEL_ALIASES", json.dumps({"gpt-4o": "meta.llama-3.3-70b-instruct",
                                                    "text-embedding-3-small": "cohere.embed-v4.0"}))
    reset_settings()
    _, body = await get("/health")
    assert body["aliases"] == 2


def test_bad_setting_is_a_settings_problem_and_stops_there(clean_config):
    clean_config.setenv("OCI_MAX_RETRIES", "many")
    report = health.check_configuration()
    assert not report.ok
    assert list(report.problems) == ["settings"] and "OCI_MAX_RETRIES" in report.problems["settings"]
    assert report.to_json()["status"] == "error"


def test_federated_credentials_are_not_loaded_by_the_check(clean_config, monkeypatch):
    clean_config.setenv("OCI_AUTH", "instance_principal")
    clean_config.setenv("OCI_REGION", "us-ashburn-1")

    def network(*args, **kwargs):
        raise AssertionError("health must not federate")

    monkeypatch.setattr("core.oci.credentials.instance_principal.load_instance_principal", network)
    with respx.mock:
        report = health.check_configuration()
    assert report.ok, report.problems
    assert report.facts["auth"] == "instance_principal"
    assert report.facts["credentials"].startswith("deferred")
    assert report.facts["region"] == "us-ashburn-1"


async def test_a_setting_that_does_not_parse_is_a_503_health_report(clean_config):
    from core.exchange import HTTP, Request
    from handlers.router import dispatch

    clean_config.setenv("OCI_MAX_RETRIES", "many")
    response = await dispatch(Request(method="GET", path="/prefix/v1/health", kind=HTTP))
    assert response.status == 503
    problems = __import__("json").loads(response.body)["problems"]
    assert problems[0]["check"] == "settings" and "OCI_MAX_RETRIES" in problems[0]["message"]

"""``GET /v1/models`` and ``/v1/models/{id}``: catalog + aliases, OpenAI shape, no network."""

from __future__ import annotations

import json

import pytest
import respx

from core import aliases
from core.catalog import CATALOG, RETIRED
from tests.support.runtime import reset_settings
from core.exchange import HTTP, Headers, Request
from handlers.router import dispatch


@pytest.fixture
def env(clean_config):
    for name in ("MODEL_ALIASES", "MODEL_ALIASES_FILE", "SERVED_MODELS"):
        clean_config.delenv(name, raising=False)
    reset_settings()
    reset_settings()
    yield clean_config
    reset_settings()


def configure(env, **values):
    for key, value in values.items():
        env.setenv(key, value if isinstance(value, str) else json.dumps(value))
    reset_settings()


def get(path):
    return Request(method="GET", path=path, headers=Headers({}), kind=HTTP, request_id="R")


@respx.mock  # any network call would fail the test (respx blocks unmatched requests)
async def test_list_is_openai_shaped_with_capabilities_and_no_credentials_needed(env):
    response = await dispatch(get("/v1/models"))
    assert response.status == 200
    body = json.loads(response.body)
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    assert len(ids) == len(set(ids))
    for model in body["data"]:
        assert model["object"] == "model" and isinstance(model["created"], int) and model["owned_by"]
    expected = {m.id for m in CATALOG.values() if m.status != RETIRED and not m.dedicated_only}
    assert set(ids) == expected
    v4 = next(m for m in body["data"] if m["id"] == "cohere.embed-v4.0")
    assert v4["type"] == "embedding" and v4["dimensions"] == 1536
    assert v4["output_dimensions"] == [256, 512, 1024, 1536] and v4["capabilities"]["image_input"] is True
    llama = next(m for m in body["data"] if m["id"] == "meta.llama-3.2-90b-vision-instruct")
    assert llama["type"] == "chat" and llama["capabilities"]["vision"] is True
    assert len(respx.calls) == 0


async def test_openai_sdk_parses_the_list(env):
    from openai.types import Model

    body = json.loads((await dispatch(get("/v1/models"))).body)
    parsed = [Model.model_validate(m) for m in body["data"]]
    assert parsed[0].object == "model"


async def test_aliases_are_listed_and_served_models_filters_catalog(env):
    configure(env, SERVED_MODELS="cohere.embed-v4.0, meta.llama-3.3-*", MODEL_ALIASES={
        "text-embedding-3-small": {"model": "cohere.embed-v4.0", "params": {"dimensions": 1536}},
        "secret-one": {"model": "xai.grok-3", "hidden": True},
    })
    body = json.loads((await dispatch(get("/openai/v1/models"))).body)
    ids = [m["id"] for m in body["data"]]
    assert ids == ["meta.llama-3.3-70b-instruct", "meta.llama-3.3-70b-instruct-fp8-dynamic", "cohere.embed-v4.0",
                   "text-embedding-3-small"]
    alias = body["data"][-1]
    assert alias["alias_for"] == "cohere.embed-v4.0" and alias["serving_mode"] == "on_demand"
    assert alias["default_params"] == {"dimensions": 1536} and alias["type"] == "embedding"
    # Hidden aliases are served (retrievable) but not listed.
    assert (await dispatch(get("/v1/models/secret-one"))).status == 200


async def test_dedicated_alias_does_not_leak_endpoint_or_compartment(env):
    endpoint = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaaexample"
    configure(env, MODEL_ALIASES={"mine": {"model": "cohere.embed-english-v3.0", "endpoint": endpoint,
                                           "compartment": "ocid1.compartment.oc1..c"}})
    response = await dispatch(get("/v1/models/mine"))
    assert response.status == 200
    assert b"ocid1" not in response.body
    assert json.loads(response.body)["serving_mode"] == "dedicated"


async def test_get_one_model(env):
    response = await dispatch(get("/v1/models/cohere.embed-english-light-v3.0"))
    body = json.loads(response.body)
    assert response.status == 200 and body["id"] == "cohere.embed-english-light-v3.0" and body["dimensions"] == 384


@pytest.mark.parametrize("model_id", ["gpt-4o", "xai.grok-9", "nope"])
async def test_unknown_model_is_404_model_not_found(env, model_id):
    response = await dispatch(get(f"/v1/models/{model_id}"))
    err = json.loads(response.body)["error"]
    assert response.status == 404 and err["code"] == "model_not_found"


async def test_retired_model_is_404_naming_replacement(env):
    response = await dispatch(get("/v1/models/cohere.command-r-16k"))
    err = json.loads(response.body)["error"]
    assert response.status == 404 and "cohere.command-r-08-2024" in err["message"]


async def test_model_filtered_out_by_served_models_is_404(env):
    configure(env, SERVED_MODELS="cohere.*")
    assert (await dispatch(get("/v1/models/meta.llama-3.3-70b-instruct"))).status == 404


async def test_post_to_models_is_405(env):
    response = await dispatch(Request(method="POST", path="/v1/models", body=b"{}", kind=HTTP))
    assert response.status == 405 and response.headers["allow"] == "GET"

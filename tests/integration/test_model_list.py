"""OCI's model list at run time: read, cached, merged with the catalog, and never in a chat call's way.

The gateway runs in process against the emulator, whose ``/models`` and ``/modelDiscovery`` answer in
the SDK's shapes (``tests/local`` reads them with the SDK's own client and paginator).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from core import model_list
from local.emulator import Emulator, ModelSpec
from tests.support.in_process import configure, emu, env, get, post, served  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

NEW = ModelSpec("meta.llama-5-70b-instruct", "chat", api_formats=("GENERIC",), time_created="2026-11-30T10:00:00.000Z")


def list_calls(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.path in ("/20231130/models", "/20231130/modelDiscovery")]


@pytest.fixture
def listing(emu, env):
    """The emulator with one model the catalog does not know, and the model list switched on."""
    emu.models.add(NEW)
    emu.models.list_page_size = 9  # several pages, followed through opc-next-page
    configure(env, MODEL_LIST_TTL_SECONDS="3600")
    yield emu
    with emu.models._lock:
        emu.models.models.pop(NEW.model_id, None)
    emu.models.list_page_size = 20


async def models() -> dict[str, dict[str, Any]]:
    response, body = await get("/v1/models")
    assert response.status == 200, body
    return {m["id"]: m for m in body["data"]}


async def test_v1_models_is_the_list_oci_gives_merged_with_the_catalog(listing):
    data = await models()
    # A model the catalog does not know is shown, named by displayName, created from timeCreated.
    assert data[NEW.model_id]["created"] == 1796032800 and data[NEW.model_id]["source"] == "oci"
    assert data[NEW.model_id]["type"] == "chat" and data[NEW.model_id]["owned_by"] == "meta"
    # A catalog model keeps the catalog's facts; OCI's list adds its creation time and on-demand availability.
    grok = data["xai.grok-4.3"]
    assert grok["capabilities"]["reasoning_effort"] == ["none", "low", "medium", "high"]
    assert grok["created"] > 0 and grok["on_demand"] is True and grok["max_output_tokens"] == 32768
    # Listed but retired on demand on a date that has passed: left out.
    assert "cohere.embed-multilingual-v3.0" not in data
    # Every page was read: the last models of the table are there.
    assert "cohere.embed-v4.0" in data and "openai.gpt-5.4" in data
    pages = [r for r in list_calls(listing) if r.path == "/20231130/models"]
    assert len(pages) > 1 and all(r.verified for r in pages)
    assert "page=" in pages[-1].query and "compartmentId=ocid1.compartment.oc1..aaaaaaaalive" in pages[0].query


async def test_the_list_is_read_once_per_ttl(listing, env):
    await models()
    reads = len(list_calls(listing))
    await models()
    await get("/v1/models/xai.grok-4.3")
    assert len(list_calls(listing)) == reads  # cached
    model_list.state().read_at -= 3601  # the TTL has passed
    await models()
    assert len(list_calls(listing)) == 2 * reads


async def test_a_model_only_oci_lists_can_be_retrieved(listing):
    response, body = await get(f"/v1/models/{NEW.model_id}")
    assert response.status == 200 and body["created"] == 1796032800
    response, body = await get("/v1/models/cohere.embed-english-v3.0")
    assert response.status == 404 and "cohere.embed-v4.0" in body["error"]["message"]


async def test_a_refused_list_falls_back_to_the_table_and_says_so_once(listing, caplog):
    listing.inject(404, times=4, path_contains="/20231130/model", body={
        "code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not found."})
    with caplog.at_level(logging.WARNING, logger="gateway"):
        data = await models()
        model_list.state().read_at -= 3601
        await models()
    assert NEW.model_id not in data and "xai.grok-4.3" in data and data["xai.grok-4.3"]["source"] == "catalog"
    said = [r for r in caplog.records if r.getMessage() == "model_list_unavailable"]
    assert len(said) == 1
    response, body = await get("/health")
    assert body["model_list"] == {"source": "table", "outcome": "refused", "age_seconds": 0,
                                  "detail": "HTTP 503 gateway_not_authorized"}


async def test_health_reports_the_last_outcome_and_only_deep_reads(listing):
    response, body = await get("/health")
    assert response.status == 200 and body["model_list"] == {"source": "table", "outcome": "not_read"}
    assert list_calls(listing) == []  # a plain check never calls OCI
    response, body = await get("/health", "deep=1")
    assert response.status == 403 and list_calls(listing) == []  # deep checks are for admin keys
    response, body = await get("/health", "deep=1", **{"x-gateway-admin": "true"})
    facts = body["model_list"]
    assert (facts["source"], facts["outcome"], facts["discovery"]) == ("oci", "ok", True)
    assert facts["models"] == len([m for m in listing.models.all() if not m.retired or m.retired_on])
    assert list_calls(listing)


async def test_the_first_chat_call_reads_the_list_beside_it_without_waiting(listing, monkeypatch):
    from core.oci import model_listing

    release = asyncio.Event()
    real = model_listing.list_models

    async def slow(*args, **kwargs):
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(model_listing, "list_models", slow)
    response, body = await post("/v1/chat/completions", {"model": "xai.grok-4.3",
                                                         "messages": [{"role": "user", "content": "hi"}]})
    assert response.status == 200, body  # answered while the list is still being read
    task = model_list.state().task
    assert task is not None and not task.done()
    release.set()
    await task
    assert model_list.state().outcome == "ok" and NEW.model_id in model_list.state().models


async def test_oci_listed_dates_reach_the_caller_and_a_past_one_stops_the_call(listing, caplog):
    deprecated = ModelSpec("meta.llama-3.3-70b-instruct", "chat", api_formats=("GENERIC",),
                           deprecated_on="2026-11-01", retired_on="2099-03-01", replacement="meta.llama-5-70b-instruct")
    gone = ModelSpec("meta.llama-3.2-11b-vision-instruct", "chat", api_formats=("GENERIC",), multimodal=True,
                     retired_on="2026-12-01")
    originals = [listing.models.get(s.model_id) for s in (deprecated, gone)]
    for spec in (deprecated, gone):
        listing.models.add(spec)
    try:
        await models()  # the list is read
        with caplog.at_level(logging.WARNING, logger="gateway"):
            response, body = await post("/v1/chat/completions", {"model": deprecated.model_id,
                                                                 "messages": [{"role": "user", "content": "hi"}]})
        assert response.status == 200, body
        assert response.headers["x-gateway-model-retirement"] == "2099-03-01; replacement=meta.llama-5-70b-instruct"
        assert [r for r in caplog.records if r.getMessage() == "model_retirement"]
        listed = (await models())[deprecated.model_id]
        assert (listed["status"], listed["retires_on"]) == ("deprecated", "2099-03-01")
        before = len(listing.requests)
        response, body = await post("/v1/chat/completions", {"model": gone.model_id,
                                                             "messages": [{"role": "user", "content": "hi"}]})
        assert response.status == 404 and "retired by OCI Generative AI on 2026-12-01" in body["error"]["message"]
        assert len(listing.requests) == before  # OCI was not called
    finally:
        for spec in originals:
            listing.models.add(spec)


async def test_a_region_without_model_discovery_still_lists(listing):
    listing.inject(404, times=1, path_contains="/modelDiscovery")
    data = await models()
    assert NEW.model_id in data and "on_demand" not in data[NEW.model_id]
    assert model_list.state().discovery is False


async def test_a_dedicated_only_model_is_not_listed_for_on_demand_callers(listing):
    spec = listing.models.get("meta.llama-3.3-70b-instruct-fp8-dynamic")
    listing.models.add(ModelSpec(spec.model_id, "chat", api_formats=("GENERIC",), on_demand=False))
    try:
        assert spec.model_id not in await models()
    finally:
        listing.models.add(spec)


async def test_served_models_and_aliases_apply_to_the_list(listing, env):
    configure(env, SERVED_MODELS="meta.*", MODEL_ALIASES=json.dumps({"fast": "xai.grok-4.3"}))
    data = await models()
    assert set(data) >= {NEW.model_id, "meta.llama-3.3-70b-instruct", "fast"}
    assert not any(name.startswith(("xai.", "cohere.")) for name in data)
    assert data["fast"]["alias_for"] == "xai.grok-4.3" and data["fast"]["created"] > 0

"""Operator aliases: file + config value, validation naming the setting, and shared model resolution."""

from __future__ import annotations

import json

import pytest

from core import aliases, runtime
from core.aliases import DEDICATED, ON_DEMAND, parse_aliases
from core.catalog import CHAT, EMBEDDING
from core.errors import APIError, ConfigError
from core.oci.deployment import compartment_id, genai_url
from core.settings import Settings
from tests.support.runtime import reset_settings

ENDPOINT = "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaaexample"


@pytest.fixture(autouse=True)
def fresh_cache():
    reset_settings()
    yield
    reset_settings()


def resolve(name: str, s: Settings, today: str | None = None) -> aliases.ResolvedModel:
    return aliases.resolve(name, s, runtime.aliases(s), today=today)


def settings(**env) -> Settings:
    return Settings.from_env({k: v if isinstance(v, str) else json.dumps(v) for k, v in env.items()})


def test_string_shorthand_and_full_entry():
    table = parse_aliases({
        "gpt-4o": "meta.llama-3.3-70b-instruct",
        "docs": {"model": "cohere.embed-english-v3.0", "endpoint": ENDPOINT, "region": "ORD",
                 "compartment": "ocid1.compartment.oc1..c", "params": {"input_type": "search_document"},
                 "description": "dedicated", "hidden": True},
    }, "setting MODEL_ALIASES")
    assert table["gpt-4o"].model == "meta.llama-3.3-70b-instruct" and table["gpt-4o"].serving_mode == ON_DEMAND
    docs = table["docs"]
    assert (docs.serving_mode, docs.endpoint, docs.region) == (DEDICATED, ENDPOINT, "us-chicago-1")
    assert dict(docs.params) == {"input_type": "search_document"} and docs.hidden


@pytest.mark.parametrize("data, fragment", [
    ([], "expected a JSON object"),
    ({"a": 5}, "model id string or an object"),
    ({"a": {}}, "needs 'model'"),
    ({"a": {"model": "m", "endpoint": 5}}, "'endpoint' must be a string"),
    ({"a": {"model": "m", "serving_mode": "SPOT"}}, "serving_mode"),
    ({"a": {"model": "m", "serving_mode": "DEDICATED"}}, "needs 'endpoint'"),
    ({"a": {"model": "m", "serving_mode": "ON_DEMAND", "endpoint": ENDPOINT}}, "only meaningful"),
    ({"a": {"model": "m", "params": []}}, "'params' must be an object"),
    ({"a": {"model": "m", "params": {"model": "x"}}}, "must not set 'model'"),
    ({"a": {"model": "m", "hidden": "yes"}}, "'hidden'"),
    ({"a": {"model": "m", "temperature": 1}}, "unknown keys"),
    ({"a/b": "m"}, "contain no '/'"),
])
def test_malformed_alias_is_config_error_naming_the_source(data, fragment):
    with pytest.raises(ConfigError) as info:
        parse_aliases(data, "setting MODEL_ALIASES")
    assert "MODEL_ALIASES" in str(info.value) and fragment in str(info.value)


def test_file_and_config_value_merge_with_config_winning(tmp_path):
    path = tmp_path / "aliases.json"
    path.write_text(json.dumps({"a": "cohere.embed-v4.0", "b": "meta.llama-3.3-70b-instruct"}))
    s = settings(MODEL_ALIASES_FILE=str(path), MODEL_ALIASES={"b": "xai.grok-3"})
    table = runtime.aliases(s)
    assert table["a"].model == "cohere.embed-v4.0" and table["b"].model == "xai.grok-3"


def test_relative_file_path_is_relative_to_the_function_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "FUNCTION_DIR", tmp_path)
    (tmp_path / "model_aliases.json").write_text('{"x": "cohere.embed-v4.0"}')
    assert runtime.aliases(settings(MODEL_ALIASES_FILE="model_aliases.json"))["x"].model == "cohere.embed-v4.0"


@pytest.mark.parametrize("content", [None, "{not json", "[1]"])
def test_missing_or_malformed_file_names_the_setting(tmp_path, content):
    path = tmp_path / "aliases.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as info:
        runtime.aliases(settings(MODEL_ALIASES_FILE=str(path)))
    assert "MODEL_ALIASES_FILE" in str(info.value)


def test_malformed_config_json_names_the_setting():
    with pytest.raises(ConfigError) as info:
        settings(MODEL_ALIASES="{oops")
    assert "MODEL_ALIASES" in str(info.value)


def test_aliases_are_read_once(tmp_path):
    path = tmp_path / "aliases.json"
    path.write_text('{"x": "cohere.embed-v4.0"}')
    s = settings(MODEL_ALIASES_FILE=str(path))
    first = runtime.aliases(s)
    path.write_text("broken")  # no re-read per request
    assert runtime.aliases(s) is first


def test_resolve_alias_gives_model_info_serving_mode_and_overrides():
    s = settings(MODEL_ALIASES={"emb": {"model": "cohere.embed-v4.0", "endpoint": ENDPOINT,
                                        "compartment": "ocid1.compartment.oc1..c", "params": {"dimensions": 512}}})
    r = resolve("emb", s)
    assert (r.name, r.model_id, r.info.kind, r.info.dimensions) == ("emb", "cohere.embed-v4.0", EMBEDDING, 1536)
    assert r.serving_mode_body() == {"servingType": "DEDICATED", "endpointId": ENDPOINT}
    assert compartment_id(s, None, r.compartment_id) == "ocid1.compartment.oc1..c"
    assert r.with_defaults({"input": "x"}) == {"input": "x", "dimensions": 512}
    assert r.with_defaults({"input": "x", "dimensions": 256})["dimensions"] == 256
    assert r.known


def test_resolve_catalog_model():
    r = resolve("meta.llama-3.3-70b-instruct", settings())
    assert r.serving_mode_body() == {"servingType": "ON_DEMAND", "modelId": "meta.llama-3.3-70b-instruct"}
    assert r.info.kind == CHAT and r.alias is None and r.params == {}


def test_unlisted_model_of_known_vendor_passes_through_as_unknown():
    r = resolve("xai.grok-9", settings())
    assert r.model_id == "xai.grok-9" and not r.known


@pytest.mark.parametrize("name", ["gpt-4o", "text-embedding-3-small", "acme.model", "meta.", "llama"])
def test_unknown_names_are_model_not_found(name):
    with pytest.raises(APIError) as info:
        resolve(name, settings())
    assert info.value.status == 404 and info.value.code == "model_not_found" and info.value.param == "model"


def test_retired_model_is_404_naming_replacement():
    with pytest.raises(APIError) as info:
        resolve("meta.llama-3.1-70b-instruct", settings())
    assert info.value.status == 404 and "meta.llama-3.3-70b-instruct" in info.value.message


def test_a_dedicated_alias_is_served_until_the_later_dedicated_retirement_date():
    # cohere.command: retired on demand on 2024-10-02, on dedicated clusters on 2025-08-07.
    s = settings(MODEL_ALIASES={"old": "cohere.command", "mine": {"model": "cohere.command", "endpoint": ENDPOINT}})
    for today in ("2025-01-01", "2026-12-07"):
        with pytest.raises(APIError) as info:
            resolve("old", s, today)
        assert info.value.status == 404 and "cohere.command-a-03-2025" in info.value.message
    assert resolve("mine", s, "2025-08-06").serving_mode == DEDICATED
    with pytest.raises(APIError) as info:
        resolve("mine", s, "2025-08-07")
    assert info.value.status == 404 and "on 2025-08-07" in info.value.message


def test_a_retired_model_is_served_until_its_date():
    assert resolve("cohere.embed-english-v3.0", settings(), "2026-10-20").model_id == "cohere.embed-english-v3.0"
    with pytest.raises(APIError) as info:
        resolve("cohere.embed-english-v3.0", settings(), "2026-10-21")
    assert info.value.message == ("The model 'cohere.embed-english-v3.0' was retired by OCI Generative AI on "
                                  "2026-10-21 and is no longer served. Use 'cohere.embed-v4.0' instead.")
    assert (info.value.status, info.value.code, info.value.param) == (404, "model_not_found", "model")


@pytest.mark.parametrize("old, new", [("cohere.command-a-vision-07-2025", "cohere.command-a-vision"),
                                      ("cohere.command-a-reasoning-08-2025", "cohere.command-a-reasoning"),
                                      ("xai.grok-4.20", "xai.grok-4.20-reasoning")])
def test_a_renamed_id_is_an_alias_of_the_new_one(old, new):
    r = resolve(old, settings())
    assert (r.name, r.model_id) == (old, new)
    assert r.serving_mode_body() == {"servingType": "ON_DEMAND", "modelId": new}
    # Operators' aliases may name the old id too.
    assert resolve("mine", settings(MODEL_ALIASES={"mine": old})).model_id == new


@pytest.mark.parametrize("old", ["xai.grok-4-fast", "xai.grok-4.1-fast", "xai.grok-4", "xai.grok-code-fast-1",
                                 "xai.grok-4-1-fast-reasoning", "xai.grok-3"])
def test_a_retired_grok_is_404_naming_grok_4_3(old):
    with pytest.raises(APIError) as info:
        resolve(old, settings())
    assert info.value.status == 404 and info.value.code == "model_not_found"
    assert "Use 'xai.grok-4.3' instead" in info.value.message


def test_multi_agent_grok_is_refused_on_chat_naming_the_responses_api():
    for name in ("xai.grok-4.20-multi-agent", "xai.grok-4.20-multi-agent-0309"):
        r = resolve(name, settings())
        assert r.model_id == "xai.grok-4.20-multi-agent-0309"
        with pytest.raises(APIError) as info:
            r.require_chat_completions()
        assert (info.value.status, info.value.param) == (400, "model") and "/v1/responses" in info.value.message


def test_an_alias_may_name_a_routing_profile():
    profile = "ocid1.generativeairoutingprofile.oc1.us-chicago-1.amaaaaaaprofile"
    r = resolve("smart", settings(MODEL_ALIASES={"smart": profile}))
    assert r.serving_mode_body() == {"servingType": "ON_DEMAND", "modelId": profile}
    assert r.routed and r.opaque and r.upstream_key == profile
    r.require_chat_completions()  # what it routes to is OCI's business


def test_served_models_filters_catalog_but_not_aliases():
    s = settings(SERVED_MODELS="cohere.embed-*", MODEL_ALIASES={"chat": "meta.llama-3.3-70b-instruct"})
    assert resolve("cohere.embed-v4.0", s).model_id == "cohere.embed-v4.0"
    assert resolve("chat", s).model_id == "meta.llama-3.3-70b-instruct"
    for name in ("meta.llama-3.3-70b-instruct", "xai.grok-9"):
        with pytest.raises(APIError) as info:
            resolve(name, s)
        assert info.value.code == "model_not_found"


def test_require_kind():
    s = settings()
    resolve("cohere.embed-v4.0", s).require_kind(EMBEDDING)
    with pytest.raises(APIError) as info:
        resolve("cohere.embed-v4.0", s).require_kind(CHAT)
    assert info.value.status == 400 and "/v1/embeddings" in info.value.message


def test_alias_region_changes_the_url_but_endpoint_override_wins():
    r = resolve("emb", settings(MODEL_ALIASES={"emb": {"model": "cohere.embed-v4.0", "region": "eu-frankfurt-1"}}))
    s = settings(OCI_REGION="us-chicago-1")
    assert genai_url(s, None, "embedText", r.region) == ("https://inference.generativeai.eu-frankfurt-1.oci.oraclecloud.com"
                                          "/20231130/actions/embedText")
    local = settings(OCI_REGION="us-chicago-1", OCI_GENAI_ENDPOINT="http://127.0.0.1:9")
    assert genai_url(local, None, "embedText", r.region) == "http://127.0.0.1:9/20231130/actions/embedText"


def test_a_raw_dedicated_endpoint_ocid_needs_served_models_to_name_it():
    for served in (None, "meta.*", "ocid1.generativeaiendpoint.oc1.us-chicago-1.other"):
        with pytest.raises(APIError) as refused:
            resolve(ENDPOINT, settings(**({"SERVED_MODELS": served} if served else {})))
        assert refused.value.status == 404 and refused.value.code == "model_not_found"
    for served in (ENDPOINT, "meta.*, ocid1.generativeaiendpoint.*", "*"):
        assert resolve(ENDPOINT, settings(SERVED_MODELS=served)).endpoint_id == ENDPOINT


def test_raw_dedicated_endpoint_ocid_is_served_as_opaque_dedicated():
    r = resolve(ENDPOINT, settings(SERVED_MODELS="ocid1.generativeaiendpoint.*"))
    assert r.serving_mode_body() == {"servingType": "DEDICATED", "endpointId": ENDPOINT}
    assert r.opaque and not r.known
    r.require_kind(EMBEDDING)  # unknown contents: OCI decides
    r.require_kind(CHAT)


def test_an_alias_may_send_responses_to_ocis_own_api():
    table = parse_aliases({"native": {"model": "openai.gpt-oss-120b", "responses": "native"},
                           "grok": {"model": "xai.grok-4", "responses": "native"},
                           "plain": "meta.llama-3.3-70b-instruct"}, "MODEL_ALIASES")
    assert (table["native"].responses, table["grok"].responses, table["plain"].responses) == (
        "native", "native", "bridge")
    s = settings(MODEL_ALIASES={"native": {"model": "openai.gpt-oss-120b", "responses": "native"}})
    assert resolve("native", s).responses == "native" and resolve("openai.gpt-oss-120b", s).responses == "bridge"


@pytest.mark.parametrize("entry, fragment", [
    ({"model": "meta.llama-3.3-70b-instruct", "responses": "native"}, "OpenAI, xAI and Google models only"),
    ({"model": "cohere.command-a-03-2025", "responses": "native"}, "OpenAI, xAI and Google models only"),
    ({"model": "openai.gpt-oss-120b", "endpoint": ENDPOINT, "responses": "native"}, "on-demand models"),
    ({"model": "openai.gpt-oss-120b", "responses": "forward"}, "'bridge' or 'native'"),
])
def test_native_responses_only_where_oci_serves_them(entry, fragment):
    with pytest.raises(ConfigError) as info:
        parse_aliases({"a": entry}, "MODEL_ALIASES")
    assert fragment in str(info.value) and "MODEL_ALIASES: alias 'a'" in str(info.value)


def test_openai_compatible_url_shares_the_inference_host():
    from core.oci.deployment import openai_url

    s = settings(OCI_REGION="us-chicago-1")
    assert openai_url(s, None, "responses") == ("https://inference.generativeai.us-chicago-1.oci.oraclecloud.com"
                                               "/openai/v1/responses")
    assert openai_url(s, None, "responses/r1", "eu-frankfurt-1").startswith(
        "https://inference.generativeai.eu-frankfurt-1.oci.oraclecloud.com/openai/v1/")
    local = settings(OCI_REGION="us-chicago-1", OCI_GENAI_ENDPOINT="http://127.0.0.1:9")
    assert openai_url(local, None, "responses") == "http://127.0.0.1:9/openai/v1/responses"

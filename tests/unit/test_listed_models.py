"""OCI's model list read into the catalog's terms: bodies built with the ``oci`` SDK's own model classes."""

from __future__ import annotations

import datetime as dt

from oci.generative_ai import models as M

from core.aliases import parse_aliases
from core.listed_models import listed_info, merged_rows, overlay, parse_models
from core.catalog import lookup
from tests.support.oci_sdk import sdk_serialize

UTC = dt.timezone.utc


def summary(name: str, capability: str, **extra) -> dict:
    model = M.ModelSummary(id=f"ocid1.generativeaimodel.oc1.us-chicago-1.{name}", compartment_id=None,
                           capabilities=[capability], lifecycle_state=extra.pop("state", "ACTIVE"),
                           display_name=name, vendor=name.split(".")[0], version="1.0",
                           time_created=dt.datetime(2026, 11, 30, 10, tzinfo=UTC), type=extra.pop("type", "BASE"),
                           **extra)
    return sdk_serialize(model)  # the SDK's own serializer: OCI's JSON names and date format


def test_an_sdk_shaped_list_with_a_retired_and_an_unknown_new_model():
    items = [
        summary("cohere.embed-multilingual-v3.0", "TEXT_EMBEDDINGS",
                time_on_demand_retired=dt.datetime(2026, 10, 21, tzinfo=UTC)),
        summary("meta.llama-5-70b-instruct", "CHAT"),
        summary("cohere.rerank-v4.0-pro", "TEXT_RERANK"),
        summary("xai.grok-4.3", "CHAT", time_deprecated=dt.datetime(2026, 12, 1, tzinfo=UTC),
                time_on_demand_retired=dt.datetime(2027, 6, 1, tzinfo=UTC)),
        summary("stability.image-1", "TEXT_TO_IMAGE"),
        summary("meta.llama-3-70b-instruct", "CHAT", state="DELETED"),
        summary("my-fine-tune", "CHAT", type="CUSTOM"),
    ]
    listed = parse_models(items)
    assert set(listed) == {"cohere.embed-multilingual-v3.0", "meta.llama-5-70b-instruct", "cohere.rerank-v4.0-pro",
                           "xai.grok-4.3"}
    assert listed["meta.llama-5-70b-instruct"].created == int(dt.datetime(2026, 11, 30, 10, tzinfo=UTC).timestamp())
    rows = {name: (info, listed_model) for name, info, _, listed_model in
            merged_rows(listed, (), {}, today="2026-12-07")}
    assert "cohere.embed-multilingual-v3.0" not in rows  # retired on a date that has passed
    assert rows["meta.llama-5-70b-instruct"][0].kind == "chat" and not rows["meta.llama-5-70b-instruct"][0].known
    assert rows["cohere.rerank-v4.0-pro"][0].kind == "rerank"
    grok = rows["xai.grok-4.3"][0]
    assert (grok.retired_on, grok.deprecated_on, grok.max_output_tokens) == ("2027-06-01", "2026-12-01", 32768)
    assert list(rows)[:1] == ["xai.grok-4.3"]  # catalog models first, in the catalog's order


def test_discovery_adds_on_demand_availability_and_replacements():
    items = [summary("meta.llama-3.3-70b-instruct", "CHAT")]
    availability = M.Availability(realm="oc1", region="us-chicago-1",
                                  time_on_demand_retired=dt.datetime(2027, 1, 15, tzinfo=UTC),
                                  supported_replacements=["meta.llama-5-70b-instruct"])
    other = M.Availability(realm="oc1", region="eu-frankfurt-1")
    discovery = [sdk_serialize(M.ModelDiscovery(model_id="meta.llama-3.3-70b-instruct", vendor="meta",
                                                capabilities=["CHAT"], availability=[other, availability]))]
    # servingModes is a list of strings on the wire (the SDK types it with a name it does not define)
    discovery[0]["availability"][0]["servingModes"] = ["ON_DEMAND", "DEDICATED"]
    discovery[0]["availability"][1]["servingModes"] = ["DEDICATED"]
    listed = parse_models(items, discovery, region="us-chicago-1")["meta.llama-3.3-70b-instruct"]
    assert (listed.on_demand, listed.retired_on, listed.replacements) == (False, "2027-01-15",
                                                                          ("meta.llama-5-70b-instruct",))
    info = overlay(lookup("meta.llama-3.3-70b-instruct"), listed)
    assert (info.retired_on, info.replacement) == ("2027-01-15", "meta.llama-5-70b-instruct")
    assert merged_rows({listed.name: listed}, (), {}, today="2026-12-07") == []  # not on demand here
    aliases = parse_aliases({"ours": {"model": listed.name, "endpoint":
                                      "ocid1.generativeaiendpoint.oc1.us-chicago-1.abc"}}, "test")
    [(name, alias_info, alias, found)] = merged_rows({listed.name: listed}, (), aliases, today="2026-12-07")
    assert (name, alias_info.retired_on, found) == ("ours", "2027-01-15", listed)
    assert listed_info(listed).retired_on == "2027-01-15"

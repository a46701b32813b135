"""CloudEvent parsing, the bucket allow-check and output names (pure)."""

from __future__ import annotations

import pytest

from core.errors import APIError, ConfigError
from core.ingest.config import IngestConfig
from core.ingest.events import CREATE, DELETE, ObjectEvent, parse_event
from core.settings import Settings

SAMPLE = {  # OCI's published createobject sample
    "eventType": "com.oraclecloud.objectstorage.createobject", "cloudEventsVersion": "0.1",
    "eventTypeVersion": "2.0", "source": "ObjectStorage", "eventTime": "2020-01-21T16:26:30.849Z",
    "contentType": "application/json",
    "data": {"compartmentId": "ocid1.compartment.oc1..x", "compartmentName": "DevOps",
             "resourceName": "campaigns.json",
             "resourceId": "/n/wedoinfra/b/bucket-gigis-pizza-discounts/o/campaigns.json",
             "availabilityDomain": "FRA-AD-1",
             "additionalDetails": {"bucketName": "bucket-gigis-pizza-discounts", "archivalState": "Available",
                                   "namespace": "wedoinfra", "bucketId": "ocid1.bucket.oc1.x",
                                   "eTag": "199f8dbf-0b8c-41b6-9596-4d2a6792d7e5"}},
    "eventID": "3e47d127-19de-6eb8-eb67-0c1ab961fcbc", "extensions": {"compartmentId": "ocid1.compartment.oc1..x"},
}


def config(**env) -> IngestConfig:
    base = {"INGEST_INPUT_BUCKETS": "in", "INGEST_OUTPUT_BUCKET": "out"}
    return IngestConfig.from_settings(Settings.from_env({**base, **env}))


def ev(bucket="in", name="doc.txt", namespace="ns", kind="createobject") -> ObjectEvent:
    return ObjectEvent(f"com.oraclecloud.objectstorage.{kind}", namespace, bucket, name, "etag-1")


def test_parses_the_published_sample():
    event = parse_event(SAMPLE)
    assert (event.namespace, event.bucket, event.name, event.etag) == (
        "wedoinfra", "bucket-gigis-pizza-discounts", "campaigns.json", "199f8dbf-0b8c-41b6-9596-4d2a6792d7e5")
    assert event.kind == "createobject" and not event.is_delete
    assert parse_event(event.as_body()) == ObjectEvent(event.event_type, event.namespace, event.bucket,
                                                       event.name, event.etag, event.event_id, event.event_time)


def test_delete_needs_no_etag_and_resource_id_fills_gaps():
    body = {"eventType": DELETE, "data": {"resourceName": "a b.txt", "resourceId": "/n/ns1/b/bk/o/a b.txt",
                                          "additionalDetails": {}}}
    event = parse_event(body)
    assert (event.namespace, event.bucket, event.etag, event.is_delete) == ("ns1", "bk", None, True)


@pytest.mark.parametrize("mutate,param", [
    (lambda b: b["data"].pop("resourceName"), "data.resourceName"),
    (lambda b: b["data"]["additionalDetails"].pop("eTag"), "data.additionalDetails.eTag"),
    (lambda b: b.update(eventType="com.oraclecloud.objectstorage.restoreobject"), "eventType"),
])
def test_malformed_events_are_400s_naming_the_field(mutate, param):
    import copy

    body = copy.deepcopy(SAMPLE)
    mutate(body)
    with pytest.raises(APIError) as caught:
        parse_event(body)
    assert caught.value.status == 400 and caught.value.param == param


def test_allow_check():
    cfg = config(INGEST_INPUT_BUCKETS="in, ns2/other", INGEST_PREFIXES="docs/,pub/")
    assert cfg.refusal(ev(name="docs/a.txt")) is None
    assert cfg.refusal(ev(bucket="other", namespace="ns2", name="pub/x")) is None
    assert "not an input bucket" in cfg.refusal(ev(bucket="other", namespace="ns3", name="pub/x"))
    assert "not an input bucket" in cfg.refusal(ev(bucket="nope", name="docs/a"))
    assert "INGEST_PREFIXES" in cfg.refusal(ev(name="private/a.txt"))


def test_own_outputs_never_loop_when_input_and_output_share_a_bucket():
    cfg = config(INGEST_INPUT_BUCKETS="shared", INGEST_OUTPUT_BUCKET="shared")
    assert "output of this pipeline" in cfg.refusal(ev(bucket="shared", name="embeddings/doc.txt/part-00000.jsonl"))
    assert "output of this pipeline" in cfg.refusal(ev(bucket="shared", name="failed/doc.txt.json"))
    assert cfg.refusal(ev(bucket="shared", name="doc.txt")) is None


def test_output_names_are_deterministic():
    cfg = config()
    event = ev(name="dir/report.pdf")
    assert cfg.part_name(event, 3) == "embeddings/dir/report.pdf/part-00003.jsonl"
    assert cfg.manifest_name(event) == "embeddings/dir/report.pdf/manifest.json"
    assert cfg.failed_name(event) == "failed/dir/report.pdf.json"
    templated = config(INGEST_OUTPUT_PREFIX="vectors/{namespace}/{bucket}/")
    assert templated.manifest_name(event) == "vectors/ns/in/dir/report.pdf/manifest.json"


@pytest.mark.parametrize("env,message", [
    ({"INGEST_INPUT_BUCKETS": ""}, "INGEST_INPUT_BUCKETS"),
    ({"INGEST_OUTPUT_BUCKET": ""}, "INGEST_OUTPUT_BUCKET"),
    ({"INGEST_CHUNK_TOKENS": "500"}, "INGEST_CHUNK_TOKENS"),
    ({"INGEST_CHUNK_OVERLAP_TOKENS": "300"}, "INGEST_CHUNK_OVERLAP_TOKENS"),
    ({"INGEST_INPUT_BUCKETS": "a/b/c"}, "INGEST_INPUT_BUCKETS"),
])
def test_bad_configuration_names_the_setting(env, message):
    base = {"INGEST_INPUT_BUCKETS": "in", "INGEST_OUTPUT_BUCKET": "out", **env}
    with pytest.raises(ConfigError, match=message):
        IngestConfig.from_settings(Settings.from_env({k: v for k, v in base.items() if v}))


def test_router_sends_object_events_to_the_ingest_handler_only_in_that_role():
    import json as _json

    from core.exchange import INVOKE, Request
    from handlers.router import ROLES, resolve_invoke

    request = Request(kind=INVOKE, body=_json.dumps(SAMPLE).encode())
    name, handler = resolve_invoke(ROLES["ingest"], request)
    assert name == "ingest" and handler.__module__ == "handlers.ingest"
    with pytest.raises(APIError):
        resolve_invoke(ROLES["gateway"], request)
    with pytest.raises(APIError):
        resolve_invoke(ROLES["ingest"], Request(kind=INVOKE, body=b'{"eventType": "com.example.other", "data": {}}'))


def test_a_continuation_event_carries_its_invocation_number_and_round_trips():
    from core.ingest.events import CONTINUATION_KEY, ObjectEvent

    sent = ObjectEvent(CREATE, "ns", "bucket", "a/b.pdf", "etag-1", "event-1", "2026-01-01T00:00:00Z", 3)
    body = sent.as_body()
    assert body[CONTINUATION_KEY] == 3
    assert parse_event(body) == sent
    assert parse_event({**body, CONTINUATION_KEY: "3"}).continuation == 0  # only a number counts
    assert CONTINUATION_KEY not in ObjectEvent(CREATE, "ns", "bucket", "a", "e").as_body()


@pytest.mark.parametrize("mode,function_id,enabled", [
    ("auto", "ocid1.fnfunc.oc1..x", True), ("auto", None, False), ("invoke", None, True), ("off", "ocid1.x", False),
])
def test_continuation_is_on_when_running_as_a_function_or_asked_for(mode, function_id, enabled):
    from core.ingest.continuation import Continuation
    from core.settings import Settings

    env = {"INGEST_CONTINUATION": mode, **({"FN_FN_ID": function_id} if function_id else {})}
    assert Continuation(Settings.from_env(env), connect=lambda: None).enabled is enabled  # type: ignore[arg-type]

"""The OCI Events CloudEvent for an object (Object Storage's ``com.oraclecloud.objectstorage.*`` events), parsed and checked.

Plain dataclasses rather than pydantic: the payload has six fields we read, and the checks
below give error messages that name the missing field; no import cost either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import invalid_request

PREFIX = "com.oraclecloud.objectstorage."
CREATE = PREFIX + "createobject"
UPDATE = PREFIX + "updateobject"
DELETE = PREFIX + "deleteobject"
KNOWN = (CREATE, UPDATE, DELETE)
CONTINUATION_KEY = "gatewayContinuation"
"""Top-level key of an event this function sent itself to go on with an object: the invocation's number."""


@dataclass(frozen=True)
class ObjectEvent:
    """What one object event says: which object, which version (ETag), what happened."""

    event_type: str
    namespace: str
    bucket: str
    name: str
    etag: str | None
    event_id: str = ""
    event_time: str = ""
    continuation: int = 0
    """For an event this function sent itself to go on with the object: the invocation's number."""

    @property
    def is_delete(self) -> bool:
        return self.event_type == DELETE

    @property
    def kind(self) -> str:
        return self.event_type[len(PREFIX):] if self.event_type.startswith(PREFIX) else self.event_type

    def as_body(self) -> dict[str, Any]:
        """A CloudEvent body equivalent to this event (backfill, continuation)."""
        details: dict[str, Any] = {"bucketName": self.bucket, "namespace": self.namespace}
        if self.etag:
            details["eTag"] = self.etag
        body: dict[str, Any] = {
            "eventType": self.event_type, "cloudEventsVersion": "0.1", "eventTypeVersion": "2.0",
            "source": "ObjectStorage", "eventTime": self.event_time, "contentType": "application/json",
            "eventID": self.event_id,
            "data": {"resourceName": self.name, "additionalDetails": details},
        }
        if self.continuation:
            body[CONTINUATION_KEY] = self.continuation
        return body


def is_object_event(body: Any) -> bool:
    """The router's shape test: an Object Storage CloudEvent with a ``data`` object."""
    return (isinstance(body, dict) and isinstance(body.get("eventType"), str)
            and body["eventType"].startswith(PREFIX) and isinstance(body.get("data"), dict))


def _text(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise invalid_request(f"The object event has no '{field}'.", param=field, code="invalid_event")
        return None
    if not isinstance(value, str):
        raise invalid_request(f"The object event's '{field}' must be a string.", param=field, code="invalid_event")
    return value


def _from_resource_id(resource_id: Any) -> tuple[str | None, str | None]:
    """``/n/{ns}/b/{bucket}/o/{name}`` -> (ns, bucket); a fallback when additionalDetails lacks them."""
    if not isinstance(resource_id, str):
        return None, None
    parts = resource_id.split("/", 6)
    if len(parts) >= 6 and parts[1] == "n" and parts[3] == "b":
        return parts[2] or None, parts[4] or None
    return None, None


def parse_event(body: Any) -> ObjectEvent:
    """Check and extract an object event; a 400 names what is missing."""
    if not is_object_event(body):
        raise invalid_request("Not an Object Storage event: expected 'eventType' com.oraclecloud.objectstorage.* "
                              "and a 'data' object.", code="invalid_event")
    event_type = body["eventType"]
    if event_type not in KNOWN:
        raise invalid_request(f"Unsupported object event type {event_type!r}; expected one of "
                              f"{', '.join(KNOWN)}.", param="eventType", code="unsupported_event")
    data = body["data"]
    details = data.get("additionalDetails") if isinstance(data.get("additionalDetails"), dict) else {}
    ns_hint, bucket_hint = _from_resource_id(data.get("resourceId"))
    name = _text(data.get("resourceName"), "data.resourceName")
    namespace = _text(details.get("namespace") or ns_hint, "data.additionalDetails.namespace")
    bucket = _text(details.get("bucketName") or bucket_hint, "data.additionalDetails.bucketName")
    etag = _text(details.get("eTag"), "data.additionalDetails.eTag", required=event_type != DELETE)
    event_id = body.get("eventID") if isinstance(body.get("eventID"), str) else ""
    event_time = body.get("eventTime") if isinstance(body.get("eventTime"), str) else ""
    continuation = body.get(CONTINUATION_KEY)
    continuation = continuation if isinstance(continuation, int) and not isinstance(continuation, bool) else 0
    assert name is not None and namespace is not None and bucket is not None
    return ObjectEvent(event_type, namespace, bucket, name, etag, event_id, event_time, max(0, continuation))

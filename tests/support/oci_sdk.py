"""The `oci` SDK as the authority on OCI's request and response formats (test-only).

:func:`assert_sdk_roundtrip` deserializes a JSON body into the SDK's model class and
serializes it back with the SDK's own serializer: a key the SDK does not know would be
dropped, a wrong discriminator or enum would fail, so equality proves the body has
exactly the shape OCI's published models describe.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def _base_client():
    import oci
    from oci.base_client import BaseClient
    from oci.generative_ai_inference.models import generative_ai_inference_type_mapping

    from oci.auth.signers import KeyPairSigner

    class _NoSigner(KeyPairSigner):  # deserialization never signs anything
        def __init__(self) -> None:
            pass

    config = {"region": "us-chicago-1"}
    client = BaseClient("generative_ai_inference", config, _NoSigner(), generative_ai_inference_type_mapping,
                        service_endpoint="https://localhost")
    del oci
    return client


def sdk_model(body: dict[str, Any], type_name: str) -> Any:
    """The body as an instance of the SDK model ``type_name`` (e.g. ``ChatDetails``)."""
    return _base_client().deserialize_response_data(json.dumps(body).encode(), type_name)


def sdk_serialize(model: Any) -> Any:
    return _base_client().sanitize_for_serialization(model)


def assert_sdk_roundtrip(body: dict[str, Any], type_name: str) -> Any:
    """Assert ``body`` survives SDK deserialization + serialization unchanged; return the model."""
    model = sdk_model(body, type_name)
    again = sdk_serialize(model)
    assert _normalize(again) == _normalize(body), (
        f"body does not match the SDK's {type_name}:\n sent: {json.dumps(body, sort_keys=True)}\n"
        f" sdk:  {json.dumps(again, sort_keys=True)}"
    )
    return model


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value

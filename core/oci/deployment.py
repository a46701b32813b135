"""Where this deployment's OCI calls go and which compartment pays for them.

Resolved from settings first, then from what the credentials carry (a resource
principal knows its region and compartment), so a function needs no configuration
beyond its resource principal in the common case.
"""

from __future__ import annotations

from typing import Any

from core.errors import ConfigError
from core.oci.endpoints import GENAI_API_VERSION, genai_base_url, genai_management_base_url, objectstorage_base_url
from core.settings import Settings


def region(settings: Settings, credentials: Any) -> str | None:
    return settings.oci_region or getattr(credentials, "region", None)


def compartment_id(settings: Settings, credentials: Any, override: str | None = None) -> str:
    """The compartment billed: ``override`` (an alias's), the setting, the principal's compartment, its tenancy."""
    value = (override or settings.oci_compartment_id or getattr(credentials, "compartment_id", None)
             or getattr(credentials, "tenancy_id", None))
    if not value:
        raise ConfigError("no compartment: set OCI_COMPARTMENT_ID")
    return value


def _genai_base(settings: Settings, credentials: Any, in_region: str | None) -> str:
    home = region(settings, credentials)
    if in_region is None or settings.oci_genai_endpoint:
        return genai_base_url(home, override=settings.oci_genai_endpoint, region_metadata=settings.oci_region_metadata)
    metadata = settings.oci_region_metadata if home == in_region else None
    return genai_base_url(in_region, region_metadata=metadata)


def genai_url(settings: Settings, credentials: Any, action: str, in_region: str | None = None) -> str:
    """URL of a Generative AI inference action (``chat``, ``embedText``) in ``in_region`` (an alias's), else the
    deployment's region; ``OCI_GENAI_ENDPOINT`` wins over both."""
    return f"{_genai_base(settings, credentials, in_region)}/actions/{action}"


def openai_url(settings: Settings, credentials: Any, path: str, in_region: str | None = None) -> str:
    """URL of OCI's OpenAI-compatible API on the same host: ``.../openai/v1/{path}`` (e.g. ``responses``)."""
    base = _genai_base(settings, credentials, in_region).removesuffix(f"/{GENAI_API_VERSION}")
    return f"{base}/openai/v1/{path}"


def genai_management_url(settings: Settings, credentials: Any) -> str:
    """Base URL of the Generative AI management API in the deployment's region: ``OCI_GENAI_MANAGEMENT_ENDPOINT``
    wins, then the host of ``OCI_GENAI_ENDPOINT`` (the local emulator serves both APIs on one host)."""
    if settings.oci_genai_management_endpoint:
        override, setting = settings.oci_genai_management_endpoint, "OCI_GENAI_MANAGEMENT_ENDPOINT"
    else:
        override, setting = settings.oci_genai_endpoint, "OCI_GENAI_ENDPOINT"
    return genai_management_base_url(region(settings, credentials), override=override,
                                     region_metadata=settings.oci_region_metadata, setting=setting)


def objectstorage_url(settings: Settings, credentials: Any) -> str:
    return objectstorage_base_url(region(settings, credentials), override=settings.oci_objectstorage_endpoint,
                                  region_metadata=settings.oci_region_metadata)

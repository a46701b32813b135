"""Where OCI's services live, computed from a region without a network call.

Generative AI inference is at ``https://inference.generativeai.{region}.oci.{realm domain}``,
its management API (the model list) at ``https://generativeai.{region}.oci.{realm domain}``
and Object Storage at ``https://objectstorage.{region}.{realm domain}``. The realm
domain comes from ``OCI_REGION_METADATA`` when OCI Functions provides it, otherwise
from the region name (gov and sovereign regions live in other realms).
``OCI_GENAI_ENDPOINT`` / ``OCI_GENAI_MANAGEMENT_ENDPOINT`` / ``OCI_OBJECTSTORAGE_ENDPOINT``
override the host for private endpoints and the local emulator.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from core.errors import ConfigError
from core.regions import normalize_region

GENAI_API_VERSION = "20231130"

REALM_DOMAINS: dict[str, str] = {
    "oc1": "oraclecloud.com", "oc2": "oraclegovcloud.com", "oc3": "oraclegovcloud.com",
    "oc4": "oraclegovcloud.uk", "oc8": "oraclecloud8.com", "oc9": "oraclecloud9.com",
    "oc10": "oraclecloud10.com", "oc14": "oraclecloud14.com", "oc15": "oraclecloud15.com",
    "oc19": "oraclecloud.eu", "oc20": "oraclecloud20.com", "oc21": "oraclecloud21.com",
    "oc23": "oraclecloud23.com", "oc24": "oraclecloud24.com", "oc26": "oraclecloud26.com",
    "oc29": "oraclecloud29.com", "oc35": "oraclecloud35.com", "oc42": "oraclecloud42.com",
    "oc51": "oraclecloud51.com", "oc52": "oraclecloud52.com",
}

# Regions outside the commercial realm (oc1); every other region is oc1.
_NON_OC1_REGIONS: dict[str, str] = {
    "us-langley-1": "oc2", "us-luke-1": "oc2",
    "us-gov-ashburn-1": "oc3", "us-gov-chicago-1": "oc3", "us-gov-phoenix-1": "oc3",
    "uk-gov-london-1": "oc4", "uk-gov-cardiff-1": "oc4",
    "ap-chiyoda-1": "oc8", "ap-ibaraki-1": "oc8",
    "me-dcc-muscat-1": "oc9", "me-ibri-1": "oc9",
    "ap-dcc-canberra-1": "oc10",
    "eu-dcc-milan-1": "oc14", "eu-dcc-milan-2": "oc14", "eu-dcc-dublin-1": "oc14", "eu-dcc-dublin-2": "oc14",
    "eu-dcc-rating-1": "oc14", "eu-dcc-rating-2": "oc14",
    "ap-dcc-gazipur-1": "oc15",
    "eu-frankfurt-2": "oc19", "eu-madrid-2": "oc19",
    "eu-jovanovac-1": "oc20",
    "me-dcc-doha-1": "oc21", "me-alrayyan-1": "oc21",
    "us-somerset-1": "oc23", "us-thames-1": "oc23",
    "eu-dcc-zurich-1": "oc24", "eu-crissier-1": "oc24",
    "me-abudhabi-3": "oc26", "me-alain-1": "oc26",
    "me-abudhabi-2": "oc29", "me-abudhabi-4": "oc29",
    "ap-seoul-2": "oc35", "ap-suwon-1": "oc35", "ap-chuncheon-2": "oc35",
    "us-ashburn-2": "oc42", "us-newark-1": "oc42",
    "eu-budapest-1": "oc51",
    "sa-riodejaneiro-1": "oc52",
}

def realm_domain(region: str, region_metadata: Mapping[str, Any] | None = None) -> str:
    """The second-level domain of the realm that hosts ``region``."""
    if region_metadata:
        domain = region_metadata.get("realmDomainComponent")
        meta_region = region_metadata.get("regionIdentifier")
        if domain and (not meta_region or normalize_region(str(meta_region)) == region):
            return str(domain)
    return REALM_DOMAINS[_NON_OC1_REGIONS.get(region, "oc1")]


def _override(value: str, setting: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"setting {setting} must look like https://host[:port], got {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"setting {setting} must be scheme://host[:port] with no path, query or credentials")
    netloc = parts.netloc
    # A default port would be signed in `host` but not sent by httpx: drop it.
    if (parts.scheme == "https" and parts.port == 443) or (parts.scheme == "http" and parts.port == 80):
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{netloc}"


def _service_url(service: str, region: str | None, override: str | None, setting: str,
                 region_metadata: Mapping[str, Any] | None, *, oci_label: bool, suffix: str = "") -> str:
    """``https://{service}.{region}[.oci].{realm domain}{suffix}``, or ``{override}{suffix}`` when one is set.

    Newer services (Generative AI, Vault secrets) carry an ``oci.`` label before the realm domain; Object
    Storage does not.
    """
    if override:
        return _override(override, setting) + suffix
    if not region:
        raise ConfigError("no region: set OCI_REGION (or use credentials that carry a region)")
    name = normalize_region(region)
    label = "oci." if oci_label else ""
    return f"https://{service}.{name}.{label}{realm_domain(name, region_metadata)}{suffix}"


def genai_base_url(region: str | None, *, override: str | None = None,
                   region_metadata: Mapping[str, Any] | None = None) -> str:
    """Base URL of the Generative AI inference API, e.g. ``https://inference...com/20231130``."""
    return _service_url("inference.generativeai", region, override, "OCI_GENAI_ENDPOINT", region_metadata,
                        oci_label=True, suffix=f"/{GENAI_API_VERSION}")


def genai_management_base_url(region: str | None, *, override: str | None = None,
                              region_metadata: Mapping[str, Any] | None = None,
                              setting: str = "OCI_GENAI_MANAGEMENT_ENDPOINT") -> str:
    """Base URL of the Generative AI management API, e.g. ``https://generativeai...com/20231130``."""
    return _service_url("generativeai", region, override, setting, region_metadata, oci_label=True,
                        suffix=f"/{GENAI_API_VERSION}")


def objectstorage_base_url(region: str | None, *, override: str | None = None,
                           region_metadata: Mapping[str, Any] | None = None) -> str:
    """Base URL of Object Storage, e.g. ``https://objectstorage.us-ashburn-1.oraclecloud.com``."""
    return _service_url("objectstorage", region, override, "OCI_OBJECTSTORAGE_ENDPOINT", region_metadata,
                        oci_label=False)


def auth_base_url(region: str, region_metadata: Mapping[str, Any] | None = None) -> str:
    """The identity federation endpoint used by instance principals."""
    name = normalize_region(region)
    return f"https://auth.{name}.{realm_domain(name, region_metadata)}"


SECRETS_API_VERSION = "20190301"


def secrets_base_url(region: str | None, *, override: str | None = None,
                     region_metadata: Mapping[str, Any] | None = None) -> str:
    """Base URL of the Vault secret-retrieval API.

    For example ``https://secrets.vaults.us-ashburn-1.oci.oraclecloud.com/20190301`` (note the ``oci.`` label).
    """
    return _service_url("secrets.vaults", region, override, "OCI_SECRETS_ENDPOINT", region_metadata,
                        oci_label=True, suffix=f"/{SECRETS_API_VERSION}")


FUNCTIONS_API_VERSION = "20181201"


def functions_base_url(region: str | None, *, override: str | None = None,
                       region_metadata: Mapping[str, Any] | None = None) -> str:
    """Base URL of the Functions management API, e.g. ``https://functions.us-ashburn-1.oci.oraclecloud.com/20181201``."""
    return _service_url("functions", region, override, "OCI_FUNCTIONS_ENDPOINT", region_metadata,
                        oci_label=True, suffix=f"/{FUNCTIONS_API_VERSION}")

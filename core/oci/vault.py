"""Reading one OCI Vault secret: a signed GET of its current secret bundle, decoded.

``GET https://secrets.vaults.{region}.oci.{realm domain}/20190301/secretbundles/{secretId}``
answers ``{"secretId", "versionNumber", "secretBundleContent": {"contentType": "BASE64",
"content": "<base64>"}, ...}`` (the ``oci`` SDK's ``SecretBundle`` and
``Base64SecretBundleContentDetails``). The request goes through the shared client, so it is
signed by the function's principal and retried like every other OCI read, but within its own
short budget (:data:`VAULT_BUDGET_SECONDS`): the authorizer waits for it while API Gateway waits
for the authorizer, and a hanging Vault must cost seconds, not the function's whole timeout.

The secret's region is taken from its OCID (``ocid1.vaultsecret.oc1.iad.<unique>``) when it
names one, so a Vault in another region than Generative AI needs no setting. Nothing here
logs or raises the secret's content.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from core.oci.endpoints import secrets_base_url
from core.regions import REGION_KEYS
from core.errors import ConfigError
from core.settings import Settings

from core.oci.client import UpstreamError
from core.oci.failures import api_error

if TYPE_CHECKING:
    from core.oci.client import OCIClient

SERVICE = "OCI Vault"
VAULT_BUDGET_SECONDS = 1.2
"""Time one secret read may take, retries included."""

SECRET_OCID_RE = re.compile(r"^ocid1\.vaultsecret\.([a-z0-9]+)\.([a-z0-9-]*)\.[A-Za-z0-9._-]{1,200}$")
_REGION_NAME_RE = re.compile(r"^[a-z]+-[a-z]+-\d+$")


def secret_region(secret_ocid: str) -> str | None:
    """The region named by a secret OCID (``iad`` or ``us-ashburn-1``), or None."""
    found = SECRET_OCID_RE.match(secret_ocid)
    if not found:
        return None
    region = found.group(2)
    if region in REGION_KEYS:
        return REGION_KEYS[region]
    return region if _REGION_NAME_RE.match(region) else None


def secret_bundle_url(secret_ocid: str, settings: Settings, credentials: Any, setting: str) -> str:
    """Where to GET the secret's current bundle; a ConfigError (naming ``setting``) for a malformed OCID."""
    if not SECRET_OCID_RE.match(secret_ocid):
        raise ConfigError(f"setting {setting} must be a Vault secret OCID (ocid1.vaultsecret...)")
    region = secret_region(secret_ocid) or getattr(credentials, "region", None) or settings.oci_region
    base = secrets_base_url(region, override=settings.oci_secrets_endpoint,
                            region_metadata=settings.oci_region_metadata)
    return f"{base}/secretbundles/{quote(secret_ocid, safe='')}"


def decode_bundle(payload: Any, setting: str) -> bytes:
    """The secret's bytes from a secret-bundle response body."""
    content = payload.get("secretBundleContent") if isinstance(payload, dict) else None
    if not isinstance(content, dict) or not isinstance(content.get("content"), str):
        raise ConfigError(f"the Vault secret named by {setting} has no content")
    kind = content.get("contentType", "BASE64")
    if kind != "BASE64":
        raise ConfigError(f"the Vault secret named by {setting} has content type {str(kind)[:20]!r}, not BASE64")
    try:
        return base64.b64decode(content["content"], validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"the Vault secret named by {setting} is not valid base64") from None


async def read_secret(client: "OCIClient", secret_ocid: str, *, setting: str, deadline: float | None = None,
                      request_id: str | None = None) -> bytes:
    """The current version of a Vault secret. Upstream failures raise :class:`core.errors.APIError`."""
    url = secret_bundle_url(secret_ocid, client.settings, client.credentials, setting)
    try:
        upstream = await client.request("GET", url, deadline=deadline, budget=VAULT_BUDGET_SECONDS,
                                        request_id=request_id, service=SERVICE)
    except UpstreamError as exc:
        raise api_error(exc) from None
    try:
        payload = upstream.json()
    except ValueError:
        raise ConfigError(f"OCI Vault answered the read of {setting} with something other than JSON") from None
    return decode_bundle(payload, setting)

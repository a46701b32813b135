"""Vault secret reads: endpoint, region from the OCID, the response shape the oci SDK defines."""

from __future__ import annotations

import base64
import json

import pytest

from core.oci.endpoints import secrets_base_url
from core.errors import ConfigError
from core.settings import Settings
from core.oci.vault import decode_bundle, secret_bundle_url, secret_region
from tests.support.oci_sdk import sdk_serialize


class Creds:
    region = "eu-frankfurt-1"


def test_secrets_endpoint():
    assert secrets_base_url("us-ashburn-1") == "https://secrets.vaults.us-ashburn-1.oci.oraclecloud.com/20190301"
    assert secrets_base_url("iad") == "https://secrets.vaults.us-ashburn-1.oci.oraclecloud.com/20190301"
    assert secrets_base_url("uk-gov-london-1").endswith(".oci.oraclegovcloud.uk/20190301")
    assert secrets_base_url(None, override="http://127.0.0.1:9") == "http://127.0.0.1:9/20190301"
    with pytest.raises(ConfigError, match="OCI_SECRETS_ENDPOINT"):
        secrets_base_url("us-ashburn-1", override="ftp://x")


def test_region_comes_from_the_ocid_then_the_credentials():
    assert secret_region("ocid1.vaultsecret.oc1.iad.amaaaaaaxyz") == "us-ashburn-1"
    assert secret_region("ocid1.vaultsecret.oc1.us-phoenix-1.amaaaaaaxyz") == "us-phoenix-1"
    assert secret_region("ocid1.vaultsecret.oc1..amaaaaaaxyz") is None
    settings = Settings.from_env({})
    assert secret_bundle_url("ocid1.vaultsecret.oc1..amaaaaaaxyz", settings, Creds(), "S").startswith(
        "https://secrets.vaults.eu-frankfurt-1.")
    assert secret_bundle_url("ocid1.vaultsecret.oc1.iad.amaaaaaaxyz", settings, Creds(), "S") == (
        "https://secrets.vaults.us-ashburn-1.oci.oraclecloud.com/20190301/secretbundles/"
        "ocid1.vaultsecret.oc1.iad.amaaaaaaxyz")


@pytest.mark.parametrize("bad", ["", "ocid1.vault.oc1.iad.x", "ocid1.vaultsecret.oc1.iad.a/../b", "../../etc"])
def test_malformed_ocid_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="API_KEYS_SECRET_OCID"):
        secret_bundle_url(bad, Settings.from_env({}), Creds(), "API_KEYS_SECRET_OCID")


def test_decode_matches_the_sdk_secret_bundle_model():
    """Serialize a SecretBundle with the oci SDK itself and decode it with our reader."""
    from oci.secrets.models import Base64SecretBundleContentDetails, SecretBundle

    model = SecretBundle(secret_id="ocid1.vaultsecret.oc1.iad.x", version_number=3, stages=["CURRENT"],
                         secret_bundle_content=Base64SecretBundleContentDetails(
                             content_type="BASE64", content=base64.b64encode(b"the secret").decode()))
    wire = json.loads(json.dumps(sdk_serialize(model)))
    assert wire["secretBundleContent"]["contentType"] == "BASE64"
    assert decode_bundle(wire, "S") == b"the secret"


@pytest.mark.parametrize("payload, message", [
    ({}, "no content"),
    ({"secretBundleContent": {"contentType": "BASE64"}}, "no content"),
    ({"secretBundleContent": {"contentType": "TEXT", "content": "x"}}, "not BASE64"),
    ({"secretBundleContent": {"contentType": "BASE64", "content": "!!!not base64"}}, "not valid base64"),
])
def test_bad_bundles(payload, message):
    with pytest.raises(ConfigError, match=message) as info:
        decode_bundle(payload, "API_KEYS_SECRET_OCID")
    assert "not base64" not in str(info.value).replace("not valid base64", "")

"""Settings table, endpoints by region and realm, and docs/configuration.md's table."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.oci.endpoints import genai_base_url, objectstorage_base_url
from core.regions import normalize_region
from core.errors import ConfigError
from core.settings import SETTINGS_TABLE, Settings, markdown_table

CONFIGURATION_DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_defaults_and_parsing():
    s = Settings.from_env({"GATEWAY_ROLE": "ingest", "OCI_MAX_RETRIES": "5", "DEADLINE_MARGIN_SECONDS": "2.5",
                           "OCI_REGION_METADATA": '{"realmDomainComponent": "oraclecloud.eu"}', "LOG_LEVEL": "debug"})
    assert s.gateway_role == "ingest" and s.oci_max_retries == 5 and s.deadline_margin_seconds == 2.5
    assert s.oci_region_metadata == {"realmDomainComponent": "oraclecloud.eu"} and s.log_level == "DEBUG"
    assert Settings.from_env({}).gateway_role == "gateway"


@pytest.mark.parametrize("env, name", [
    ({"GATEWAY_ROLE": "proxy"}, "GATEWAY_ROLE"), ({"OCI_MAX_RETRIES": "x"}, "OCI_MAX_RETRIES"),
    ({"OCI_REGION_METADATA": "[1]"}, "OCI_REGION_METADATA"), ({"OCI_AUTH": "magic"}, "OCI_AUTH"),
])
def test_bad_values_name_the_setting(env, name):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env)


def test_secret_values_are_not_echoed():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"OCI_REGION_METADATA": "not json but a secret"})
    assert "OCI_REGION_METADATA" in str(caught.value)


def test_fixed_names_are_declared():
    names = {row.env for row in SETTINGS_TABLE}
    for required in ("GATEWAY_ROLE", "OCI_REGION", "OCI_COMPARTMENT_ID", "OCI_GENAI_ENDPOINT",
                     "OCI_OBJECTSTORAGE_ENDPOINT", "OCI_AUTH", "OCI_USER", "OCI_FINGERPRINT", "OCI_TENANCY",
                     "OCI_KEY", "OCI_KEY_FILE", "OCI_CONFIG_FILE", "OCI_CONFIG_PROFILE"):
        assert required in names


def test_the_configuration_doc_table_matches_code():
    assert markdown_table() in CONFIGURATION_DOC.read_text(), "regenerate with: python -m core.settings --update-docs"


@pytest.mark.parametrize("region, metadata, expected", [
    ("us-chicago-1", None, "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130"),
    ("ORD", None, "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130"),
    ("uk-gov-london-1", None, "https://inference.generativeai.uk-gov-london-1.oci.oraclegovcloud.uk/20231130"),
    ("eu-frankfurt-2", None, "https://inference.generativeai.eu-frankfurt-2.oci.oraclecloud.eu/20231130"),
    ("us-gov-ashburn-1", None, "https://inference.generativeai.us-gov-ashburn-1.oci.oraclegovcloud.com/20231130"),
    ("xx-new-1", {"realmDomainComponent": "oraclecloud99.com", "regionIdentifier": "xx-new-1"},
     "https://inference.generativeai.xx-new-1.oci.oraclecloud99.com/20231130"),
])
def test_genai_endpoint_from_region(region, metadata, expected):
    assert genai_base_url(region, region_metadata=metadata) == expected


def test_overrides_and_ports():
    assert genai_base_url(None, override="http://127.0.0.1:8081") == "http://127.0.0.1:8081/20231130"
    assert genai_base_url(None, override="https://genai.example.com:443/") == "https://genai.example.com/20231130"
    assert objectstorage_base_url("us-ashburn-1") == "https://objectstorage.us-ashburn-1.oraclecloud.com"
    assert objectstorage_base_url(None, override="http://localhost:9000") == "http://localhost:9000"
    for bad in ("ftp://x", "http://x/path", "https://user:pw@x"):
        with pytest.raises(ConfigError, match="OCI_GENAI_ENDPOINT"):
            genai_base_url(None, override=bad)
    with pytest.raises(ConfigError, match="OCI_REGION"):
        genai_base_url(None)
    assert normalize_region(" IAD ") == "us-ashburn-1"


def test_every_region_key_the_sdk_knows_is_understood():
    import oci.regions

    from core.regions import REGION_KEYS

    assert REGION_KEYS == oci.regions.REGIONS_SHORT_NAMES
    for key, region in oci.regions.REGIONS_SHORT_NAMES.items():
        assert normalize_region(key.upper()) == region
        # Each key leads to the same inference host as the region's own name.
        assert genai_base_url(key) == genai_base_url(region)


def test_the_management_api_host_and_its_override():
    from core.oci.endpoints import genai_management_base_url

    assert genai_management_base_url("us-chicago-1") == "https://generativeai.us-chicago-1.oci.oraclecloud.com/20231130"
    assert genai_management_base_url("ord") == genai_management_base_url("us-chicago-1")
    assert genai_management_base_url("us-gov-ashburn-1").endswith(".oci.oraclegovcloud.com/20231130")
    assert genai_management_base_url(None, override="http://127.0.0.1:9") == "http://127.0.0.1:9/20231130"
    with pytest.raises(ConfigError, match="OCI_GENAI_MANAGEMENT_ENDPOINT"):
        genai_management_base_url(None, override="ftp://x")

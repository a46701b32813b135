"""Fixtures shared by unit and integration tests: a throwaway key, a clean configuration."""

from __future__ import annotations

import logging

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from core import runtime
from tests.support.runtime import reset_settings


def pytest_unconfigure(config) -> None:
    """`import fdk` turns the root logger to DEBUG; HTTP clients closed at interpreter exit must not log
    into streams pytest has already closed."""
    logging.disable(logging.WARNING)


TEST_TENANCY = "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
TEST_USER = "ocid1.user.oc1..aaaaaaaatestuser"
TEST_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"
GENAI = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """A throwaway RSA key made at test time (no key is committed)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def api_key_credentials(rsa_key):
    from core.oci.credentials.api_key import ApiKeyCredentials
    from core.oci.signing import SigningKey, fingerprint

    fp = fingerprint(rsa_key.public_key())
    return ApiKeyCredentials(
        kind="api_key", region="us-chicago-1", tenancy_id=TEST_TENANCY,
        key=SigningKey(f"{TEST_TENANCY}/{TEST_USER}/{fp}", rsa_key),
    )


@pytest.fixture
def clean_config(monkeypatch):
    """Start from an environment with no OCI settings; reset cached settings and clients."""
    import os

    for name in list(os.environ):
        if name.startswith(("OCI_", "GATEWAY_", "FN_")) or name in ("LOG_LEVEL", "MAX_BODY_BYTES",
                                                                   "DEADLINE_MARGIN_SECONDS"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OCI_CONFIG_FILE", "/nonexistent/oci-config")
    reset_settings()
    runtime.reset()
    yield monkeypatch
    reset_settings()
    runtime.reset()


@pytest.fixture
def gateway_env(clean_config, api_key_credentials):
    """A configured gateway (region, compartment, credentials) whose OCI calls respx can intercept."""
    clean_config.setenv("OCI_REGION", "us-chicago-1")
    clean_config.setenv("OCI_COMPARTMENT_ID", TEST_COMPARTMENT)
    clean_config.setenv("OCI_MAX_RETRIES", "2")
    clean_config.setenv("MODEL_LIST_TTL_SECONDS", "0")  # no read of OCI's model list unless a test asks for one
    runtime.set_credentials(api_key_credentials)
    reset_settings()
    yield clean_config


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL with pgvector for the session, its data in a temporary folder of its own.

    Not under pytest's base temporary folder: every pytest run of the same user makes ``pytest-of-<user>`` private
    again (mode 0700), which locks out the ``pgserver`` user the server runs as when tests run as root.
    """
    import shutil
    import tempfile
    from pathlib import Path

    from tests.support.postgres import start_server

    folder = Path(tempfile.mkdtemp(prefix="gateway-test-pg-"))
    server = start_server(folder / "data")
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def vector_store_url(postgres_server):
    """The URL of an empty database of its own for this test (dropped afterwards)."""
    from tests.support.postgres import drop_database, new_database

    name, url = new_database(postgres_server)
    yield url
    drop_database(postgres_server, name)

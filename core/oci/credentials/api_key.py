"""API-key ("manual") credentials: a user's RSA key, keyId ``tenancy/user/fingerprint``.

The environment names are LiteLLM's (``OCI_USER``, ``OCI_FINGERPRINT``, ``OCI_TENANCY``,
``OCI_REGION``, ``OCI_KEY`` or ``OCI_KEY_FILE``, ``OCI_KEY_PASSPHRASE``) so an existing
LiteLLM deployment's configuration carries over. The key is parsed once, and its
fingerprint is checked against the configured one: a mismatch otherwise surfaces
only as an opaque 401 from OCI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from cryptography.hazmat.primitives.asymmetric import rsa

from core.oci.credentials.common import expand_path, non_empty, read_file
from core.regions import normalize_region
from core.errors import ConfigError
from core.oci.signing import SigningKey, fingerprint, load_private_key

USER = "OCI_USER"
FINGERPRINT = "OCI_FINGERPRINT"
TENANCY = "OCI_TENANCY"
REGION = "OCI_REGION"
KEY = "OCI_KEY"
KEY_FILE = "OCI_KEY_FILE"
KEY_PASSPHRASE = "OCI_KEY_PASSPHRASE"


@dataclass(frozen=True, repr=False)
class ApiKeyCredentials:
    """A fixed key: nothing to re-read, so a 401 is final (:meth:`refresh` is False)."""

    kind: str
    region: str | None
    tenancy_id: str | None
    key: SigningKey
    compartment_id: str | None = None

    def signing_key(self) -> SigningKey:
        return self.key

    def refresh(self) -> bool:
        return False

    def refresh_due(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"ApiKeyCredentials(kind={self.kind!r}, region={self.region!r}, key_id={self.key.key_id!r})"


def checked_fingerprint(private_key: rsa.RSAPrivateKey, configured: str | None, setting: str) -> str:
    """The key's fingerprint; a ConfigError naming ``setting`` when it differs from ``configured``.

    Fingerprints identify public keys and are not secret, so both are shown.
    """
    actual = fingerprint(private_key.public_key())
    if configured is None:
        return actual
    wanted = configured.strip().lower()
    if wanted != actual:
        raise ConfigError(
            f"setting {setting} does not match the private key: the key's fingerprint is {actual}, "
            f"{setting} is {configured.strip()}"
        )
    return actual


def load_api_key(environ: Mapping[str, str]) -> ApiKeyCredentials:
    """Build API-key credentials from LiteLLM's ``OCI_*`` variables."""
    values = {name: non_empty(environ, name) for name in (USER, FINGERPRINT, TENANCY, REGION, KEY, KEY_FILE)}
    missing = [name for name in (USER, FINGERPRINT, TENANCY) if values[name] is None]
    if values[KEY] is None and values[KEY_FILE] is None:
        missing.append(f"{KEY} or {KEY_FILE}")
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(f"API key auth needs {', '.join(missing)}, which {verb} not set")
    if values[KEY] is not None:
        pem, setting = values[KEY], KEY
    else:
        pem, setting = read_file(expand_path(values[KEY_FILE] or "", environ), KEY_FILE), KEY_FILE
    private_key = load_private_key(
        pem or "", non_empty(environ, KEY_PASSPHRASE), setting=setting, passphrase_setting=KEY_PASSPHRASE
    )
    fp = checked_fingerprint(private_key, values[FINGERPRINT], FINGERPRINT)
    tenancy, user = (values[TENANCY] or "").strip(), (values[USER] or "").strip()
    region = normalize_region(values[REGION]) if values[REGION] else None
    return ApiKeyCredentials(
        kind="api_key", region=region, tenancy_id=tenancy, key=SigningKey(f"{tenancy}/{user}/{fp}", private_key)
    )

"""Resource principal credentials, as OCI Functions provides them (version 2.2).

The platform sets ``OCI_RESOURCE_PRINCIPAL_VERSION=2.2`` and points ``..._RPST`` and
``..._PRIVATE_PEM`` at files it rewrites before the token expires. Each variable may
also hold the value itself; an absolute path means "read this file" (the passphrase
too, which the SDK gets wrong). Tenancy and compartment are the token's unverified
``res_tenant`` / ``res_compartment`` claims.
"""

from __future__ import annotations

import os
import time
from typing import Mapping

from core.oci.credentials.common import Clock, non_empty, value_or_file
from core.oci.credentials.session import SessionTokenCredentials, Source
from core.regions import normalize_region
from core.errors import ConfigError

VERSION = "OCI_RESOURCE_PRINCIPAL_VERSION"
RPST = "OCI_RESOURCE_PRINCIPAL_RPST"
PRIVATE_PEM = "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"
PRIVATE_PEM_PASSPHRASE = "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE"
REGION = "OCI_RESOURCE_PRINCIPAL_REGION"

SUPPORTED_VERSIONS = ("2.2",)


class ResourcePrincipalCredentials(SessionTokenCredentials):
    """A resource principal session (``keyId = ST$<rpst>``)."""


def _source(environ: Mapping[str, str], name: str) -> Source:
    raw = non_empty(environ, name)
    if raw is None:
        raise ConfigError(f"resource principal auth needs {name} (a value or an absolute file path), which is not set")
    raw = raw.strip()
    if os.path.isabs(raw):
        return Source(name, path=raw)
    return Source(name, inline=raw)


def load_resource_principal(environ: Mapping[str, str], *, clock: Clock = time.time) -> ResourcePrincipalCredentials:
    """Build resource principal credentials from the ``OCI_RESOURCE_PRINCIPAL_*`` variables."""
    version = (non_empty(environ, VERSION) or "").strip()
    if not version:
        raise ConfigError(f"resource principal auth needs {VERSION}, which is not set")
    if version not in SUPPORTED_VERSIONS:
        raise ConfigError(
            f"setting {VERSION}={version!r} is not supported: the gateway handles resource principal version "
            f"{', '.join(SUPPORTED_VERSIONS)} (the one OCI Functions uses)"
        )
    token = _source(environ, RPST)
    private_key = _source(environ, PRIVATE_PEM)
    passphrase = _source(environ, PRIVATE_PEM_PASSPHRASE) if non_empty(environ, PRIVATE_PEM_PASSPHRASE) else None
    region_raw = non_empty(environ, REGION)
    region = normalize_region(value_or_file(region_raw, REGION)[0]) if region_raw else None
    return ResourcePrincipalCredentials(
        kind="resource_principal", token=token, private_key=private_key, passphrase=passphrase,
        region=region or None, clock=clock,
    )

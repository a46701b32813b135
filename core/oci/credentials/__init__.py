"""Where the gateway's OCI identity comes from, behind one small interface.

:func:`load_credentials` picks a provider from ``OCI_AUTH`` (default ``auto``):

1. resource principal, when ``OCI_RESOURCE_PRINCIPAL_VERSION`` is set (OCI Functions);
2. API key, when ``OCI_USER`` or ``OCI_KEY`` / ``OCI_KEY_FILE`` is set (LiteLLM's names);
3. the OCI config file (``OCI_CONFIG_FILE`` or ``~/.oci/config``), when it exists.

``instance_principal`` (an OCI compute instance) and ``oke_workload_identity`` (a pod on
an enhanced OKE cluster) must be chosen explicitly: detecting them would mean calling
the metadata service or the cluster at start-up, and ``auto`` makes no network call.

Credential values are read from the environment here and nowhere else (``Settings``
only documents their names), and every failure is a :class:`ConfigError` that names
the setting without quoting a key or token.

Each provider's module is imported only when it is chosen: a resource principal never loads
the instance principal's X.509 parsing or the config file's parser.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import TYPE_CHECKING, Any, Mapping, Protocol, runtime_checkable

from core.errors import ConfigError
from core.oci.credentials.common import Clock, non_empty
from core.settings import Settings

if TYPE_CHECKING:
    from core.oci.signing import SigningKey

# Names this package offers, imported from their module on first use.
_LAZY = {
    "ApiKeyCredentials": "api_key", "load_api_key": "api_key",
    "load_config_file": "config_file",
    "InstancePrincipalCredentials": "instance_principal", "load_instance_principal": "instance_principal",
    "OkeWorkloadIdentityCredentials": "oke_workload", "load_oke_workload_identity": "oke_workload",
    "ResourcePrincipalCredentials": "resource_principal", "load_resource_principal": "resource_principal",
    "SessionTokenCredentials": "session",
}
# The provider each OCI_AUTH mode loads: (module, function).
_LOADERS = {
    "resource_principal": ("resource_principal", "load_resource_principal"),
    "api_key": ("api_key", "load_api_key"),
    "config_file": ("config_file", "load_config_file"),
    "instance_principal": ("instance_principal", "load_instance_principal"),
    "oke_workload_identity": ("oke_workload", "load_oke_workload_identity"),
}

__all__ = [
    "ApiKeyCredentials",
    "Credentials",
    "InstancePrincipalCredentials",
    "OkeWorkloadIdentityCredentials",
    "ResourcePrincipalCredentials",
    "SessionTokenCredentials",
    "detect_auth",
    "load_credentials",
]


@runtime_checkable
class Credentials(Protocol):
    """An OCI identity that can sign requests."""

    kind: str  # "resource_principal" | "api_key" | "config_file" | "session_token" | "instance_principal"
    #            | "oke_workload_identity"
    region: str | None
    tenancy_id: str | None
    compartment_id: str | None  # resource principal: the token's res_compartment

    def signing_key(self) -> "SigningKey":
        """The current key; re-reads a session token that expires within two minutes."""
        ...

    def refresh(self) -> bool:
        """Re-read after an upstream 401; True when a retry may succeed."""
        ...

    def refresh_due(self) -> bool:
        """Whether :meth:`signing_key` would renew the key first (cheap: no I/O)."""
        ...


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _module(name: str) -> Any:
    return importlib.import_module(f"{__name__}.{name}")


def detect_auth(environ: Mapping[str, str]) -> str:
    """The provider ``OCI_AUTH=auto`` resolves to, or a ConfigError listing what was looked for."""
    from core.oci.credentials.resource_principal import VERSION

    if non_empty(environ, VERSION):
        return "resource_principal"
    from core.oci.credentials.api_key import KEY, KEY_FILE, USER

    if non_empty(environ, USER) or non_empty(environ, KEY) or non_empty(environ, KEY_FILE):
        return "api_key"
    from core.oci.credentials.config_file import CONFIG_FILE, config_file_exists, config_path

    if config_file_exists(environ):
        return "config_file"
    raise ConfigError(
        f"no OCI credentials found: looked for a resource principal ({VERSION}), an API key ({USER}, "
        f"{KEY} or {KEY_FILE}) and a config file ({CONFIG_FILE}, here {config_path(environ)}). "
        "Set OCI_AUTH and the matching variables (OCI_AUTH=instance_principal or oke_workload_identity are never "
        "detected: set them explicitly)"
    )


def load_credentials(
    settings: Settings, environ: Mapping[str, str] | None = None, *, clock: Clock = time.time
) -> Credentials:
    """Build the credentials ``settings.oci_auth`` asks for, reading values from ``environ``."""
    env = os.environ if environ is None else environ
    mode = (settings.oci_auth or "auto").strip()
    if mode == "auto":
        mode = detect_auth(env)
    if mode in _LOADERS:
        module, function = _LOADERS[mode]
        load = getattr(_module(module), function)
        return load(env) if mode == "api_key" else load(env, clock=clock)
    raise ConfigError(
        f"setting OCI_AUTH={mode!r} is invalid: expected auto, resource_principal, api_key, config_file, "
        "instance_principal or oke_workload_identity"
    )

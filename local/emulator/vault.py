"""OCI Vault secret retrieval for the emulator: ``GET /20190301/secretbundles/{secretId}``.

Answers like the real service (the shape of the ``oci`` SDK's ``SecretBundle`` with
``Base64SecretBundleContentDetails``): ``secretBundleContent.content`` is the secret's bytes in
base64. Requests go through the emulator's pipeline, so they must be signed by a registered
key; an unknown secret is OCI's 404 ``NotAuthorizedOrNotFound``.

Tests call :func:`install_vault` and may change a secret later with :meth:`VaultState.put`
(each change is a new version), e.g. to check that the gateway re-reads after its cache expires.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .server import route
from .wire import EmuRequest, EmuResponse, NotFound, OciError

ROUTE_NAME = "vault.getSecretBundle"
PATH = r"/20190301/secretbundles/(?P<secret_id>[^/]+)"
STAGES = ("CURRENT", "PENDING", "LATEST", "PREVIOUS", "DEPRECATED")


@dataclass
class VaultState:
    """The emulated secrets: OCID -> list of versions (bytes), the last one CURRENT."""

    versions: dict[str, list[bytes]] = field(default_factory=dict)
    created: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())

    def put(self, secret_ocid: str, content: bytes) -> int:
        """Store a new version of a secret; returns its version number (from 1)."""
        self.versions.setdefault(secret_ocid, []).append(bytes(content))
        return len(self.versions[secret_ocid])

    def __repr__(self) -> str:  # never print secret values
        return f"VaultState({sorted(self.versions)})"

    def bundle(self, secret_ocid: str, query: dict[str, str]) -> dict[str, Any]:
        versions = self.versions.get(secret_ocid)
        if not versions:
            raise NotFound(f"secret {secret_ocid}")
        number = len(versions)
        if "versionNumber" in query:
            try:
                number = int(query["versionNumber"])
            except ValueError:
                raise OciError(400, "InvalidParameter", "versionNumber must be an integer.") from None
            if not 1 <= number <= len(versions):
                raise NotFound(f"version {number} of secret {secret_ocid}")
        stage = query.get("stage")
        if stage is not None and stage not in STAGES:
            raise OciError(400, "InvalidParameter", f"stage must be one of {', '.join(STAGES)}.")
        stages = ["CURRENT", "LATEST"] if number == len(versions) else ["PREVIOUS"]
        return {
            "secretId": secret_ocid,
            "timeCreated": self.created,
            "versionNumber": number,
            "versionName": None,
            "secretBundleContent": {"contentType": "BASE64",
                                    "content": base64.b64encode(versions[number - 1]).decode("ascii")},
            "timeOfDeletion": None,
            "timeOfExpiry": None,
            "stages": stages,
            "metadata": None,
        }


def install_vault(emulator: Any, secrets: dict[str, bytes]) -> VaultState:
    """Serve ``secrets`` (OCID -> bytes) from the emulator's Vault route, replacing any earlier install."""
    state = VaultState()
    for ocid, content in secrets.items():
        state.put(ocid, content)

    async def get_secret_bundle(_emulator: Any, request: EmuRequest) -> EmuResponse:
        from urllib.parse import parse_qsl, unquote

        query = dict(parse_qsl(request.query, keep_blank_values=True))
        return EmuResponse.json(200, state.bundle(unquote(request.params["secret_id"]), query))

    routes = emulator.routes
    routes[:] = [r for r in routes if r.name != ROUTE_NAME]
    emulator.add_route(route("GET", PATH, get_secret_bundle, ROUTE_NAME))
    return state

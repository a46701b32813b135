"""OKE workload identity: a Kubernetes pod's service account exchanged for an OCI session token.

On an *enhanced* OKE cluster, a pod POSTs ``{"podKey": <its session public key>}`` to
the cluster's proxymux (``https://$KUBERNETES_SERVICE_HOST:12250/resourcePrincipalSessionTokens``)
with its service account token as ``Authorization: Bearer``, verifying TLS with the
service account's ``ca.crt``. The answer is base64 of ``{"token": "ST$<jwt>"}``; the JWT
signs later calls with the session key (as the ``oci`` SDK's ``OkeWorkloadIdentityResourcePrincipalSigner`` does,
``oci.auth.signers.oke_workload_identity_resource_principal_signer``).

The token is renewed at half its lifetime (as the SDK does) and after an upstream 401.
The service account token file is re-read at each exchange: kubelet rotates it.
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
import time
import uuid
from typing import Mapping

import httpx

from core.oci.credentials.common import Clock, jwt_claims, non_empty, read_file, token_expiry, value_or_file
from core.oci.credentials.federated import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    FederatedCredentials,
    Session,
    describe_failure,
    new_session_key,
    public_key_b64,
)
from core.regions import normalize_region
from core.errors import ConfigError

SERVICE_HOST = "KUBERNETES_SERVICE_HOST"
SA_TOKEN_PATH = "OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH"
SA_CERT_PATH = "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH"
REGION = "OCI_RESOURCE_PRINCIPAL_REGION"
DEFAULT_SA_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"
DEFAULT_SA_CERT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
PROXYMUX_PORT = 12250
PROXYMUX_PATH = "/resourcePrincipalSessionTokens"


def proxymux_url(host: str, port: int = PROXYMUX_PORT) -> str:
    host = host.strip()
    if ":" in host and not host.startswith("["):  # an IPv6 service address
        host = f"[{host}]"
    return f"https://{host}:{port}{PROXYMUX_PATH}"


def decode_token_response(body: bytes) -> str:
    """The JWT in proxymux's answer: base64 of ``{"token": "ST$<jwt>"}``, ``ST$`` removed."""
    try:
        data = json.loads(base64.b64decode(body.strip(), validate=True))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ConfigError("OKE workload identity: the token service's answer is not base64 JSON") from None
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise ConfigError("OKE workload identity: the token service answered without a token")
    return token[3:] if token.startswith("ST$") else token


class OkeWorkloadIdentityCredentials(FederatedCredentials):
    """A workload identity session (``keyId = ST$<token>``), renewed at half its lifetime and after a 401."""

    kind = "oke_workload_identity"

    def __init__(self, *, url: str, sa_token_path: str, ca_path: str, region: str | None,
                 clock: Clock = time.time) -> None:
        self.url = url
        self._sa_token_path = sa_token_path
        self._ca_path = ca_path
        super().__init__(region=region, clock=clock)

    def _stale(self, session: Session, now: float) -> bool:
        """Half the token's lifetime gone (``iat`` from the token, else when it arrived)."""
        if session.expiry is None:
            return False
        issued = session.claims.get("iat")
        start = float(issued) if isinstance(issued, (int, float)) and not isinstance(issued, bool) \
            else session.obtained_at
        return now >= start + (session.expiry - start) / 2

    def _federate(self, now: float) -> Session:
        sa_token = self._service_account_token(now)
        session_key = new_session_key()
        body = json.dumps({"podKey": public_key_b64(session_key)}, separators=(",", ":")).encode()
        headers = {
            "authorization": f"Bearer {sa_token}",
            "content-type": "application/json",
            "opc-request-id": uuid.uuid4().hex.upper(),
        }
        try:
            with httpx.Client(verify=self._tls_context(), trust_env=False, follow_redirects=False,
                              timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)) as client:
                response = client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise ConfigError(f"OKE workload identity: cannot reach the token service at {self.url} "
                              f"({describe_failure(exc)})") from None
        if response.status_code == 403:
            raise ConfigError("OKE workload identity was refused (HTTP 403): the cluster is not an enhanced cluster, "
                              "or the pod's service account may not use workload identity")
        if response.status_code != 200:
            raise ConfigError(f"OKE workload identity: the token service at {self.url} answered HTTP "
                              f"{response.status_code}")
        token = decode_token_response(response.content)
        claims = jwt_claims(token, "the OKE token service's token")
        return Session.issued(token, session_key, claims, token_expiry(claims), now)

    def _service_account_token(self, now: float) -> str:
        token = read_file(self._sa_token_path, SA_TOKEN_PATH).strip()
        if not token:
            raise ConfigError(f"setting {SA_TOKEN_PATH}: the service account token file {self._sa_token_path} is empty")
        try:
            expiry = token_expiry(jwt_claims(token, SA_TOKEN_PATH))
        except ConfigError:
            expiry = None  # not a JWT we can read: let the token service judge it
        if expiry is not None and expiry <= now:
            raise ConfigError(f"OKE workload identity: the service account token in {self._sa_token_path} has expired")
        return token

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self._ca_path)
        except FileNotFoundError:
            raise ConfigError(f"setting {SA_CERT_PATH} points to {self._ca_path}, which does not exist") from None
        except (OSError, ssl.SSLError):
            raise ConfigError(f"setting {SA_CERT_PATH}: {self._ca_path} is not a PEM CA certificate") from None


def load_oke_workload_identity(environ: Mapping[str, str], *,
                               clock: Clock = time.time) -> OkeWorkloadIdentityCredentials:
    """Build workload identity credentials from the pod's environment and exchange once."""
    host = non_empty(environ, SERVICE_HOST)
    if host is None:
        raise ConfigError(f"OKE workload identity needs {SERVICE_HOST} (set by Kubernetes in every pod), "
                          "which is not set: is this running in a pod?")
    region_raw = non_empty(environ, REGION)
    region = normalize_region(value_or_file(region_raw, REGION)[0]) if region_raw else None
    return OkeWorkloadIdentityCredentials(
        url=proxymux_url(host),
        sa_token_path=(non_empty(environ, SA_TOKEN_PATH) or DEFAULT_SA_TOKEN_PATH).strip(),
        ca_path=(non_empty(environ, SA_CERT_PATH) or DEFAULT_SA_CERT_PATH).strip(),
        region=region or None,
        clock=clock,
    )

"""Instance principal credentials: an OCI compute instance's own identity.

The instance metadata service (``http://169.254.169.254/opc/v2``, header
``Authorization: Bearer Oracle``) hands out the instance's region, a leaf certificate
with its private key, and an intermediate certificate. The leaf certificate's subject
names the tenancy (``opc-tenant:<ocid>``). The gateway then asks the auth service
(``POST https://auth.{region}.{realm domain}/v1/x509``) for a session token bound to a
fresh RSA-2048 key, signing that one request with the leaf key under the keyId
``{tenancy}/fed-x509/{SHA-1 fingerprint of the leaf}``. Unlike every other OCI call it
signs ``date (request-target) content-length content-type x-content-sha256``, with no
``host`` (as the ``oci`` SDK's ``oci.auth.federation_client`` does).

The leaf certificate rotates, so it is fetched again before every federation. Nothing
here touches the network at import or at ``OCI_AUTH=auto`` detection: the metadata
service is only called when ``OCI_AUTH=instance_principal`` is chosen explicitly.
"""

from __future__ import annotations

import base64
import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any, Mapping

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from core.oci.credentials.common import Clock, jwt_claims, non_empty, token_expiry
from core.oci.credentials.federated import (
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    FederatedCredentials,
    Session,
    describe_failure,
    new_session_key,
    public_key_b64,
)
from core.oci.endpoints import auth_base_url
from core.regions import normalize_region
from core.errors import ConfigError
from core.oci.signing import (
    ALGORITHM,
    DEFAULT_CONTENT_TYPE,
    SIGNATURE_VERSION,
    content_sha256,
    load_private_key,
    signing_string,
)

METADATA_BASE_URL = "OCI_METADATA_BASE_URL"
REGION_METADATA = "OCI_REGION_METADATA"
DEFAULT_METADATA_BASE = "http://169.254.169.254/opc/v2"
IPV6_METADATA_BASE = "http://[fd00:c1::a9fe:a9fe]/opc/v2"
METADATA_HEADERS = {"Authorization": "Bearer Oracle"}
FEDERATION_PATH = "/v1/x509"
# The auth service's x509 federation signs no `host` (oci.auth.federation_client.AuthTokenRequestSigner).
FEDERATION_SIGNED_HEADERS = ("date", "(request-target)", "content-length", "content-type", "x-content-sha256")
TENANCY_PREFIXES = ("opc-tenant:", "opc-identity:")
USAGE_HINT = ("instance principals work only on an OCI compute instance (set OCI_METADATA_BASE_URL if its metadata "
              "service is elsewhere)")


@dataclass(frozen=True)
class InstanceIdentity:
    """What the metadata service gives out: the leaf certificate, its key, the intermediates."""

    leaf_pem: str
    leaf: x509.Certificate
    leaf_key: rsa.RSAPrivateKey
    intermediate_pems: tuple[str, ...]

    def __repr__(self) -> str:  # the leaf key is a secret
        return "InstanceIdentity(<hidden>)"


def certificate_b64(pem: str) -> str:
    """A PEM certificate's base64 body, no armour, no newlines (the federation request's form)."""
    lines = [line.strip() for line in pem.strip().splitlines()]
    return "".join(line for line in lines if line and not line.startswith("-----"))


def sha1_fingerprint(certificate: x509.Certificate) -> str:
    """``AB:CD:...``: upper-case, colon-separated SHA-1 of the DER certificate (the keyId's last part)."""
    digest = certificate.fingerprint(hashes.SHA1())
    return ":".join(f"{byte:02X}" for byte in digest)


def tenancy_from_certificate(certificate: x509.Certificate) -> str:
    """The tenancy OCID in the leaf certificate's subject (``opc-tenant:`` or ``opc-identity:``)."""
    for attribute in certificate.subject:
        value = attribute.value if isinstance(attribute.value, str) else ""
        for prefix in TENANCY_PREFIXES:
            if value.startswith(prefix) and len(value) > len(prefix):
                return value[len(prefix):]
    raise ConfigError("instance principal: the metadata service's leaf certificate names no tenancy "
                      "(no opc-tenant: in its subject)")


def federation_key_id(tenancy_id: str, certificate: x509.Certificate) -> str:
    return f"{tenancy_id}/fed-x509/{sha1_fingerprint(certificate)}"


def federation_body(identity: InstanceIdentity, session_key: rsa.RSAPrivateKey) -> bytes:
    """The JSON the auth service takes: leaf certificate, session public key, intermediates."""
    payload: dict[str, Any] = {
        "certificate": certificate_b64(identity.leaf_pem),
        "publicKey": public_key_b64(session_key),
    }
    if identity.intermediate_pems:
        payload["intermediateCertificates"] = [certificate_b64(pem) for pem in identity.intermediate_pems]
    return json.dumps(payload, separators=(",", ":")).encode()


def federation_headers(url: str | httpx.URL, body: bytes, leaf_key: rsa.RSAPrivateKey, key_id: str, *,
                       date: str | None = None) -> dict[str, str]:
    """The signed headers of the federation POST (pure; no ``host`` is signed)."""
    target = url if isinstance(url, httpx.URL) else httpx.URL(url)
    values = {
        "date": date or email.utils.formatdate(usegmt=True),
        "(request-target)": f"post {target.raw_path.decode('ascii')}",
        "content-length": str(len(body)),
        "content-type": DEFAULT_CONTENT_TYPE,
        "x-content-sha256": content_sha256(body),
    }
    message = signing_string(FEDERATION_SIGNED_HEADERS, values).encode("ascii")
    signature = base64.b64encode(leaf_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
    headers = {name: value for name, value in values.items() if name != "(request-target)"}
    headers["authorization"] = (
        f'Signature algorithm="{ALGORITHM}",headers="{" ".join(FEDERATION_SIGNED_HEADERS)}",keyId="{key_id}",'
        f'signature="{signature}",version="{SIGNATURE_VERSION}"'
    )
    return headers


class MetadataService:
    """Reads the instance metadata service, trying the IPv6 address when IPv4 cannot connect."""

    def __init__(self, bases: tuple[str, ...]) -> None:
        self._bases = bases
        self.base = bases[0]

    def get(self, path: str) -> str:
        last: Exception | None = None
        for base in self._candidates():
            try:
                with httpx.Client(timeout=_timeout(), trust_env=False, follow_redirects=False) as client:
                    response = client.get(f"{base}{path}", headers=METADATA_HEADERS)
            except httpx.TransportError as exc:
                last = exc
                continue
            self.base = base
            if response.status_code != 200:
                raise ConfigError(f"instance principal: the instance metadata service at {base} answered HTTP "
                                  f"{response.status_code} for {path}; {USAGE_HINT}")
            return response.text
        raise ConfigError(f"instance principal: cannot reach the instance metadata service at {self.base} "
                          f"({describe_failure(last) if last else 'no address'}); {USAGE_HINT}")

    def _candidates(self) -> tuple[str, ...]:
        """The address that worked last first, then the others."""
        return (self.base,) + tuple(b for b in self._bases if b != self.base)

    def identity(self) -> InstanceIdentity:
        leaf_pem = self.get("/identity/cert.pem")
        key_pem = self.get("/identity/key.pem")
        intermediate_pem = self.get("/identity/intermediate.pem")
        try:
            leaf = x509.load_pem_x509_certificate(leaf_pem.encode("ascii"))
        except ValueError:
            raise ConfigError("instance principal: the metadata service's cert.pem is not a PEM certificate") from None
        leaf_key = load_private_key(key_pem, None, setting="the instance metadata key.pem")
        leaf_public = leaf.public_key()
        if not isinstance(leaf_public, rsa.RSAPublicKey) or leaf_public.public_numbers() != \
                leaf_key.public_key().public_numbers():
            raise ConfigError("instance principal: the metadata service's key.pem does not match its cert.pem")
        intermediates = tuple(_split_pems(intermediate_pem))
        return InstanceIdentity(leaf_pem, leaf, leaf_key, intermediates)


class InstancePrincipalCredentials(FederatedCredentials):
    """An instance principal session (``keyId = ST$<token>``), renewed before ``exp`` and after a 401."""

    kind = "instance_principal"

    def __init__(self, *, metadata: MetadataService, region: str, tenancy_id: str | None = None,
                 region_metadata: Mapping[str, Any] | None = None, clock: Clock = time.time) -> None:
        self._metadata = metadata
        self.federation_url = f"{auth_base_url(region, region_metadata)}{FEDERATION_PATH}"
        super().__init__(region=region, tenancy_id=tenancy_id, clock=clock)

    def _federate(self, now: float) -> Session:
        identity = self._metadata.identity()
        tenancy = tenancy_from_certificate(identity.leaf)
        if self._tenancy_id is None:
            self._tenancy_id = tenancy
        elif tenancy != self._tenancy_id:
            raise ConfigError("instance principal: the leaf certificate now names a different tenancy than at start-up")
        session_key = new_session_key()
        body = federation_body(identity, session_key)
        headers = federation_headers(self.federation_url, body, identity.leaf_key,
                                     federation_key_id(tenancy, identity.leaf))
        try:
            with httpx.Client(timeout=_timeout(), follow_redirects=False) as client:
                response = client.post(self.federation_url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise ConfigError(f"instance principal: cannot reach the auth service at {self.federation_url} "
                              f"({describe_failure(exc)})") from None
        token = _token_from_response(response, self.federation_url)
        claims = jwt_claims(token, "the auth service's token")
        return Session.issued(token, session_key, claims, token_expiry(claims), now)


def _token_from_response(response: httpx.Response, url: str) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code != 200:
        code = data.get("code") if isinstance(data, dict) and isinstance(data.get("code"), str) else None
        detail = f" ({code[:60]})" if code else ""
        raise ConfigError(f"instance principal: the auth service at {url} refused the federation request: HTTP "
                          f"{response.status_code}{detail}. Check that the instance's dynamic group and policies "
                          "exist and the clock is right")
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise ConfigError(f"instance principal: the auth service at {url} answered without a token")
    return token


def _split_pems(text: str) -> list[str]:
    """Every ``-----BEGIN CERTIFICATE-----`` block in ``text`` (the intermediate file may hold several)."""
    blocks, current = [], []
    for line in text.splitlines():
        if "-----BEGIN CERTIFICATE-----" in line:
            current = [line]
        elif current:
            current.append(line)
            if "-----END CERTIFICATE-----" in line:
                blocks.append("\n".join(current))
                current = []
    return blocks


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)


def metadata_bases(environ: Mapping[str, str]) -> tuple[str, ...]:
    """``OCI_METADATA_BASE_URL`` alone when set, else the IPv4 service with the IPv6 one as fallback."""
    override = non_empty(environ, METADATA_BASE_URL)
    if override:
        value = override.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ConfigError(f"setting {METADATA_BASE_URL} must be an http(s) URL such as {DEFAULT_METADATA_BASE}")
        return (value,)
    return (DEFAULT_METADATA_BASE, IPV6_METADATA_BASE)


def _region_metadata(environ: Mapping[str, str]) -> Mapping[str, Any] | None:
    raw = non_empty(environ, REGION_METADATA)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        raise ConfigError(f"setting {REGION_METADATA} is not valid JSON") from None
    return value if isinstance(value, dict) else None


def load_instance_principal(environ: Mapping[str, str], *, clock: Clock = time.time) -> InstancePrincipalCredentials:
    """Ask the metadata service for the instance's region, then federate once (tenancy from the leaf)."""
    metadata = MetadataService(metadata_bases(environ))
    region_raw = metadata.get("/instance/region").strip()
    if not region_raw or len(region_raw) > 64 or not all(c.isalnum() or c == "-" for c in region_raw):
        raise ConfigError("instance principal: the metadata service returned no usable region")
    region = normalize_region(region_raw)
    return InstancePrincipalCredentials(metadata=metadata, region=region, region_metadata=_region_metadata(environ), clock=clock)

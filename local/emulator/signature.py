"""Independent verification of OCI HTTP request signatures (draft-cavage-08, RSA-SHA256).

Written from the signing specification (draft-cavage HTTP signatures as OCI applies them), deliberately not from the
project's ``core.oci.signing``: if both came from the same understanding, a shared mistake would
pass every test. The verifier is pure (no I/O, clock injected) so it can be tested directly.

Secrets never leave this module: failure reasons name headers and key ids, never signatures,
security tokens or header values.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MAX_CLOCK_SKEW_SECONDS = 300.0
BODY_METHODS = frozenset({"post", "put", "patch"})
GENERIC_HEADERS = ("(request-target)", "host")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")

_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


@dataclass(frozen=True)
class Verification:
    """Outcome of checking one request. ``reason`` is safe to log (no secret material)."""

    ok: bool
    reason: str = ""
    key_id: str | None = None

    def __repr__(self) -> str:  # ST$ key ids embed a security token
        return f"Verification(ok={self.ok}, reason={self.reason!r}, key_id={redact_key_id(self.key_id)!r})"

    @property
    def key_kind(self) -> str | None:
        """``security_token`` for ``ST$`` key ids, ``api_key`` otherwise."""
        if self.key_id is None:
            return None
        return "security_token" if self.key_id.startswith("ST$") else "api_key"


def redact_key_id(key_id: str | None) -> str | None:
    """A loggable form of a keyId: API-key ids are OCIDs + fingerprint; ``ST$`` ids carry a token."""
    if key_id is None or not key_id.startswith("ST$"):
        return key_id
    digest = hashlib.sha256(key_id.encode()).hexdigest()[:12]
    return f"ST$<redacted:{digest}>"


def load_public_key(key: object) -> rsa.RSAPublicKey:
    """Accept an RSA public key, an RSA private key (its public half is used) or PEM text/bytes."""
    if isinstance(key, rsa.RSAPublicKey):
        return key
    if isinstance(key, rsa.RSAPrivateKey):
        return key.public_key()
    if isinstance(key, str):
        key = key.encode()
    if isinstance(key, (bytes, bytearray)):
        data = bytes(key)
        if b"PRIVATE KEY" in data:
            private = serialization.load_pem_private_key(data, password=None)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise TypeError("only RSA keys are supported")
            return private.public_key()
        public = serialization.load_pem_public_key(data)
        if not isinstance(public, rsa.RSAPublicKey):
            raise TypeError("only RSA keys are supported")
        return public
    raise TypeError(f"unsupported key type {type(key).__name__}")


class KeyStore:
    """keyId -> RSA public key. API-key ids and ``ST$<token>`` ids are both plain strings here."""

    def __init__(self) -> None:
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def add(self, key_id: str, public_key: object) -> None:
        loaded = load_public_key(public_key)
        with self._lock:
            self._keys[key_id] = loaded

    def get(self, key_id: str) -> rsa.RSAPublicKey | None:
        with self._lock:
            return self._keys.get(key_id)

    def key_ids(self) -> list[str]:
        with self._lock:
            return list(self._keys)

    def __repr__(self) -> str:
        return f"KeyStore({len(self._keys)} keys)"


def parse_authorization(value: str) -> dict[str, str] | None:
    """Parse ``Signature k="v",k="v"`` into a dict; None when it is not a Signature header."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature" or not rest:
        return None
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if not match:
            return None
        params[match.group(1)] = match.group(2)
        pos = match.end()
    return params


def body_sha256(body: bytes) -> str:
    """base64(SHA-256(body)), the value of ``x-content-sha256``."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def signing_string(names: list[str], method: str, target: str, headers: Mapping[str, str]) -> str | None:
    """Rebuild the signed text; None if a listed header is absent from the request."""
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
            continue
        value = headers.get(name)
        if value is None:
            return None
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def verify_request(
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: KeyStore,
    now: float,
    require_body_headers: bool = True,
) -> Verification:
    """Check one request the way OCI's front door does.

    ``target`` is the raw path plus ``?query`` exactly as sent. ``headers`` must have lower-case
    names. ``require_body_headers=False`` is the Object Storage PutObject exemption, where the body
    is neither hashed nor length-signed.
    """
    auth = headers.get("authorization")
    if not auth:
        return Verification(False, "missing Authorization header")
    params = parse_authorization(auth)
    if params is None:
        return Verification(False, "Authorization header is not a well-formed Signature")
    key_id = params.get("keyId")
    if not key_id:
        return Verification(False, "Authorization has no keyId")
    signature_b64 = params.get("signature")
    if not signature_b64:
        return Verification(False, "Authorization has no signature", key_id)
    algorithm = params.get("algorithm", "rsa-sha256")
    if algorithm.lower() != "rsa-sha256":
        return Verification(False, f"unsupported algorithm {algorithm!r}", key_id)
    if params.get("version", "1") != "1":
        return Verification(False, "unsupported signature version", key_id)
    names = params.get("headers", "date").lower().split()

    date_name = "x-date" if "x-date" in names else "date"
    required = [date_name, *GENERIC_HEADERS]
    if method.lower() in BODY_METHODS and require_body_headers:
        required += BODY_HEADERS
    missing = [name for name in required if name not in names]
    if missing:
        return Verification(False, f"headers not signed: {' '.join(missing)}", key_id)

    public_key = keys.get(key_id)
    if public_key is None:
        return Verification(False, f"unknown keyId {redact_key_id(key_id)}", key_id)

    text = signing_string(names, method, target, headers)
    if text is None:
        absent = [n for n in names if n != "(request-target)" and n not in headers]
        return Verification(False, f"signed headers absent from request: {' '.join(absent)}", key_id)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, text.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, UnicodeEncodeError):
        return Verification(False, "signature does not match", key_id)

    date_value = headers[date_name]
    try:
        signed_at = email.utils.parsedate_to_datetime(date_value).timestamp()
    except (TypeError, ValueError):
        return Verification(False, f"{date_name} header is not an HTTP date", key_id)
    if abs(now - signed_at) > MAX_CLOCK_SKEW_SECONDS:
        return Verification(False, f"{date_name} header is more than 5 minutes from server time", key_id)

    if "x-content-sha256" in names and headers["x-content-sha256"] != body_sha256(body):
        return Verification(False, "x-content-sha256 does not match the body", key_id)
    if "content-length" in names:
        try:
            declared = int(headers["content-length"])
        except ValueError:
            return Verification(False, "content-length is not an integer", key_id)
        if declared != len(body):
            return Verification(False, "content-length does not match the body", key_id)
    return Verification(True, "", key_id)

"""OCI HTTP request signing (signature version 1, rsa-sha256), as ``oci.signer.Signer`` does it.

OCI authenticates every API call with a draft-cavage HTTP signature. The gateway signs
its own requests (no ``oci`` SDK at run time), so this module reproduces the SDK's
signing string byte for byte; the unit tests compare both signers' output.

The rules that matter (the ``oci`` SDK's ``oci/signer.py``):

* GET/HEAD/DELETE (and any verb without a body) sign ``date (request-target) host``.
* POST/PUT/PATCH also sign ``content-length content-type x-content-sha256``, the last
  being base64(sha256(body)); ``content-type`` defaults to ``application/json``.
* Object Storage PutObject and UploadPart are exempt: the SDK calls them with
  ``enforce_content_headers=False``, so a PUT on ``/n/{ns}/b/{bucket}/o/{object}`` or
  ``/n/{ns}/b/{bucket}/u/{object}`` signs only ``date (request-target) host`` and the
  (possibly large) body is not hashed.
* ``(request-target)`` is the lower-case method and the path and query exactly as sent;
  ``host`` includes a non-default port.

Everything here is pure: no file, network or clock access except reading the current
time when no ``date`` is given.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import re
from dataclasses import dataclass, field
from typing import Mapping

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from core.errors import ConfigError

SIGNATURE_VERSION = "1"
ALGORITHM = "rsa-sha256"
GENERIC_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
DEFAULT_CONTENT_TYPE = "application/json"
BODY_VERBS = frozenset({"POST", "PUT", "PATCH"})
SECURITY_TOKEN_PREFIX = "ST$"

# PutObject (/o/) and UploadPart (/u/): the SDK signs them without content headers.
_OBJECT_STORAGE_UNSIGNED_BODY = re.compile(r"^/n/[^/?]+/b/[^/?]+/[ou]/[^?]+")


@dataclass(frozen=True)
class SigningKey:
    """A keyId and the parsed RSA private key that signs for it.

    ``key_id`` is ``tenancy/user/fingerprint`` for API keys or ``ST$<token>`` for
    session tokens (resource principals). A token is a bearer secret, so neither the key
    nor a token keyId appears in the repr.
    """

    key_id: str
    private_key: rsa.RSAPrivateKey = field(repr=False, compare=False)

    @property
    def is_security_token(self) -> bool:
        return self.key_id.startswith(SECURITY_TOKEN_PREFIX)

    def __repr__(self) -> str:
        shown = "ST$<hidden>" if self.is_security_token else self.key_id
        return f"SigningKey(key_id={shown!r})"


def load_private_key(
    pem: str | bytes,
    passphrase: str | bytes | None = None,
    *,
    setting: str,
    passphrase_setting: str | None = None,
) -> rsa.RSAPrivateKey:
    """Parse a PEM RSA private key (PKCS#1 or PKCS#8, optionally encrypted).

    Environment values often carry the PEM on one line with literal ``\\n`` escapes
    (LiteLLM's ``OCI_KEY`` convention); those are turned back into newlines. Any failure
    is a :class:`ConfigError` naming ``setting`` (and ``passphrase_setting`` where it is
    the likely cause); the message never contains key material.
    """
    data = _normalized_pem(pem)
    password = _password_bytes(passphrase)
    _require_pem_text(data, setting)
    key = _parse_pem(data, password, setting=setting, pass_name=passphrase_setting or "the passphrase setting")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"setting {setting} holds a {type(key).__name__}: OCI signing needs an RSA private key")
    return key


def _normalized_pem(pem: str | bytes) -> bytes:
    """PEM bytes with literal ``\\n`` escapes made newlines, CRLF made LF, and surrounding quotes dropped."""
    data = pem.encode("utf-8", errors="replace") if isinstance(pem, str) else bytes(pem)
    return data.replace(b"\\r", b"").replace(b"\\n", b"\n").replace(b"\r\n", b"\n").strip().strip(b"\"'").strip()


def _password_bytes(passphrase: str | bytes | None) -> bytes | None:
    """The passphrase as bytes; an empty one means none."""
    password = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    return password or None


def _require_pem_text(data: bytes, setting: str) -> None:
    if not data:
        raise ConfigError(f"setting {setting} is empty: expected a PEM RSA private key")
    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        raise ConfigError(
            f"setting {setting} does not hold a PEM private key (expected '-----BEGIN ... PRIVATE KEY-----')"
        )


def _parse_pem(data: bytes, password: bytes | None, *, setting: str, pass_name: str) -> PrivateKeyTypes:
    """Any private key ``cryptography`` reads from the PEM; a ConfigError (without key material) otherwise.

    The RSA consistency check is skipped (about 55 ms, a quarter of a cold start): the key is the gateway's
    own identity, and a key that cannot sign is answered by OCI with a 401 on the first call.
    """
    try:
        return serialization.load_pem_private_key(data, password, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        if password is None:
            raise ConfigError(f"the private key in {setting} is encrypted: set {pass_name}") from None
        return _parse_unencrypted_pem(data, setting)
    except ValueError:
        hint = f" or {pass_name} is wrong" if password is not None else ""
        raise ConfigError(f"setting {setting} does not hold a valid PEM private key{hint}") from None
    except Exception:  # cryptography's unsupported-algorithm and friends: no detail, it may quote input
        raise ConfigError(f"setting {setting} does not hold a supported PEM private key") from None


def _parse_unencrypted_pem(data: bytes, setting: str) -> PrivateKeyTypes:
    """A passphrase was given for an unencrypted key: the SDK ignores it, so do we."""
    try:
        return serialization.load_pem_private_key(data, None, unsafe_skip_rsa_key_validation=True)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {setting} does not hold a valid PEM private key") from None


def fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """OCI's key fingerprint: MD5 of the DER SubjectPublicKeyInfo, ``aa:bb:...`` lower case."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def body_is_signed(method: str, path: str) -> bool:
    """Whether the SDK hashes and signs the body of this call (see the module docstring)."""
    verb = method.upper()
    if verb not in BODY_VERBS:
        return False
    return not (verb == "PUT" and _OBJECT_STORAGE_UNSIGNED_BODY.match(path))


def content_sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_string(header_names: tuple[str, ...], values: Mapping[str, str]) -> str:
    """``name: value`` lines joined by ``\\n`` with no trailing newline."""
    return "\n".join(f"{name}: {values[name]}" for name in header_names)


def signing_headers(
    method: str,
    url: str | httpx.URL,
    headers: Mapping[str, str],
    body: bytes | None,
    key: SigningKey,
    *,
    date: str | None = None,
    sign_body: bool | None = None,
) -> dict[str, str]:
    """The headers (lower-case names) to add to a request so OCI accepts it.

    ``url`` is taken as httpx sends it: ``(request-target)`` uses its raw path and query.
    ``host`` is the request's ``host`` header when present (what goes on the wire),
    else the URL's netloc. ``sign_body`` overrides the PutObject/UploadPart rule.
    The result always has ``date``, ``host`` and ``authorization``; signed-body requests
    also get ``content-length``, ``content-type`` and ``x-content-sha256``.
    """
    target = url if isinstance(url, httpx.URL) else httpx.URL(url)
    lower = {k.lower(): v for k, v in headers.items()}
    raw_path = target.raw_path.decode("ascii")
    path_only = raw_path.split("?", 1)[0]
    if sign_body is None:
        sign_body = body_is_signed(method, path_only)
    values: dict[str, str] = {
        "date": date or email.utils.formatdate(usegmt=True),
        "(request-target)": f"{method.lower()} {raw_path}",
        "host": lower.get("host") or target.netloc.decode("ascii"),
    }
    names = GENERIC_HEADERS
    if sign_body:
        payload = body or b""
        values["content-length"] = str(len(payload))
        values["content-type"] = lower.get("content-type") or DEFAULT_CONTENT_TYPE
        values["x-content-sha256"] = content_sha256(payload)
        names = GENERIC_HEADERS + BODY_HEADERS
    message = signing_string(names, values).encode("ascii")
    signature = base64.b64encode(key.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
    result = {name: value for name, value in values.items() if name != "(request-target)"}
    result["authorization"] = (
        f'Signature algorithm="{ALGORITHM}",headers="{" ".join(names)}",keyId="{key.key_id}",'
        f'signature="{signature}",version="{SIGNATURE_VERSION}"'
    )
    return result


def sign_request(request: httpx.Request, key: SigningKey, *, date: str | None = None) -> None:
    """Sign an ``httpx.Request`` in place (a fresh ``date`` unless one is given).

    The body must already be read (``httpx.Auth.requires_request_body``). When the body is
    signed, ``content-length`` is set to its real length and a ``transfer-encoding``
    left over from a streamed body is dropped, so the signed length is the sent length.
    """
    body = request.read()
    values = signing_headers(request.method, request.url, request.headers, body, key, date=date)
    if "content-length" in values and "transfer-encoding" in request.headers:
        del request.headers["transfer-encoding"]
    for name, value in values.items():
        request.headers[name] = value

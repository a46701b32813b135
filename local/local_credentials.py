"""Throwaway OCI credentials for local runs and tests, shaped exactly like the real ones.

:func:`make_resource_principal_env` writes what OCI Functions mounts in a container (resource
principal v2.2: an ``rpst`` JWT file and a ``private.pem`` session key, as OCI Functions mounts them) and
returns the environment pointing at them. :func:`make_api_key_env` gives the ``OCI_USER`` /
``OCI_KEY`` flavour. Each result carries the ``key_id`` a signed request will present and the
public key, so the local emulator can be told to accept exactly that key and nothing else.

The keys are generated at run time and never leave the temp directory / returned object; reprs
show no key material or token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_REGION = "us-chicago-1"
DEFAULT_TENANCY = "ocid1.tenancy.oc1..aaaaaaaalocaltenancy"
DEFAULT_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaalocalcompartment"
DEFAULT_FUNCTION = "ocid1.fnfunc.oc1.us-chicago-1.aaaaaaaalocalfunction"
DEFAULT_USER = "ocid1.user.oc1..aaaaaaaalocaluser"

# Region keys for the OCI_REGION_METADATA a function sees; unknown regions get an upper-cased stub.
_REGION_KEYS = {"us-chicago-1": "ORD", "us-ashburn-1": "IAD", "us-phoenix-1": "PHX", "eu-frankfurt-1": "FRA"}


@dataclass(frozen=True)
class LocalCredentials:
    """Environment to give the function, plus what a verifier needs to accept its signatures."""

    env: dict[str, str] = field(repr=False)
    key_id: str = field(repr=False)
    public_key: rsa.RSAPublicKey = field(repr=False)
    kind: str = "resource_principal"
    directory: Path | None = None
    tenancy: str = DEFAULT_TENANCY
    compartment: str = DEFAULT_COMPARTMENT
    region: str = DEFAULT_REGION

    @property
    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def __repr__(self) -> str:
        return f"LocalCredentials(kind={self.kind!r}, region={self.region!r}, directory={str(self.directory)!r})"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def new_private_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def region_metadata(region: str) -> str:
    """The OCI_REGION_METADATA JSON Functions injects (realm oc1 assumed)."""
    key = _REGION_KEYS.get(region, region.split("-")[1][:3].upper() if "-" in region else region.upper())
    return json.dumps(
        {"realmDomainComponent": "oraclecloud.com", "realmKey": "oc1", "regionIdentifier": region, "regionKey": key},
        separators=(",", ":"),
    )


def make_rpst(
    public_key: rsa.RSAPublicKey,
    *,
    tenancy: str = DEFAULT_TENANCY,
    compartment: str = DEFAULT_COMPARTMENT,
    subject: str = DEFAULT_FUNCTION,
    issued_at: int | None = None,
    lifetime_s: int = 3600,
) -> str:
    """A resource principal session token: a JWT that only the (emulated) identity service verifies.

    Its signature segment is random filler: the function never verifies the token, it only decodes
    the claims and sends it as ``ST$<token>``. The ``jwk`` claim carries the session public key, as
    real session tokens do, so a verifier can match the request signature to the token.
    """
    iat = int(time.time()) if issued_at is None else issued_at
    numbers = public_key.public_numbers()
    header = {"alg": "RS256", "kid": "asw", "typ": "JWT"}
    claims = {
        "sub": subject,
        "res_tenant": tenancy,
        "res_compartment": compartment,
        "res_type": "fnfunc",
        "iat": iat,
        "exp": iat + lifetime_s,
        "ttype": "res",
        "jwk": {"kid": "localsession", "kty": "RSA", "alg": "RS256", "use": "sig",
                "n": _int_b64url(numbers.n), "e": _int_b64url(numbers.e)},
    }
    segments = [json.dumps(header, separators=(",", ":")).encode(), json.dumps(claims, separators=(",", ":")).encode()]
    return ".".join([*(_b64url(s) for s in segments), _b64url(secrets.token_bytes(32))])


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def make_resource_principal_env(
    directory: str | os.PathLike[str] | None = None,
    *,
    region: str = DEFAULT_REGION,
    tenancy: str = DEFAULT_TENANCY,
    compartment: str = DEFAULT_COMPARTMENT,
    subject: str = DEFAULT_FUNCTION,
    lifetime_s: int = 3600,
    issued_at: int | None = None,
) -> LocalCredentials:
    """Write ``rpst`` and ``private.pem`` into ``directory`` (a new temp dir by default) and
    return the v2.2 environment pointing at them, as OCI Functions provides it.

    Calling it again with the same directory rotates the session key and token in place, which is
    what the platform does when it refreshes credentials.
    """
    target = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="oci-rp-"))
    target.mkdir(parents=True, exist_ok=True)
    key = new_private_key()
    token = make_rpst(
        key.public_key(), tenancy=tenancy, compartment=compartment, subject=subject,
        issued_at=issued_at, lifetime_s=lifetime_s,
    )
    rpst_path, pem_path = target / "rpst", target / "private.pem"
    # Write the key first: a reader racing the rotation then sees either the old pair or a new key
    # with the old token (a 401 and a re-read), never a token without its key.
    _write_private(pem_path, private_key_pem(key))
    _write_private(rpst_path, token)
    env = {
        "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
        "OCI_RESOURCE_PRINCIPAL_RPST": str(rpst_path),
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(pem_path),
        "OCI_RESOURCE_PRINCIPAL_REGION": region,
        "OCI_REGION_METADATA": region_metadata(region),
    }
    return LocalCredentials(
        env=env, key_id=f"ST${token}", public_key=key.public_key(), kind="resource_principal",
        directory=target, tenancy=tenancy, compartment=compartment, region=region,
    )


def fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """OCI API-key fingerprint: MD5 of the DER SubjectPublicKeyInfo, colon-separated hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 - the format OCI defines, not a security use
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def make_api_key_env(
    *,
    region: str = DEFAULT_REGION,
    tenancy: str = DEFAULT_TENANCY,
    user: str = DEFAULT_USER,
    key_file_dir: str | os.PathLike[str] | None = None,
) -> LocalCredentials:
    """API-key credentials in the environment (``OCI_KEY`` inline, or ``OCI_KEY_FILE`` when
    ``key_file_dir`` is given); keyId ``tenancy/user/fingerprint``."""
    key = new_private_key()
    fp = fingerprint(key.public_key())
    env = {"OCI_USER": user, "OCI_TENANCY": tenancy, "OCI_FINGERPRINT": fp, "OCI_REGION": region}
    directory = None
    if key_file_dir is not None:
        directory = Path(key_file_dir)
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / "oci_api_key.pem"
        _write_private(key_path, private_key_pem(key))
        env["OCI_KEY_FILE"] = str(key_path)
    else:
        env["OCI_KEY"] = private_key_pem(key)
    return LocalCredentials(
        env=env, key_id=f"{tenancy}/{user}/{fp}", public_key=key.public_key(), kind="api_key",
        directory=directory, tenancy=tenancy, compartment=tenancy, region=region,
    )

"""Shared fixtures for the unit tests: throwaway RSA keys and fake session tokens.

No private key file is committed: the one embedded key below is the throwaway key
published with OCI's request-signing test vectors, generated
for that purpose and never registered anywhere; every other key is generated at test
time.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# THROWAWAY TEST KEY - published alongside the reference signing vectors; not a real credential.
THROWAWAY_TEST_KEY_PEM = """\
-----BEGIN RSA PRIVATE KEY-----
MIIEpQIBAAKCAQEAws7zibEwJA+1szpmOHroQp15Gzk8kYef6qc3gIGeq5bZdrt3
djQhP1tbdpjVngwim/fd1yPVAbiWNby6r5768SukHDDBqznr45oUU5ynIenK1KOe
lCNJtLdwhbKG1QkVdDlak6C7zEFj/qbxc8eiCBZO+csqg0qg0/dpxTDY1GZF0Nc8
PuGdqvogs8lS/tuk/qyMKfZPUvY/a5jbgnQ865WpLx3JhxBUFwGtLhh7+71jb6kt
Xy0FuCh8g5DKPANvd0CPntvfvbX+kDGFJwm6SHfnBQWOgiKEac6yKvOmWbAShneq
Ahw4EYrTFn8GKgPl/K75eZS6TvhgnWeLIFt4dQIDAQABAoIBAAEE201BegKWRz/U
WSu7QnLzjYPQ8G1dpXGxK9JZdNHQJi8MZ/spGdg4MbauS5LzqUxIWm0a3BOR1ADp
jc7Uj0ERScVD+mwoD2do+BymP+smsYLo02Me+ogeQlGdgqSjbLm0GxjIL6Z8qRM9
HrVmU+vXtTrYdZtEmd0oX1gPgb+kQihkgHciItuHSOyG3bYxYjku2ubQ4wYoCRZJ
5rqFSDTmExWLPYlB088idF/C329pV+jb0GkgrroCWRj01uDlOzJWBXxoYsCEvSeh
p5MUN4K4+aMmBWa0AgktkaIHFzkz7ojB4phQ7IlDKRLvJIQwfbbCt4VUyciKdV1a
V3uKQ0ECgYEA+Q+uLUkskBHqkBefAJfqCjCSnpRWFrzouJz43VyTB/NGdfeLgNCj
BKsifmdOoQV+mnfcz6OYaf4cDrIlJKOV5urvD4ySLaS5RbKkf/1Q8gRsMRMMhlsL
/n60njlYxG4QeUtVNwIDgON8Rgw6ol4VuZQun8uxwq+tn6+5x54ai10CgYEAyDxW
HxBw89wqaQV4aFBRx3zw8NE6emu9cClLSzNQYj1mz7sQIhr46SOvKFehiAFQUaEU
AZ9IPugk/lGd9Fsb6kC6yApRfgsHa9GYXe5u25QJplHRMNWuUQ5YzNoQPWg4vNxt
UDLwWYrir+tWbKjTXHaEnvIP1qrC6H/4apRd5/kCgYEA6WV3XPrQpuYTQRrRpzW1
Xf0suSzbDA3VrIN1d8O0CWRB6HSlJ37c9ZgGCBx5g83pWYnvxClTwCggVOk+g3pF
FJOemZyqs9lEwfrpywMxIstgNBDc0N9rev9z9T5aYCGgkHo3Dgh2DgegQuhc3iF7
DGC/3IF/QKlu9FExsM4JpAUCgYEAl9VgvJd7/v5gzlgOkJLvICS2kvUksbXG5Sj6
5iAYARZsQnKnbiUjv62GYUHpw7azT+KjyAMfBkyD2LDM5IC9ryi8OXnRh5EXZIN/
VSK6vxgHJS3/QVeWofIOFe/4xoekFlnTLjAiHtP4xsreMvDlrMRWFiyZI/9CYoi/
NxogBwkCgYEA7tsaEBJSn7vfifgeEQae24KWpVMkEcUGJwwI7amQWJSw9i6NChau
6rX2o6JyCu1Bw0m/qTK1MKdZ+uyNjltA/r9vhfdRSP8a+yzeUXn7rZxjIgv8Du/U
oThbSHn8yZbhxDAqp5il3Ur2MGCY6oTG/3MDTCToaEWkxqrGi7bjPQw=
-----END RSA PRIVATE KEY-----
"""
THROWAWAY_TEST_KEY_FINGERPRINT = "65:d8:7e:26:cc:be:30:11:fe:fb:37:a6:07:35:24:1f"
TEST_TENANCY = "ocid1.tenancy.oc1..aaaaaaaatesttenancy"
TEST_USER = "ocid1.user.oc1..aaaaaaaatestuser"
TEST_COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaatestcompartment"


def pem_of(key: rsa.RSAPrivateKey, passphrase: str | None = None, *, pkcs8: bool = True) -> str:
    """PEM text of ``key`` (PKCS#8 or PKCS#1), encrypted when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


def make_jwt(claims: dict[str, Any]) -> str:
    """An unsigned-for-us JWT with the given claims (OCI verifies tokens, the gateway only reads them)."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'asw', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


@pytest.fixture(scope="session")
def throwaway_key() -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(THROWAWAY_TEST_KEY_PEM.encode(), None)  # type: ignore[return-value]


@pytest.fixture(scope="session")
def fresh_keys() -> list[rsa.RSAPrivateKey]:
    """Two RSA keys generated for this test session (rotation tests need a second key)."""
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


@pytest.fixture
def jwt_factory() -> Callable[..., str]:
    """``jwt_factory(exp=..., **claims)``: a resource-principal-shaped token."""

    def factory(exp: float, **claims: Any) -> str:
        body: dict[str, Any] = {
            "sub": "ocid1.fnfunc.oc1.iad.aaaaaaaatestfn", "res_tenant": TEST_TENANCY,
            "res_compartment": TEST_COMPARTMENT, "res_type": "fnfunc", "iat": int(exp) - 3600,
            "exp": int(exp), "ttype": "res",
        }
        body.update(claims)
        return make_jwt(body)

    return factory

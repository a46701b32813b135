"""core.oci.signing against the authority: the ``oci`` SDK's own signers, byte for byte.

Each case is signed twice at the same frozen date - by ``core.oci.signing.sign_request`` on
the ``httpx.Request`` the gateway would send, and by ``oci.signer.Signer`` /
``oci.auth.signers.SecurityTokenSigner`` on a prepared request of the SDK's vendored
``requests`` - and the Authorization header plus every signed header must match.
"""

from __future__ import annotations

import base64
import email.utils
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from oci._vendor import requests as oci_requests
from oci.auth.signers import SecurityTokenSigner
from oci.signer import Signer

from core.errors import ConfigError
from core.oci.signing import SigningKey, fingerprint, load_private_key, sign_request, signing_headers
from tests.unit.conftest import (
    TEST_TENANCY,
    TEST_USER,
    THROWAWAY_TEST_KEY_FINGERPRINT,
    THROWAWAY_TEST_KEY_PEM,
    make_jwt,
    pem_of,
)

FROZEN_DATE = "Tue, 07 Jan 2025 12:00:00 GMT"
API_KEY_ID = f"{TEST_TENANCY}/{TEST_USER}/{THROWAWAY_TEST_KEY_FINGERPRINT}"
RPST = make_jwt({"res_tenant": TEST_TENANCY, "exp": 4102444800})
OS = "https://objectstorage.us-ashburn-1.oraclecloud.com"
GENAI = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130"


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    url: str
    body: bytes | None = None
    headers: tuple[tuple[str, str], ...] = ()
    sdk_enforce_content_headers: bool = True  # False is how the SDK calls PutObject / UploadPart


CASES = [
    Case("get", "GET", f"{OS}/n/axaxnpcrorw5/b/docs-inbox/o/folder%2Freport%202024.txt"),
    Case("head", "HEAD", f"{OS}/n/axaxnpcrorw5/b/docs-inbox/o/a.txt"),
    Case("delete", "DELETE", f"{OS}/n/ns/b/bk/o/x"),
    Case("post-json", "POST", f"{GENAI}/actions/chat", b'{"compartmentId": "c", "chatRequest": {}}'),
    Case("post-empty", "POST", f"{OS}/n/ns/b/bk/actions/x", b""),
    Case("post-unicode", "POST", f"{GENAI}/actions/embedText",
         '{"inputs": ["héllo wörld ✓ 你好 🙂"]}'.encode(),
         (("content-type", "application/json; charset=utf-8"),)),
    Case("put-non-object", "PUT", f"{OS}/n/ns/b/bk/actions/rename", b'{"a": 1}'),
    Case("patch", "PATCH", f"{GENAI}/dedicatedAiClusters/ocid1.x", b'{"displayName": "z"}'),
    Case("query-encoded", "GET", f"{GENAI}/models?compartmentId=ocid1.c&displayName=a%20b&q=caf%C3%A9&x=1+2"),
    Case("query-raw-chars", "GET", f"{GENAI}/models?displayName=a b&q=café&r=x/y"),
    Case("query-commas", "GET", f"{OS}/n/ns/b/bk/o?fields=name,size&prefix=a%2Fb%2F&limit=10"),
    Case("host-with-port", "GET", "https://localhost:8443/n/ns/b/bk/o/x?fields=name,size"),
    Case("http-port-post", "POST", "http://127.0.0.1:8080/20231130/actions/chat", b'{"x": true}'),
    Case("put-object", "PUT", f"{OS}/n/axaxnpcrorw5/b/docs-inbox/o/out%2Femb.json", b'{"ok":true}',
         (("content-type", "application/json"), ("if-none-match", "*")), sdk_enforce_content_headers=False),
    Case("put-object-binary", "PUT", f"{OS}/n/ns/b/bk/o/a%20b.bin", bytes(range(256)) * 8,
         (("content-type", "application/octet-stream"),), sdk_enforce_content_headers=False),
    Case("upload-part", "PUT", f"{OS}/n/ns/b/bk/u/big%2Ffile.bin?uploadId=abc-123&uploadPartNum=2",
         b"\x00\x01part", sdk_enforce_content_headers=False),
]


@pytest.fixture
def frozen_date(monkeypatch: pytest.MonkeyPatch) -> str:
    """Both signers read the date through ``email.utils.formatdate(usegmt=True)``."""
    monkeypatch.setattr(email.utils, "formatdate", lambda *args, **kwargs: FROZEN_DATE)
    return FROZEN_DATE


def _httpx_request(case: Case) -> httpx.Request:
    return httpx.Request(case.method, case.url, content=case.body, headers=list(case.headers))


def _sdk_headers(sdk_signer: Signer, case: Case) -> dict[str, str]:
    prepared = oci_requests.Request(case.method, case.url, data=case.body, headers=dict(case.headers)).prepare()
    sdk_signer.do_request_sign(prepared, enforce_content_headers=case.sdk_enforce_content_headers)
    return {k.lower(): v for k, v in prepared.headers.items()}


def _signed_names(authorization: str) -> list[str]:
    return authorization.split('headers="', 1)[1].split('"', 1)[0].split()


def _assert_same(ours: httpx.Request, sdk: dict[str, str]) -> None:
    assert ours.headers["authorization"] == sdk["authorization"]
    for name in _signed_names(sdk["authorization"]):
        if name != "(request-target)":
            assert ours.headers[name] == sdk[name], name


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_sdk_signer_api_key(case: Case, frozen_date: str) -> None:
    sdk_signer = Signer(TEST_TENANCY, TEST_USER, THROWAWAY_TEST_KEY_FINGERPRINT, None,
                        private_key_content=THROWAWAY_TEST_KEY_PEM)
    ours = _httpx_request(case)
    sign_request(ours, SigningKey(API_KEY_ID, load_private_key(THROWAWAY_TEST_KEY_PEM, setting="test")))
    _assert_same(ours, _sdk_headers(sdk_signer, case))
    assert ours.headers["date"] == frozen_date


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_sdk_security_token_signer(case: Case, frozen_date: str, throwaway_key) -> None:
    ours = _httpx_request(case)
    sign_request(ours, SigningKey(f"ST${RPST}", throwaway_key))
    _assert_same(ours, _sdk_headers(SecurityTokenSigner(RPST, throwaway_key), case))
    assert f'keyId="ST${RPST}"' in ours.headers["authorization"]


def test_signed_header_sets(frozen_date: str, throwaway_key) -> None:
    key = SigningKey(API_KEY_ID, throwaway_key)
    expected = {
        "GET": "date (request-target) host", "HEAD": "date (request-target) host",
        "DELETE": "date (request-target) host", "OPTIONS": "date (request-target) host",
        "POST": "date (request-target) host content-length content-type x-content-sha256",
        "PATCH": "date (request-target) host content-length content-type x-content-sha256",
    }
    for method, names in expected.items():
        request = httpx.Request(method, f"{GENAI}/x", content=b"{}" if method in ("POST", "PATCH") else None)
        sign_request(request, key)
        assert f'headers="{names}"' in request.headers["authorization"], method
    put_object = httpx.Request("PUT", f"{OS}/n/ns/b/bk/o/obj", content=b"data")
    sign_request(put_object, key)
    assert 'headers="date (request-target) host"' in put_object.headers["authorization"]
    assert "x-content-sha256" not in put_object.headers


def test_published_vectors(throwaway_key) -> None:
    """Published signing vectors V1, V5 and V8: fixed signatures from the throwaway key."""
    key = SigningKey(API_KEY_ID, throwaway_key)
    v1 = httpx.Request("GET", f"{OS}/n/axaxnpcrorw5/b/docs-inbox/o/folder%2Freport%202024.txt")
    sign_request(v1, key, date=FROZEN_DATE)
    assert v1.headers["authorization"] == (
        'Signature algorithm="rsa-sha256",headers="date (request-target) host",keyId="' + API_KEY_ID + '",'
        'signature="YhJrLQrp1g5RrrII/V0WTkq2UJup+tcYPSZz3jOB0lJRjnricmH9fWd61FKT7TBLpKVsEtyMGh8REEngm7Dq7YiuyofY9lPP'
        "Lc8OVkWL8tfcwde+EA7/ZwTqxllTZMJVUNe2Y+i9L6VIjODruEoXvhjHvFAbtglARP/Z8poKT0GpfdGAE8uGsiH0PWWkwjf42ToVJO/Hd"
        "3yXe3g0j8Fp57+xWjzZECk3R5LrLov2S41O6SntL01vWf2ymFv1PJFUauH5ktVxchPGiBUgBkANorY50iwoxeebmDQOJ80pcg/UArSrFX7"
        'dVwxHrMj9yxGD37MglMibmyk3xUpAm4pACA==",version="1"'
    )

    v5_body = (b'{"inputs": ["hello world"], "servingMode": {"servingType": "ON_DEMAND", "modelId": '
               b'"cohere.embed-multilingual-v3.0"}, "compartmentId": "ocid1.compartment.oc1..aaaaaaaatestcompartment", '
               b'"truncate": "END"}')
    assert len(v5_body) == 203
    v5 = httpx.Request("POST", f"{GENAI}/actions/embedText", content=v5_body)
    sign_request(v5, key, date=FROZEN_DATE)
    assert v5.headers["x-content-sha256"] == "aF05/KaSw+D5jDWbbFLLvj7YHThwo0S49EXBcdwIyN0="
    assert v5.headers["content-length"] == "203"
    assert v5.headers["content-type"] == "application/json"
    assert v5.headers["authorization"] == (
        'Signature algorithm="rsa-sha256",headers="date (request-target) host content-length content-type '
        'x-content-sha256",keyId="' + API_KEY_ID + '",'
        'signature="gZJJNCtlyiyIbpsi6v4lnZ3183R/xSEFVbRubl32aTCBwJfxZwA3kYYMoZuvSlrQ8MvbkPoK0hbWGeiAp/+522sLS0l3Dah8'
        "Emzj0sEhHj6HWJ9wbBu9sDJvVmZxXI7wcJrbPlAlA71j5jVfnb7+DKEqC6hqmmae1eMY/fS/kTAW+EkJu7lCqei3OeAkJ009z1oISp/pR4"
        "DEkVjtPcMebJvak1SuqXJHKJFjxAt2YsZiR23kFpmjHYBiIRoZaS0lu8kpYGXuVZeW2BDcNZqnGw3lj4aHH1XsV87Oy2xK7DTUiawwjxkqYD"
        'mL2vvVgfxHjoqZou0PlHryO2QOuBLAmQ==",version="1"'
    )

    v8 = signing_headers("GET", "https://localhost:8443/n/ns/b/bk/o/x?fields=name,size", {}, None, key,
                         date=FROZEN_DATE)
    assert v8["host"] == "localhost:8443"
    assert v8["authorization"].split('signature="', 1)[1].split('"', 1)[0] == (
        "qwNn6E0i4w44hTMKFDgD0Ukh9K+lfmWiC91uCYhXM13XgETX8irBFm2CwFIAtjDpZ4w+aL3Gd13XnlKmNIKP64J5QGjUyBdyhQlVpS80nBJ4"
        "ZRXsE36Be0yc5a/bdHMr8QoJFmc8dEYSogUf6qxLYqmKTjYGuJy+fgYa4ba428wiR2HgSV+ftLyb3f6RtfOi+j3VKLQUdL0vUFHws0mc9/4r"
        "LOCPj6L2m2pADBIdlD1nZHJcE3UyF8E9LxvO83WU0lcKyXmGk9uH7uZK+PHXnMyYGK1Xvd1E9CO72M9eyMjif8rO3HbZwciU6IrTdoPJTwxW"
        "wFCzB+lzFOrpErdRhQ=="
    )


def test_signature_verifies_with_public_key(throwaway_key) -> None:
    request = httpx.Request("POST", f"{GENAI}/actions/chat?x=%2F", content=b'{"a":"b"}')
    sign_request(request, SigningKey(API_KEY_ID, throwaway_key), date=FROZEN_DATE)
    signing_string = "\n".join([
        f"date: {FROZEN_DATE}", "(request-target): post /20231130/actions/chat?x=%2F",
        "host: inference.generativeai.us-chicago-1.oci.oraclecloud.com", "content-length: 9",
        "content-type: application/json", f"x-content-sha256: {request.headers['x-content-sha256']}",
    ])
    signature = base64.b64decode(request.headers["authorization"].split('signature="')[1].split('"')[0])
    throwaway_key.public_key().verify(signature, signing_string.encode(), padding.PKCS1v15(), hashes.SHA256())


def test_streamed_body_is_signed_with_its_real_length(throwaway_key) -> None:
    request = httpx.Request("POST", f"{GENAI}/actions/chat", content=iter([b'{"a":', b'"b"}']))
    assert request.headers.get("transfer-encoding") == "chunked"
    sign_request(request, SigningKey(API_KEY_ID, throwaway_key), date=FROZEN_DATE)
    assert request.headers["content-length"] == "9"
    assert "transfer-encoding" not in request.headers
    reference = httpx.Request("POST", f"{GENAI}/actions/chat", content=b'{"a":"b"}')
    sign_request(reference, SigningKey(API_KEY_ID, throwaway_key), date=FROZEN_DATE)
    assert request.headers["authorization"] == reference.headers["authorization"]


def test_resigning_replaces_date_and_signature(throwaway_key) -> None:
    request = httpx.Request("GET", f"{OS}/n/ns/b/bk/o/x")
    key = SigningKey(API_KEY_ID, throwaway_key)
    sign_request(request, key, date=FROZEN_DATE)
    first = request.headers["authorization"]
    sign_request(request, key, date="Tue, 07 Jan 2025 12:00:05 GMT")
    assert request.headers["date"] == "Tue, 07 Jan 2025 12:00:05 GMT"
    assert request.headers["authorization"] != first
    assert len(request.headers.get_list("authorization")) == 1


def test_signing_key_repr_hides_secrets(throwaway_key) -> None:
    token_key = SigningKey(f"ST${RPST}", throwaway_key)
    assert RPST not in repr(token_key) and "PRIVATE" not in repr(token_key)
    assert API_KEY_ID in repr(SigningKey(API_KEY_ID, throwaway_key))


# -- key loading ---------------------------------------------------------------------


def test_fingerprint_of_throwaway_key(throwaway_key) -> None:
    assert fingerprint(throwaway_key.public_key()) == THROWAWAY_TEST_KEY_FINGERPRINT


@pytest.mark.parametrize("pkcs8", [True, False], ids=["pkcs8", "pkcs1"])
def test_load_private_key_formats_and_escapes(fresh_keys, pkcs8: bool) -> None:
    pem = pem_of(fresh_keys[0], pkcs8=pkcs8)
    expected = fingerprint(fresh_keys[0].public_key())
    for variant in (pem, pem.encode(), pem.replace("\n", "\\n"), f'"{pem.strip()}"', pem.replace("\n", "\r\n")):
        assert fingerprint(load_private_key(variant, setting="OCI_KEY").public_key()) == expected


def test_load_encrypted_private_key(fresh_keys) -> None:
    pem = pem_of(fresh_keys[0], "s3cret-pass")
    key = load_private_key(pem, "s3cret-pass", setting="OCI_KEY", passphrase_setting="OCI_KEY_PASSPHRASE")
    assert fingerprint(key.public_key()) == fingerprint(fresh_keys[0].public_key())
    with pytest.raises(ConfigError, match="OCI_KEY_PASSPHRASE") as missing:
        load_private_key(pem, None, setting="OCI_KEY", passphrase_setting="OCI_KEY_PASSPHRASE")
    assert "encrypted" in str(missing.value)
    with pytest.raises(ConfigError, match="OCI_KEY_PASSPHRASE is wrong"):
        load_private_key(pem, "nope", setting="OCI_KEY", passphrase_setting="OCI_KEY_PASSPHRASE")


def test_passphrase_for_unencrypted_key_is_ignored(fresh_keys) -> None:
    key = load_private_key(pem_of(fresh_keys[0]), "unused", setting="OCI_KEY")
    assert fingerprint(key.public_key()) == fingerprint(fresh_keys[0].public_key())


def _assert_no_pem_lines(message: str, pem: str) -> None:
    for line in pem.strip().splitlines():
        if len(line) > 8:
            assert line not in message


def test_bad_keys_raise_config_error_without_key_material(fresh_keys) -> None:
    pem = pem_of(fresh_keys[0])
    lines = pem.strip().splitlines()
    truncated = "\n".join(lines[:5] + lines[-1:])
    public = fresh_keys[0].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    for bad in (truncated, public, "not a key at all", "", ec_pem):
        with pytest.raises(ConfigError) as info:
            load_private_key(bad, setting="OCI_KEY")
        message = str(info.value)
        assert "OCI_KEY" in message
        _assert_no_pem_lines(message, bad)
        _assert_no_pem_lines(message, pem)
        exc = info.value  # no chained cryptography error that could carry input
        assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)

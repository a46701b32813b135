"""Instance principal and OKE workload identity, over the real request and response shapes (respx).

Certificates and keys are generated at test time with ``cryptography``. The federation
request is checked three ways: its signature verifies with the leaf certificate's public
key over exactly the headers the auth service expects (no ``host``), the ``oci`` SDK's own
federation signer produces the same Authorization header, and the token it returns is
what later calls sign with.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from core.oci.auth import OCIAuth
from core.oci.credentials import (
    Credentials,
    InstancePrincipalCredentials,
    OkeWorkloadIdentityCredentials,
    detect_auth,
    load_credentials,
)
from core.oci.credentials.instance_principal import federation_headers, sha1_fingerprint
from core.errors import ConfigError
from core.settings import Settings
from tests.unit.conftest import TEST_COMPARTMENT, TEST_TENANCY, make_jwt, pem_of

NOW = 1_750_000_000.0
METADATA = "http://169.254.169.254/opc/v2"
METADATA_V6 = "http://[fd00:c1::a9fe:a9fe]/opc/v2"
AUTH_URL = "https://auth.us-chicago-1.oraclecloud.com/v1/x509"
GENAI = "https://inference.generativeai.us-chicago-1.oci.oraclecloud.com/20231130/actions/chat"
PROXYMUX = "https://10.96.0.1:12250/resourcePrincipalSessionTokens"
SIGNATURE = re.compile(r'^Signature algorithm="rsa-sha256",headers="([^"]+)",keyId="([^"]+)",signature="([^"]+)",'
                       r'version="1"$')


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- certificates ---------------------------------------------------------------------


def _name(*attributes: tuple[Any, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def _certificate(subject: x509.Name, key: rsa.RSAPrivateKey, issuer: x509.Name, issuer_key: rsa.RSAPrivateKey,
                 *, ca: bool) -> x509.Certificate:
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    return (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


class InstanceIdentityFixture:
    """An intermediate CA and a leaf certificate shaped like the metadata service's."""

    def __init__(self, tenancy: str = TEST_TENANCY) -> None:
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = _name((NameOID.COMMON_NAME, "PKISVC Identity Intermediate r2"))
        self.intermediate = _certificate(ca_name, self.ca_key, ca_name, self.ca_key, ca=True)
        self.leaf = _certificate(
            _name((NameOID.COMMON_NAME, "ocid1.instance.oc1.us-chicago-1.aaaatestinstance"),
                  (NameOID.ORGANIZATIONAL_UNIT_NAME, "opc-certtype:instance"),
                  (NameOID.ORGANIZATIONAL_UNIT_NAME, "opc-compartment:" + TEST_COMPARTMENT),
                  (NameOID.ORGANIZATIONAL_UNIT_NAME, "opc-tenant:" + tenancy)),
            self.leaf_key, ca_name, self.ca_key, ca=False,
        )
        self.leaf_pem = _pem(self.leaf)
        self.key_pem = pem_of(self.leaf_key, pkcs8=False)
        self.intermediate_pem = _pem(self.intermediate)


@pytest.fixture(scope="module")
def identity() -> InstanceIdentityFixture:
    return InstanceIdentityFixture()


def b64_body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def spki_b64(key: rsa.RSAPublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def verify_signature(request: httpx.Request, public_key: rsa.RSAPublicKey) -> tuple[list[str], str]:
    """Check the request's OCI signature against ``public_key``; return (signed header names, keyId)."""
    match = SIGNATURE.match(request.headers["authorization"])
    assert match, request.headers["authorization"]
    names, key_id, signature = match.group(1).split(" "), match.group(2), match.group(3)
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {request.method.lower()} {request.url.raw_path.decode()}")
        else:
            lines.append(f"{name}: {request.headers[name]}")
    public_key.verify(base64.b64decode(signature), "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    return names, key_id


def token_for(exp: float, iat: float | None = None, **claims: Any) -> str:
    body = {"sub": "ocid1.instance.oc1..aaaatest", "res_tenant": TEST_TENANCY, "res_compartment": TEST_COMPARTMENT,
            "iat": int(iat if iat is not None else exp - 3600), "exp": int(exp), "ttype": "x509"}
    body.update(claims)
    return make_jwt(body)


def instance_env(**extra: str) -> dict[str, str]:
    return {"OCI_AUTH": "instance_principal", "HOME": "/nonexistent-home-for-tests", **extra}


def load(env: dict[str, str], clock: Clock) -> Any:
    return load_credentials(Settings.from_env(env), env, clock=clock)


class FakeAuthService:
    """The auth service's /v1/x509: records requests, answers with the next token."""

    def __init__(self, identity: InstanceIdentityFixture, tokens: list[str]) -> None:
        self.identity = identity
        self.tokens = list(tokens)
        self.requests: list[httpx.Request] = []
        self.failures: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            return self.failures.pop(0)
        return httpx.Response(200, json={"token": self.tokens.pop(0)})


def mock_metadata(router: respx.MockRouter, identity: InstanceIdentityFixture, base: str = METADATA,
                  region: str = "us-chicago-1") -> dict[str, respx.Route]:
    def guarded(text: str):
        def answer(request: httpx.Request) -> httpx.Response:
            assert request.headers["authorization"] == "Bearer Oracle"
            return httpx.Response(200, text=text)
        return answer

    return {
        "region": router.get(f"{base}/instance/region").mock(side_effect=guarded(region)),
        "cert": router.get(f"{base}/identity/cert.pem").mock(side_effect=guarded(identity.leaf_pem)),
        "key": router.get(f"{base}/identity/key.pem").mock(side_effect=guarded(identity.key_pem)),
        "intermediate": router.get(f"{base}/identity/intermediate.pem").mock(
            side_effect=guarded(identity.intermediate_pem)),
    }


# -- instance principal ---------------------------------------------------------------


def test_instance_principal_federates_with_a_correctly_signed_request(identity) -> None:
    token = token_for(NOW + 3600)
    auth = FakeAuthService(identity, [token])
    with respx.mock(assert_all_called=False) as router:
        routes = mock_metadata(router, identity, region="ord")  # a region key is mapped to its name
        router.post(AUTH_URL).mock(side_effect=auth)
        creds = load(instance_env(), Clock())

    assert isinstance(creds, InstancePrincipalCredentials) and isinstance(creds, Credentials)
    assert creds.kind == "instance_principal" and creds.region == "us-chicago-1"
    assert creds.tenancy_id == TEST_TENANCY and creds.compartment_id == TEST_COMPARTMENT
    assert routes["region"].called and routes["cert"].called and routes["key"].called
    (request,) = auth.requests
    names, key_id = verify_signature(request, identity.leaf.public_key())
    assert names == ["date", "(request-target)", "content-length", "content-type", "x-content-sha256"]
    assert "host" not in names
    fingerprint = identity.leaf.fingerprint(hashes.SHA1()).hex().upper()
    assert key_id == f"{TEST_TENANCY}/fed-x509/" + ":".join(fingerprint[i:i + 2] for i in range(0, 40, 2))
    assert request.headers["content-length"] == str(len(request.content))
    assert request.headers["x-content-sha256"] == base64.b64encode(
        __import__("hashlib").sha256(request.content).digest()).decode()
    body = json.loads(request.content)
    assert body["certificate"] == b64_body(identity.leaf_pem)
    assert body["intermediateCertificates"] == [b64_body(identity.intermediate_pem)]
    key = creds.signing_key()
    assert key.key_id == "ST$" + token
    # The session key is new (not the leaf key) and its public half is what was federated.
    assert body["publicKey"] == spki_b64(key.private_key.public_key())
    assert key.private_key.key_size == 2048
    assert spki_b64(key.private_key.public_key()) != spki_b64(identity.leaf.public_key())


def test_federation_signature_matches_the_oci_sdk(identity) -> None:
    from oci._vendor import requests
    from oci.auth.federation_client import AuthTokenRequestSigner

    class Retriever:
        def get_private_key(self) -> rsa.RSAPrivateKey:
            return identity.leaf_key

    date = "Tue, 07 Jan 2025 12:00:00 GMT"
    body = json.dumps({"certificate": "abc", "publicKey": "def"}).encode()
    key_id = f"{TEST_TENANCY}/fed-x509/{sha1_fingerprint(identity.leaf)}"
    ours = federation_headers(AUTH_URL, body, identity.leaf_key, key_id, date=date)
    prepared = requests.Request("POST", AUTH_URL, data=body,
                                headers={"date": date, "content-type": "application/json"}).prepare()
    AuthTokenRequestSigner(TEST_TENANCY, sha1_fingerprint(identity.leaf), Retriever())(prepared)
    assert ours["authorization"] == prepared.headers["authorization"]
    assert ours["x-content-sha256"] == prepared.headers["x-content-sha256"]


def test_instance_principal_token_signs_service_calls_and_renews_after_401(identity) -> None:
    first, second = token_for(NOW + 3600), token_for(NOW + 7200)
    auth = FakeAuthService(identity, [first, second])
    clock = Clock()
    seen: list[str] = []

    def genai(request: httpx.Request) -> httpx.Response:
        key = creds.signing_key()
        _, key_id = verify_signature(request, key.private_key.public_key())
        seen.append(key_id)
        return httpx.Response(401 if len(seen) == 1 else 200, json={})

    with respx.mock(assert_all_called=False) as router:
        mock_metadata(router, identity)
        router.post(AUTH_URL).mock(side_effect=auth)
        creds = load(instance_env(), clock)
        router.post(GENAI).mock(side_effect=genai)
        clock.now = NOW + 60  # past the minimum interval between forced refreshes
        with httpx.Client(auth=OCIAuth(creds)) as client:
            response = client.post(GENAI, json={"x": 1})

    assert response.status_code == 200
    assert seen == ["ST$" + first, "ST$" + second]
    assert len(auth.requests) == 2


def test_instance_principal_renews_before_expiry_not_earlier(identity) -> None:
    first, second = token_for(NOW + 3600), token_for(NOW + 7200)
    auth = FakeAuthService(identity, [first, second])
    clock = Clock()
    with respx.mock(assert_all_called=False) as router:
        routes = mock_metadata(router, identity)
        router.post(AUTH_URL).mock(side_effect=auth)
        creds = load(instance_env(), clock)
        clock.now = NOW + 3000
        assert creds.signing_key().key_id == "ST$" + first
        assert len(auth.requests) == 1
        clock.now = NOW + 3600 - 90  # within the renewal window
        assert creds.signing_key().key_id == "ST$" + second
        assert len(auth.requests) == 2
        assert routes["cert"].call_count == 2  # the leaf certificate is fetched again (it rotates)


def test_a_failed_renewal_keeps_a_valid_token_and_fails_once_expired(identity) -> None:
    first = token_for(NOW + 3600)
    auth = FakeAuthService(identity, [first])
    clock = Clock()
    with respx.mock(assert_all_called=False) as router:
        mock_metadata(router, identity)
        router.post(AUTH_URL).mock(side_effect=auth)
        creds = load(instance_env(), clock)
        auth.failures = [httpx.Response(503, json={"code": "ServiceUnavailable", "message": "later"})] * 2
        clock.now = NOW + 3600 - 30
        assert creds.signing_key().key_id == "ST$" + first  # still valid: kept
        clock.now = NOW + 3601
        with pytest.raises(ConfigError, match="HTTP 503"):
            creds.signing_key()


def test_metadata_service_failures_are_clear_config_errors(identity) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{METADATA}/instance/region").mock(return_value=httpx.Response(404, text="Not Found"))
        with pytest.raises(ConfigError) as info:
            load(instance_env(), Clock())
    assert "metadata service" in str(info.value) and "HTTP 404" in str(info.value)
    assert "compute instance" in str(info.value)

    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=METADATA).mock(side_effect=httpx.ConnectError("connect to 169.254.169.254"))
        router.get(url__startswith=METADATA_V6).mock(side_effect=httpx.ConnectError("no route"))
        with pytest.raises(ConfigError, match="cannot reach the instance metadata service .*ConnectError"):
            load(instance_env(), Clock())


def test_metadata_falls_back_to_ipv6_and_honours_the_override(identity) -> None:
    auth = FakeAuthService(identity, [token_for(NOW + 3600)])
    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=METADATA).mock(side_effect=httpx.ConnectError("unreachable"))
        routes = mock_metadata(router, identity, base=METADATA_V6)
        router.post(AUTH_URL).mock(side_effect=auth)
        creds = load(instance_env(), Clock())
    assert creds.signing_key().is_security_token and routes["key"].called

    custom = "http://metadata.test:8080/opc/v2"
    auth = FakeAuthService(identity, [token_for(NOW + 3600)])
    with respx.mock(assert_all_called=False) as router:
        routes = mock_metadata(router, identity, base=custom)
        default = router.get(url__startswith=METADATA)
        router.post(AUTH_URL).mock(side_effect=auth)
        load(instance_env(OCI_METADATA_BASE_URL=custom + "/"), Clock())
    assert routes["region"].called and not default.called


def test_leaf_without_tenancy_or_with_a_foreign_key_is_refused(identity) -> None:
    no_tenancy = InstanceIdentityFixture(tenancy="")
    with respx.mock(assert_all_called=False) as router:
        mock_metadata(router, no_tenancy)
        router.post(AUTH_URL).mock(return_value=httpx.Response(500))
        with pytest.raises(ConfigError, match="names no tenancy"):
            load(instance_env(), Clock())

    other = InstanceIdentityFixture()
    with respx.mock(assert_all_called=False) as router:
        routes = mock_metadata(router, identity)
        routes["key"].mock(return_value=httpx.Response(200, text=other.key_pem))
        with pytest.raises(ConfigError, match="does not match") as info:
            load(instance_env(), Clock())
    assert_secret_free(str(info.value), other.key_pem, identity.key_pem)


def test_auth_service_refusal_is_clear_and_secret_free(identity) -> None:
    with respx.mock(assert_all_called=False) as router:
        mock_metadata(router, identity)
        router.post(AUTH_URL).mock(return_value=httpx.Response(
            401, json={"code": "NotAuthenticated", "message": "signature " + identity.key_pem}))
        with pytest.raises(ConfigError) as info:
            load(instance_env(), Clock())
    message = str(info.value)
    assert "HTTP 401" in message and "NotAuthenticated" in message and "dynamic group" in message
    assert_secret_free(message, identity.key_pem, identity.leaf_pem)


def test_credentials_repr_and_messages_hide_the_token(identity) -> None:
    token = token_for(NOW + 3600)
    auth = FakeAuthService(identity, [token])
    with respx.mock(assert_all_called=False) as router:
        mock_metadata(router, identity)
        router.post(AUTH_URL).mock(side_effect=auth)
        creds = load(instance_env(), Clock())
    for text in (repr(creds), repr(creds.signing_key()), str(vars(creds).get("_metadata"))):
        assert token not in text and token.split(".")[1] not in text


def test_auto_never_probes_the_metadata_service(tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as router:
        metadata = router.route(url__startswith="http://169.254.169.254")
        proxymux = router.route(url__startswith="https://10.96.0.1")
        env = {"HOME": str(tmp_path), "OCI_CONFIG_FILE": str(tmp_path / "none"), "KUBERNETES_SERVICE_HOST": "10.96.0.1",
               "OCI_METADATA_BASE_URL": METADATA}
        with pytest.raises(ConfigError, match="never .*detected"):
            detect_auth(env)
        with pytest.raises(ConfigError):
            load_credentials(Settings.from_env(env), env)
    assert not metadata.called and not proxymux.called


# -- OKE workload identity ------------------------------------------------------------


def _ca_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name((NameOID.COMMON_NAME, "kubernetes"))
    return _pem(_certificate(name, key, name, key, ca=True))


@pytest.fixture
def pod(tmp_path: Path) -> dict[str, Any]:
    token_file = tmp_path / "token"
    sa_token = make_jwt({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:ai:gateway",
                         "exp": int(NOW + 3600)})
    token_file.write_text(sa_token + "\n")
    ca_file = tmp_path / "ca.crt"
    ca_file.write_text(_ca_pem())
    env = {"OCI_AUTH": "oke_workload_identity", "KUBERNETES_SERVICE_HOST": "10.96.0.1",
           "OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH": str(token_file),
           "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH": str(ca_file), "OCI_RESOURCE_PRINCIPAL_REGION": "ord"}
    return {"env": env, "sa_token": sa_token, "token_file": token_file, "ca_file": ca_file}


class FakeProxymux:
    """proxymux's /resourcePrincipalSessionTokens: base64 of {"token": "ST$<jwt>"}."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = list(tokens)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        payload = json.dumps({"token": "ST$" + self.tokens.pop(0)}).encode()
        return httpx.Response(200, content=base64.b64encode(payload))


def oke_token(iat: float, exp: float) -> str:
    return make_jwt({"sub": "ocid1.cluster.oc1..aaaatest", "res_tenant": TEST_TENANCY,
                     "res_compartment": TEST_COMPARTMENT, "iat": int(iat), "exp": int(exp), "ttype": "res"})


def test_oke_exchanges_the_service_account_token_for_a_session(pod) -> None:
    token = oke_token(NOW, NOW + 3600)
    proxymux = FakeProxymux([token])
    with respx.mock(assert_all_called=False) as router:
        router.post(PROXYMUX).mock(side_effect=proxymux)
        creds = load(pod["env"], Clock())
    assert isinstance(creds, OkeWorkloadIdentityCredentials) and isinstance(creds, Credentials)
    assert creds.kind == "oke_workload_identity" and creds.region == "us-chicago-1"
    assert creds.tenancy_id == TEST_TENANCY and creds.compartment_id == TEST_COMPARTMENT
    (request,) = proxymux.requests
    assert request.headers["authorization"] == "Bearer " + pod["sa_token"]
    assert request.headers["content-type"] == "application/json"
    key = creds.signing_key()
    assert key.key_id == "ST$" + token  # the "ST$" in the answer is not doubled
    assert json.loads(request.content) == {"podKey": spki_b64(key.private_key.public_key())}


def test_oke_renews_at_half_lifetime_with_the_rotated_service_account_token(pod) -> None:
    first, second = oke_token(NOW, NOW + 3600), oke_token(NOW + 1900, NOW + 5500)
    proxymux = FakeProxymux([first, second])
    clock = Clock()
    with respx.mock(assert_all_called=False) as router:
        router.post(PROXYMUX).mock(side_effect=proxymux)
        creds = load(pod["env"], clock)
        clock.now = NOW + 1700
        assert creds.signing_key().key_id == "ST$" + first and len(proxymux.requests) == 1
        rotated = make_jwt({"sub": "system:serviceaccount:ai:gateway", "exp": int(NOW + 7200)})
        pod["token_file"].write_text(rotated)
        clock.now = NOW + 1801
        assert creds.signing_key().key_id == "ST$" + second
    assert proxymux.requests[1].headers["authorization"] == "Bearer " + rotated


def test_oke_renews_after_401(pod) -> None:
    first, second = oke_token(NOW, NOW + 3600), oke_token(NOW + 100, NOW + 3700)
    proxymux = FakeProxymux([first, second])
    clock = Clock()
    with respx.mock(assert_all_called=False) as router:
        router.post(PROXYMUX).mock(side_effect=proxymux)
        creds = load(pod["env"], clock)
        genai = router.post(GENAI).mock(side_effect=[httpx.Response(401, json={}), httpx.Response(200, json={})])
        clock.now = NOW + 100
        with httpx.Client(auth=OCIAuth(creds)) as client:
            assert client.post(GENAI, json={}).status_code == 200
    key_ids = [SIGNATURE.match(call.request.headers["authorization"]).group(2) for call in genai.calls]
    assert key_ids == ["ST$" + first, "ST$" + second]


def test_oke_403_says_the_cluster_is_not_enhanced(pod) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(PROXYMUX).mock(return_value=httpx.Response(403, text="Forbidden"))
        with pytest.raises(ConfigError, match="not an enhanced cluster") as info:
            load(pod["env"], Clock())
    assert pod["sa_token"] not in str(info.value)


def test_oke_bad_answers_and_files_are_clear_errors(pod, tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.post(PROXYMUX).mock(return_value=httpx.Response(200, text="{not base64"))
        with pytest.raises(ConfigError, match="not base64 JSON"):
            load(pod["env"], Clock())
        router.post(PROXYMUX).mock(return_value=httpx.Response(500, text="boom"))
        with pytest.raises(ConfigError, match="HTTP 500"):
            load(pod["env"], Clock())
        router.post(PROXYMUX).mock(side_effect=httpx.ConnectTimeout("timed out"))
        with pytest.raises(ConfigError, match="cannot reach the token service .*ConnectTimeout"):
            load(pod["env"], Clock())

        missing_ca = {**pod["env"], "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH": str(tmp_path / "nope.crt")}
        with pytest.raises(ConfigError, match="OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH"):
            load(missing_ca, Clock())
        (tmp_path / "bad.crt").write_text("not a certificate")
        bad_ca = {**pod["env"], "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH": str(tmp_path / "bad.crt")}
        with pytest.raises(ConfigError, match="not a PEM CA certificate"):
            load(bad_ca, Clock())

        expired = make_jwt({"sub": "system:serviceaccount:ai:gateway", "exp": int(NOW - 1)})
        pod["token_file"].write_text(expired)
        with pytest.raises(ConfigError, match="has expired") as info:
            load(pod["env"], Clock())
        assert expired not in str(info.value)


def test_oke_ipv6_service_host_is_bracketed(pod) -> None:
    proxymux = FakeProxymux([oke_token(NOW, NOW + 3600)])
    with respx.mock(assert_all_called=False) as router:
        route = router.post("https://[fd00::1]:12250/resourcePrincipalSessionTokens").mock(side_effect=proxymux)
        load({**pod["env"], "KUBERNETES_SERVICE_HOST": "fd00::1"}, Clock())
    assert route.called


def assert_secret_free(message: str, *secrets: str) -> None:
    for secret in secrets:
        for line in secret.strip().splitlines():
            if len(line) > 8 and not line.startswith("-----"):
                assert line not in message

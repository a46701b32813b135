"""core.oci.credentials: every provider, refresh behaviour, selection and error hygiene."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from core.oci.credentials import (
    ApiKeyCredentials,
    Credentials,
    ResourcePrincipalCredentials,
    SessionTokenCredentials,
    load_credentials,
)
from core.errors import ConfigError
from core.settings import Settings
from core.oci.signing import fingerprint
from tests.unit.conftest import (
    TEST_COMPARTMENT,
    TEST_TENANCY,
    TEST_USER,
    THROWAWAY_TEST_KEY_FINGERPRINT,
    THROWAWAY_TEST_KEY_PEM,
    pem_of,
)

NOW = 1_750_000_000.0


def clock() -> float:
    return NOW


def load(env: dict[str, str], **settings: Any) -> Credentials:
    """load_credentials as the gateway calls it, with a fixed clock and no real home directory."""
    env.setdefault("HOME", "/nonexistent-home-for-tests")
    return load_credentials(Settings.from_env({**env, **{k.upper(): v for k, v in settings.items()}}), env,
                            clock=clock)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def assert_secret_free(message: str, *secrets: str) -> None:
    for secret in secrets:
        for line in secret.strip().splitlines():
            if len(line) > 8:
                assert line not in message


# -- resource principal ---------------------------------------------------------------


def rp_env(**values: str) -> dict[str, str]:
    env = {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}
    env.update({f"OCI_RESOURCE_PRINCIPAL_{k.upper()}": v for k, v in values.items()})
    return env


def test_resource_principal_from_values(jwt_factory: Callable[..., str]) -> None:
    token = jwt_factory(exp=NOW + 3600)
    creds = load(rp_env(rpst=token, private_pem=THROWAWAY_TEST_KEY_PEM, region="ord"))
    assert isinstance(creds, ResourcePrincipalCredentials)
    assert creds.kind == "resource_principal"
    assert creds.region == "us-chicago-1"
    assert creds.tenancy_id == TEST_TENANCY
    assert creds.compartment_id == TEST_COMPARTMENT
    key = creds.signing_key()
    assert key.key_id == f"ST${token}"
    assert fingerprint(key.private_key.public_key()) == THROWAWAY_TEST_KEY_FINGERPRINT
    assert creds.refresh() is False  # inline values never change: a retry would be pointless
    assert token not in repr(creds) and token not in repr(key)


def test_resource_principal_from_files(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    token = jwt_factory(exp=NOW + 3600, res_compartment="ocid1.compartment.oc1..fromfile")
    env = rp_env(
        rpst=write(tmp_path / "rpst", token + "\n"),
        private_pem=write(tmp_path / "private.pem", pem_of(fresh_keys[0])),
        region=write(tmp_path / "region", "us-phoenix-1\n"),
    )
    creds = load(env)
    assert creds.signing_key().key_id == f"ST${token}"
    assert creds.compartment_id == "ocid1.compartment.oc1..fromfile"
    assert creds.region == "us-phoenix-1"
    assert fingerprint(creds.signing_key().private_key.public_key()) == fingerprint(fresh_keys[0].public_key())


def _rotating_rp(tmp_path: Path, token: str, pem: str) -> tuple[dict[str, str], Path, Path]:
    rpst, key = tmp_path / "rpst", tmp_path / "private.pem"
    rpst.write_text(token)
    key.write_text(pem)
    return rp_env(rpst=str(rpst), private_pem=str(key), region="us-ashburn-1"), rpst, key


def test_token_near_expiry_is_reread_before_signing(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    old = jwt_factory(exp=NOW + 30)
    env, rpst, key = _rotating_rp(tmp_path, old, pem_of(fresh_keys[0]))
    creds = load(env)
    assert creds.signing_key().key_id == f"ST${old}"
    new = jwt_factory(exp=NOW + 1200, res_compartment="ocid1.compartment.oc1..rotated")
    rpst.write_text(new)
    key.write_text(pem_of(fresh_keys[1]))
    current = creds.signing_key()
    assert current.key_id == f"ST${new}"
    assert fingerprint(current.private_key.public_key()) == fingerprint(fresh_keys[1].public_key())
    assert creds.compartment_id == "ocid1.compartment.oc1..rotated"


def test_token_far_from_expiry_is_not_reread(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    old = jwt_factory(exp=NOW + 3600)
    env, rpst, _ = _rotating_rp(tmp_path, old, pem_of(fresh_keys[0]))
    creds = load(env)
    rpst.write_text(jwt_factory(exp=NOW + 7200))
    assert creds.signing_key().key_id == f"ST${old}"


def test_failed_proactive_reread_keeps_current_key(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    old = jwt_factory(exp=NOW + 30)
    env, rpst, _ = _rotating_rp(tmp_path, old, pem_of(fresh_keys[0]))
    creds = load(env)
    rpst.unlink()  # mid-rewrite by the platform
    assert creds.signing_key().key_id == f"ST${old}"


def test_refresh_rereads_rotated_files(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    old = jwt_factory(exp=NOW + 3600)
    env, rpst, _ = _rotating_rp(tmp_path, old, pem_of(fresh_keys[0]))
    creds = load(env)
    assert creds.refresh() is False  # nothing changed on disk: a retry would fail the same way
    new = jwt_factory(exp=NOW + 7200)
    rpst.write_text(new)
    assert creds.refresh() is True
    assert creds.signing_key().key_id == f"ST${new}"


def test_refresh_with_vanished_file_is_a_config_error(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    env, rpst, _ = _rotating_rp(tmp_path, jwt_factory(exp=NOW + 3600), pem_of(fresh_keys[0]))
    creds = load(env)
    rpst.unlink()
    with pytest.raises(ConfigError, match="OCI_RESOURCE_PRINCIPAL_RPST"):
        creds.refresh()


def test_passphrase_as_value_and_as_path(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    token = jwt_factory(exp=NOW + 3600)
    pem_path = write(tmp_path / "private.pem", pem_of(fresh_keys[0], "pass phrase!"))
    for passphrase in ("pass phrase!", write(tmp_path / "passphrase", "pass phrase!\n")):
        creds = load(rp_env(rpst=token, private_pem=pem_path, private_pem_passphrase=passphrase, region="iad"))
        assert fingerprint(creds.signing_key().private_key.public_key()) == fingerprint(fresh_keys[0].public_key())
        assert creds.region == "us-ashburn-1"


def test_resource_principal_errors_name_the_setting(tmp_path: Path, jwt_factory) -> None:
    token = jwt_factory(exp=NOW + 3600)
    with pytest.raises(ConfigError, match="OCI_RESOURCE_PRINCIPAL_RPST"):
        load(rp_env(private_pem=THROWAWAY_TEST_KEY_PEM))
    with pytest.raises(ConfigError, match="OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"):
        load(rp_env(rpst=token))
    with pytest.raises(ConfigError, match="OCI_RESOURCE_PRINCIPAL_VERSION='3.0' is not supported"):
        load({**rp_env(rpst=token, private_pem=THROWAWAY_TEST_KEY_PEM), "OCI_RESOURCE_PRINCIPAL_VERSION": "3.0"})
    with pytest.raises(ConfigError, match=r"OCI_RESOURCE_PRINCIPAL_RPST points to .*missing.*does not exist"):
        load(rp_env(rpst=str(tmp_path / "missing"), private_pem=THROWAWAY_TEST_KEY_PEM))
    bad_token = "not.a-json-payload-secretish.token"
    with pytest.raises(ConfigError, match="OCI_RESOURCE_PRINCIPAL_RPST") as info:
        load(rp_env(rpst=bad_token, private_pem=THROWAWAY_TEST_KEY_PEM))
    assert bad_token not in str(info.value)
    broken_pem = THROWAWAY_TEST_KEY_PEM.replace("MIIEpQIBAAKCAQEA", "MIIEpQ")
    with pytest.raises(ConfigError, match="OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM") as info:
        load(rp_env(rpst=token, private_pem=broken_pem))
    assert_secret_free(str(info.value), broken_pem, token)


# -- API key ----------------------------------------------------------------------------


def api_env(**extra: str) -> dict[str, str]:
    env = {"OCI_USER": TEST_USER, "OCI_FINGERPRINT": THROWAWAY_TEST_KEY_FINGERPRINT, "OCI_TENANCY": TEST_TENANCY,
           "OCI_REGION": "us-chicago-1"}
    env.update(extra)
    return env


def test_api_key_from_escaped_env_value() -> None:
    one_line = THROWAWAY_TEST_KEY_PEM.strip().replace("\n", "\\n")
    assert "\n" not in one_line
    creds = load(api_env(OCI_KEY=one_line))
    assert isinstance(creds, ApiKeyCredentials)
    assert creds.kind == "api_key"
    assert creds.region == "us-chicago-1"
    assert creds.tenancy_id == TEST_TENANCY
    assert creds.compartment_id is None
    assert creds.signing_key().key_id == f"{TEST_TENANCY}/{TEST_USER}/{THROWAWAY_TEST_KEY_FINGERPRINT}"
    assert creds.refresh() is False
    assert "PRIVATE" not in repr(creds)


def test_api_key_from_file_with_home_expansion(tmp_path: Path) -> None:
    (tmp_path / ".oci").mkdir()
    write(tmp_path / ".oci" / "key.pem", THROWAWAY_TEST_KEY_PEM)
    creds = load(api_env(OCI_KEY_FILE="~/.oci/key.pem", HOME=str(tmp_path)))
    assert creds.signing_key().key_id.endswith(THROWAWAY_TEST_KEY_FINGERPRINT)


def test_api_key_encrypted_with_passphrase(tmp_path: Path, fresh_keys) -> None:
    fp = fingerprint(fresh_keys[0].public_key())
    path = write(tmp_path / "key.pem", pem_of(fresh_keys[0], "correct horse"))
    creds = load(api_env(OCI_KEY_FILE=path, OCI_FINGERPRINT=fp, OCI_KEY_PASSPHRASE="correct horse"))
    assert creds.signing_key().key_id.endswith(fp)
    with pytest.raises(ConfigError, match="OCI_KEY_PASSPHRASE"):
        load(api_env(OCI_KEY_FILE=path, OCI_FINGERPRINT=fp))
    with pytest.raises(ConfigError, match="OCI_KEY_PASSPHRASE is wrong") as info:
        load(api_env(OCI_KEY_FILE=path, OCI_FINGERPRINT=fp, OCI_KEY_PASSPHRASE="wrong horse"))
    assert "wrong horse" not in str(info.value)


def test_api_key_wrong_fingerprint(fresh_keys) -> None:
    configured = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
    with pytest.raises(ConfigError) as info:
        load(api_env(OCI_KEY=pem_of(fresh_keys[0]), OCI_FINGERPRINT=configured))
    message = str(info.value)
    assert "OCI_FINGERPRINT" in message
    assert configured in message and fingerprint(fresh_keys[0].public_key()) in message


def test_api_key_bad_pem_names_setting_without_key_material(fresh_keys) -> None:
    pem = pem_of(fresh_keys[0])
    lines = pem.strip().splitlines()
    corrupted = "\n".join(lines[:3] + ["!!!!not-base64!!!!"] + lines[4:])
    with pytest.raises(ConfigError, match="OCI_KEY") as info:
        load(api_env(OCI_KEY=corrupted))
    assert_secret_free(str(info.value), pem)


def test_api_key_missing_values_are_listed() -> None:
    with pytest.raises(ConfigError) as info:
        load({"OCI_USER": TEST_USER})
    message = str(info.value)
    for name in ("OCI_FINGERPRINT", "OCI_TENANCY", "OCI_KEY or OCI_KEY_FILE"):
        assert name in message
    with pytest.raises(ConfigError, match="OCI_KEY_FILE points to .* does not exist"):
        load(api_env(OCI_KEY_FILE="/nonexistent/key.pem"))


# -- config file ------------------------------------------------------------------------


def test_config_file_default_profile(tmp_path: Path) -> None:
    key = write(tmp_path / "key.pem", THROWAWAY_TEST_KEY_PEM)
    config = write(tmp_path / "config", (
        f"[DEFAULT]\nuser={TEST_USER}\nfingerprint={THROWAWAY_TEST_KEY_FINGERPRINT}\nkey_file={key}\n"
        f"tenancy={TEST_TENANCY}\nregion=us-chicago-1\n"))
    creds = load({"OCI_CONFIG_FILE": config})
    assert isinstance(creds, ApiKeyCredentials)
    assert creds.kind == "config_file"
    assert creds.region == "us-chicago-1"
    assert creds.signing_key().key_id == f"{TEST_TENANCY}/{TEST_USER}/{THROWAWAY_TEST_KEY_FINGERPRINT}"


def test_config_file_profile_inherits_default(tmp_path: Path, fresh_keys) -> None:
    home = tmp_path / "home"
    (home / ".oci").mkdir(parents=True)
    fp = fingerprint(fresh_keys[1].public_key())
    write(home / ".oci" / "dev.pem", pem_of(fresh_keys[1], "pp", pkcs8=False))
    write(home / ".oci" / "config", (
        f"[DEFAULT]\ntenancy={TEST_TENANCY}\nregion=eu-frankfurt-1\n"
        f"user=ocid1.user.oc1..default\nfingerprint=aa:bb\nkey_file=~/.oci/missing.pem\n\n"
        f"[DEV]\nuser={TEST_USER}\nfingerprint={fp}\nkey_file=~/.oci/dev.pem\npass_phrase=pp\n"))
    creds = load({"HOME": str(home), "OCI_CONFIG_PROFILE": "DEV"})  # default location, ~ expanded
    assert creds.region == "eu-frankfurt-1"  # from [DEFAULT]
    assert creds.tenancy_id == TEST_TENANCY
    assert creds.signing_key().key_id == f"{TEST_TENANCY}/{TEST_USER}/{fp}"


def test_config_file_key_content(tmp_path: Path) -> None:
    one_line = THROWAWAY_TEST_KEY_PEM.strip().replace("\n", "\\n")
    config = write(tmp_path / "config", (
        f"[DEFAULT]\nuser={TEST_USER}\nfingerprint={THROWAWAY_TEST_KEY_FINGERPRINT}\n"
        f"tenancy={TEST_TENANCY}\nregion=ord\nkey_content={one_line}\n"))
    creds = load({"OCI_CONFIG_FILE": config})
    assert creds.region == "us-chicago-1"
    assert creds.signing_key().key_id.endswith(THROWAWAY_TEST_KEY_FINGERPRINT)


def test_config_file_session_token(tmp_path: Path, jwt_factory, fresh_keys) -> None:
    token_path = tmp_path / "token"
    first = jwt_factory(exp=NOW + 3600, tenant="ocid1.tenancy.oc1..fromtoken")
    token_path.write_text(first)
    key = write(tmp_path / "session.pem", pem_of(fresh_keys[0]))
    config = write(tmp_path / "config", (
        f"[DEFAULT]\nregion=us-ashburn-1\n\n[SESSION]\nfingerprint=aa:bb\nkey_file={key}\n"
        f"tenancy={TEST_TENANCY}\nsecurity_token_file={token_path}\n"))
    creds = load({"OCI_CONFIG_FILE": config, "OCI_CONFIG_PROFILE": "SESSION"})
    assert isinstance(creds, SessionTokenCredentials)
    assert creds.kind == "session_token"
    assert creds.region == "us-ashburn-1"
    assert creds.tenancy_id == TEST_TENANCY
    assert creds.signing_key().key_id == f"ST${first}"
    second = jwt_factory(exp=NOW + 7200)
    token_path.write_text(second + "\n")  # `oci session refresh`
    assert creds.signing_key().key_id == f"ST${first}"  # far from expiry: no re-read
    assert creds.refresh() is True
    assert creds.signing_key().key_id == f"ST${second}"
    near = jwt_factory(exp=NOW + 60)
    token_path.write_text(near)
    creds.refresh()
    token_path.write_text(second)
    assert creds.signing_key().key_id == f"ST${second}"  # near expiry: re-read before signing


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OCI_CONFIG_FILE: no OCI config file at"):
        load({"OCI_CONFIG_FILE": str(tmp_path / "none")}, oci_auth="config_file")
    config = write(tmp_path / "config", f"[DEFAULT]\nuser={TEST_USER}\n")
    with pytest.raises(ConfigError, match=r"OCI_CONFIG_PROFILE: profile \[PROD\] not found"):
        load({"OCI_CONFIG_FILE": config, "OCI_CONFIG_PROFILE": "PROD"})
    with pytest.raises(ConfigError, match="missing fingerprint, tenancy, key_file"):
        load({"OCI_CONFIG_FILE": config})
    bad = write(tmp_path / "bad", (
        f"[DEFAULT]\nuser={TEST_USER}\nfingerprint=aa\ntenancy={TEST_TENANCY}\nkey_content=garbage-not-pem\n"))
    with pytest.raises(ConfigError, match="key_content in profile") as info:
        load({"OCI_CONFIG_FILE": bad})
    assert "garbage-not-pem" not in str(info.value)


# -- selection --------------------------------------------------------------------------


def test_auto_detection_order(tmp_path: Path, jwt_factory) -> None:
    one_line = THROWAWAY_TEST_KEY_PEM.strip().replace("\n", "\\n")
    config = write(tmp_path / "config", (
        f"[DEFAULT]\nuser={TEST_USER}\nfingerprint={THROWAWAY_TEST_KEY_FINGERPRINT}\n"
        f"key_content={one_line}\ntenancy={TEST_TENANCY}\n"))
    rp = rp_env(rpst=jwt_factory(exp=NOW + 3600), private_pem=THROWAWAY_TEST_KEY_PEM)
    api = api_env(OCI_KEY=THROWAWAY_TEST_KEY_PEM)
    cfg = {"OCI_CONFIG_FILE": config}
    assert load({**rp, **api, **cfg}).kind == "resource_principal"
    assert load({**api, **cfg}).kind == "api_key"
    assert load(dict(cfg)).kind == "config_file"
    assert load({**rp, **api, **cfg}, oci_auth="api_key").kind == "api_key"  # explicit choice wins
    assert load({**rp, **api, **cfg}, oci_auth="config_file").kind == "config_file"
    with pytest.raises(ConfigError, match="OCI_USER"):  # OCI_KEY alone selects API key auth, then fails clearly
        load({"OCI_KEY": THROWAWAY_TEST_KEY_PEM, **cfg})


def test_missing_everything_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load({"HOME": str(tmp_path)})
    message = str(info.value)
    for looked_for in ("OCI_RESOURCE_PRINCIPAL_VERSION", "OCI_USER", "OCI_KEY", "OCI_CONFIG_FILE",
                       str(tmp_path / ".oci" / "config")):
        assert looked_for in message


def test_oke_workload_identity_outside_a_pod_is_a_clear_error() -> None:
    # Instance principals and OKE are tested in test_credentials_principals.py.
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        load({}, oci_auth="oke_workload_identity")


def test_providers_satisfy_the_protocol(jwt_factory) -> None:
    rp = load(rp_env(rpst=jwt_factory(exp=NOW + 3600), private_pem=THROWAWAY_TEST_KEY_PEM))
    api = load(api_env(OCI_KEY=THROWAWAY_TEST_KEY_PEM))
    assert isinstance(rp, Credentials) and isinstance(api, Credentials)
    assert rp.region is None  # no region variable: endpoints fall back to OCI_REGION / fail there

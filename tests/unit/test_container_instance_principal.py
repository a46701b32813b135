"""The streaming containers (OCI Container Instances, resource principal version 2.2) sign like the functions.

Container Instances inject the resource principal variables of version 2.2; which variables that version means is
taken from the authority, the ``oci`` SDK's own signer factory, and compared with what the credential code reads.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Callable

from core.oci.credentials import resource_principal
from core.oci.credentials.resource_principal import load_resource_principal
from core.oci.signing import SECURITY_TOKEN_PREFIX
from tests.unit.conftest import THROWAWAY_TEST_KEY_PEM


def _sdk_v22_variables() -> set[str]:
    """Environment variables the SDK's resource principal factory reads in its version 2.2 branch."""
    from oci.auth.signers import resource_principals_signer as sdk

    source = inspect.getsource(sdk.get_resource_principals_signer)
    branch = source[source.index('if rp_version == "2.2":'):source.index('elif rp_version in ["2.1"')]
    names = re.findall(r"os\.environ\.get\((\w+)\)", branch)
    assert names, "the SDK's 2.2 branch changed shape"
    return {getattr(sdk, name) for name in names} | {sdk.OCI_RESOURCE_PRINCIPAL_VERSION}


def test_the_credential_code_reads_exactly_the_sdks_version_2_2_variables() -> None:
    ours = {resource_principal.VERSION, resource_principal.RPST, resource_principal.PRIVATE_PEM,
            resource_principal.PRIVATE_PEM_PASSPHRASE, resource_principal.REGION}
    assert ours == _sdk_v22_variables()
    assert "2.2" in resource_principal.SUPPORTED_VERSIONS


def test_a_container_instance_environment_loads_and_signs(tmp_path: Path, jwt_factory: Callable[..., str]) -> None:
    """Files the platform rewrites (absolute paths), as on Functions; the region names the local endpoints."""
    token = jwt_factory(exp=4_102_444_800, res_compartment="ocid1.compartment.oc1..containers")
    (tmp_path / "rpst").write_text(token)
    (tmp_path / "key.pem").write_text(THROWAWAY_TEST_KEY_PEM)
    env = {"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2", "OCI_RESOURCE_PRINCIPAL_RPST": str(tmp_path / "rpst"),
           "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(tmp_path / "key.pem"),
           "OCI_RESOURCE_PRINCIPAL_REGION": "eu-frankfurt-1"}
    credentials = load_resource_principal(env, clock=lambda: 1_750_000_000.0)
    assert credentials.kind == "resource_principal"
    assert credentials.region == "eu-frankfurt-1"
    assert credentials.compartment_id == "ocid1.compartment.oc1..containers"
    assert credentials.signing_key().key_id == SECURITY_TOKEN_PREFIX + token

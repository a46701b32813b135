"""The local tooling's tests: the emulator on its own, and the fdk runner with the integration suite's fixtures."""

from tests.integration.conftest import (  # noqa: F401 - fixtures the runner's tests share with the integration suite
    emulator,
    emulator_server,
    fdk_factory,
    fdk_gateway,
    front,
    front_factory,
    gateway_env,
    gateway_factory,
    gateway_front_factory,
    local_creds,
)

"""Shared fixtures for integration tests: the emulator, throwaway credentials, the real fdk, the front.

Processes are expensive-ish (~0.1 s each) so the default ones are session-scoped; the factories
give a test its own process or front with extra environment, stopped when the test ends.
The emulator server lives for the session; the ``emulator`` fixture resets its state before each
test, so injected faults and recorded calls never leak between tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pytest

from local.fdk.pool import FdkPool
from local.fdk.process import FdkProcess
from local.front import FrontServer, start_front_in_thread
from local.local_credentials import LocalCredentials, make_resource_principal_env

REPO_ROOT = Path(__file__).resolve().parents[2]
FUNC_PATH = REPO_ROOT / "func.py"
ECHO_FUNC_PATH = Path(__file__).resolve().parent / "fixtures" / "echo_func.py"
LOCAL_COMPARTMENT = "ocid1.compartment.oc1..local"
LOCAL_REGION = "us-chicago-1"

EnvOverrides = Mapping[str, str | None]


@dataclass
class EmulatorHandle:
    """The emulator object plus its URL; attribute access falls through to the emulator."""

    emulator: Any
    url: str
    server: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.emulator, name)


def merge_env(base: Mapping[str, str], overrides: EnvOverrides | None) -> dict[str, str]:
    """``overrides`` values of None remove the key (to test missing settings)."""
    env = dict(base)
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


# ---------------------------------------------------------------------------------------------
# Credentials and emulator
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def local_creds(tmp_path_factory: pytest.TempPathFactory) -> LocalCredentials:
    """Resource principal v2.2 files + env, like a Functions container gets."""
    return make_resource_principal_env(tmp_path_factory.mktemp("oci-credentials"), region=LOCAL_REGION)


@pytest.fixture(scope="session")
def emulator_server(local_creds: LocalCredentials) -> Iterator[EmulatorHandle]:
    """One emulator for the session, accepting exactly ``local_creds``' key."""
    import local.emulator as module
    emulator = module.Emulator()
    emulator.add_key(local_creds.key_id, local_creds.public_key)
    server = module.serve_in_thread(emulator, "127.0.0.1", 0)
    try:
        yield EmulatorHandle(emulator, server.url.rstrip("/"), server)
    finally:
        server.stop()


@pytest.fixture
def emulator(emulator_server: EmulatorHandle, local_creds: LocalCredentials) -> EmulatorHandle:
    """The session emulator, reset to a clean state (keys re-registered) for this test."""
    reset = getattr(emulator_server.emulator, "reset", None)
    if callable(reset):
        reset()
        emulator_server.emulator.add_key(local_creds.key_id, local_creds.public_key)
    return emulator_server


@pytest.fixture(scope="session")
def gateway_env(local_creds: LocalCredentials, emulator_server: EmulatorHandle) -> dict[str, str]:
    """Environment of the gateway function pointed at the emulator (a copy per use is the caller's job)."""
    env = dict(local_creds.env)
    env.update(
        GATEWAY_ROLE="gateway",
        OCI_GENAI_ENDPOINT=emulator_server.url,
        OCI_GENAI_MANAGEMENT_ENDPOINT=emulator_server.url,
        OCI_OBJECTSTORAGE_ENDPOINT=emulator_server.url,
        OCI_COMPARTMENT_ID=LOCAL_COMPARTMENT,
        OCI_REGION=LOCAL_REGION,
        LOG_LEVEL="INFO",
    )
    return env


# ---------------------------------------------------------------------------------------------
# fdk processes
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def fdk_factory() -> Iterator[Callable[..., FdkProcess]]:
    """``start(func_path, env=None, **kwargs) -> FdkProcess`` for any module; stopped after the test."""
    started: list[FdkProcess] = []

    def start(func_path: str | Path, env: Mapping[str, str] | None = None, **kwargs: Any) -> FdkProcess:
        proc = FdkProcess(func_path, env, **kwargs).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.cleanup()


@pytest.fixture(scope="session")
def fdk_gateway(gateway_env: dict[str, str]) -> Iterator[FdkProcess]:
    """The real ``func.py`` under the real fdk, role gateway, against the emulator (session-wide)."""
    with FdkProcess(FUNC_PATH, gateway_env) as proc:
        yield proc


@pytest.fixture
def gateway_factory(
    gateway_env: dict[str, str], fdk_factory: Callable[..., FdkProcess]
) -> Callable[..., FdkProcess]:
    """``start(extra_env=None) -> FdkProcess``: the real func.py with env overrides (None removes)."""

    def start(extra_env: EnvOverrides | None = None, **kwargs: Any) -> FdkProcess:
        return fdk_factory(FUNC_PATH, merge_env(gateway_env, extra_env), **kwargs)

    return start


# ---------------------------------------------------------------------------------------------
# HTTP front (API Gateway stand-in)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def front_factory() -> Iterator[Callable[..., FrontServer]]:
    """``start(func_path, env=None, *, workers=1, prefix='/', timeout_s=300) -> FrontServer``
    (``.url``, ``.base_url``, ``.pool``); front and pool stopped after the test."""
    running: list[tuple[FrontServer, FdkPool]] = []

    def start(
        func_path: str | Path,
        env: Mapping[str, str] | None = None,
        *,
        workers: int = 1,
        prefix: str = "/",
        timeout_s: float = 300.0,
    ) -> FrontServer:
        pool = FdkPool(workers, env, func_path=func_path).start()
        try:
            front = start_front_in_thread(pool, 0, prefix=prefix, timeout_s=timeout_s)
        except BaseException:
            pool.stop()
            raise
        running.append((front, pool))
        return front

    yield start
    for front, pool in running:
        front.stop()
        pool.stop()


@pytest.fixture(scope="session")
def front(gateway_env: dict[str, str]) -> Iterator[FrontServer]:
    """The real func.py (pool of 1) behind the front, on a random port, for the session."""
    with FdkPool(1, gateway_env, func_path=FUNC_PATH) as pool:
        server = start_front_in_thread(pool, 0)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def gateway_front_factory(
    gateway_env: dict[str, str], front_factory: Callable[..., FrontServer]
) -> Callable[..., FrontServer]:
    """``start(extra_env=None, **front_kwargs) -> FrontServer`` over the real func.py."""

    def start(extra_env: EnvOverrides | None = None, **kwargs: Any) -> FrontServer:
        return front_factory(FUNC_PATH, merge_env(gateway_env, extra_env), **kwargs)

    return start


# ---------------------------------------------------------------------------------------------
# Document ingestion: the emulator's buckets and the ingest function (names in ingest_world.py)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def store(emulator: EmulatorHandle) -> Any:
    """The emulator's Object Storage holding the ingestion test buckets (empty)."""
    from local.emulator.objectstorage import install_objectstorage
    from tests.integration import ingest_world as world

    state = install_objectstorage(emulator.emulator, namespace=world.NS)
    state.create_bucket(world.INPUT)
    state.create_bucket(world.OUTPUT)
    return state


@pytest.fixture
def ingest_factory(gateway_factory: Callable[..., FdkProcess], store: Any) -> Callable[..., Any]:
    """``start(extra_env=None) -> deliver``: an ingest function; ``deliver(body, deadline_s=120, status=200)``
    sends a CloudEvent and returns the answer's JSON."""
    import json

    from tests.integration import ingest_world as world

    def start(extra_env: EnvOverrides | None = None) -> Any:
        proc = gateway_factory({**world.INGEST_ENV, **(extra_env or {})})

        def deliver(body: dict[str, Any], deadline_s: float = 120, status: int = 200) -> dict[str, Any]:
            result = proc.call_invoke(json.dumps(body), intent="cloudevent", deadline_s=deadline_s)
            assert result.status == status, (result.status, result.body[:500], proc.stderr_tail())
            return json.loads(result.body)

        deliver.proc = proc  # type: ignore[attr-defined]
        return deliver

    return start


@pytest.fixture
def ingest(ingest_factory: Callable[..., Any]) -> Any:
    """The ingest function with the default test settings."""
    return ingest_factory()

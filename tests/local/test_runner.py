"""The local runner itself: real fdk processes running a throwaway echo function, the pool, the
API-Gateway-like front, the throwaway credentials, and serve's credential detection."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from local.fdk.pool import FdkPool
from local.fdk.process import FdkProcess
from local.fdk.wire import FdkStartError, parse_http_response, rfc3339_deadline
from local.front import FrontServer
from local.local_credentials import fingerprint, make_api_key_env, make_resource_principal_env
from local.serve import detect_real_credentials, emulator_environ
from tests.integration.conftest import ECHO_FUNC_PATH

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def echo() -> Iterator[FdkProcess]:
    with FdkProcess(ECHO_FUNC_PATH, {"ECHO_MARKER": "from-runner"}) as proc:
        yield proc


def _wait_for(predicate: Callable[[], bool], within_s: float = 3.0) -> bool:
    """Poll a condition that settles asynchronously in another process (not a timing assertion)."""
    limit = time.monotonic() + within_s
    while time.monotonic() < limit:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ---------------------------------------------------------------------------------------------
# FdkProcess: readiness and start-up failures
# ---------------------------------------------------------------------------------------------


def test_process_is_ready_when_the_socket_symlink_exists(echo: FdkProcess) -> None:
    assert echo.alive
    assert os.path.islink(echo.socket_path)
    assert os.readlink(echo.socket_path) == "phonylsnr.sock"  # the fdk's atomic socket dance
    assert len(echo.socket_path.encode()) <= 107
    assert echo.ready_seconds is not None and 0 < echo.ready_seconds < 15


def test_process_dying_before_ready_reports_its_output(tmp_path: Path) -> None:
    (tmp_path / "fdk").mkdir()
    (tmp_path / "fdk" / "__init__.py").write_text("raise ImportError('planted failure for the test')\n")
    func = tmp_path / "func.py"
    func.write_text("def handler(ctx, data=None):\n    return 'x'\n")
    proc = FdkProcess(func)
    with pytest.raises(FdkStartError, match="planted failure for the test"):
        proc.start()
    assert not proc.alive


def test_missing_module_is_a_start_error(tmp_path: Path) -> None:
    with pytest.raises(FdkStartError, match="not found"):
        FdkProcess(tmp_path / "nope.py").start()


def test_process_env_is_clean_and_carries_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_USER", "ocid1.user.oc1..developer-shell")
    with FdkProcess(ECHO_FUNC_PATH, {"GATEWAY_ROLE": "gateway"}) as proc:
        result = proc.call_http("GET", "/", {"X-Echo-Env": "GATEWAY_ROLE,OCI_USER,FN_FORMAT,FN_LISTENER,"
                                                           "MALLOC_MMAP_THRESHOLD_,MALLOC_TRIM_THRESHOLD_"})
    env = result.json()["env"]
    assert env["GATEWAY_ROLE"] == "gateway"
    # The image's allocator settings (Dockerfile ENV) apply locally too.
    assert (env["MALLOC_MMAP_THRESHOLD_"], env["MALLOC_TRIM_THRESHOLD_"]) == ("16777216", "67108864")
    assert env["OCI_USER"] is None  # the developer's shell does not leak into the "container"
    assert env["FN_FORMAT"] == "http-stream"
    assert env["FN_LISTENER"] == f"unix:{proc.socket_path}"


# ---------------------------------------------------------------------------------------------
# HTTP-intent calls (API Gateway -> Fn)
# ---------------------------------------------------------------------------------------------


def test_http_call_carries_the_api_gateway_shape(echo: FdkProcess) -> None:
    result = echo.call_http(
        "post",
        "/v1/chat/completions?stream=false&x=a%20b",
        {"Authorization": "Bearer sk-test", "Content-Type": "application/json", "X-Custom": "v"},
        b'{"a":1}',
        deadline_s=120,
        call_id="01CALLIDFORTHETEST0000000A",
    )
    seen = result.json()
    assert seen["method"] == "POST"
    assert seen["url"] == "/v1/chat/completions?stream=false&x=a%20b"  # path and query only
    assert seen["call_id"] == "01CALLIDFORTHETEST0000000A"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", seen["deadline"])
    assert seen["http_headers"]["authorization"] == "Bearer sk-test"
    assert seen["http_headers"]["x-custom"] == "v"
    assert "content-type" not in seen["http_headers"]  # Content-Type travels unprefixed
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["fn-intent"] == "httprequest"
    assert seen["headers"]["fn-invoke-type"] == "sync"
    assert seen["headers"]["opc-request-id"]
    assert seen["body"] == '{"a":1}'


@pytest.mark.parametrize("status", [200, 201, 400, 429, 500, 503])
def test_http_status_and_headers_reach_the_client(echo: FdkProcess, status: int) -> None:
    result = echo.call_http(
        "GET", "/s", {"X-Echo-Status": str(status), "X-Echo-Headers": json.dumps({"Retry-After": "7", "X-Id": "i"})}
    )
    status_seen, headers, body = result  # tuple-style unpacking works
    assert result.socket_status == 200  # the fdk only puts 200/502/504 on the socket
    assert status_seen == status
    assert headers["retry-after"] == "7"
    assert headers["x-id"] == "i"
    assert headers["content-type"] == "application/json"
    assert "fn-fdk-version" not in headers and "fn-http-status" not in headers
    assert json.loads(body)["url"] == "/s"


def test_exception_becomes_502_with_the_body_discarded(echo: FdkProcess) -> None:
    result = echo.call_http("GET", "/boom", {"X-Echo-Raise": "exploded-in-handler"})
    assert result.socket_status == 502
    assert result.raw is not None and b"exploded-in-handler" in result.raw.body  # what the fdk sent...
    assert result.status == 502
    assert result.body == b'{"message":"function failed"}'  # ...is not what the client gets
    assert b"exploded" not in result.body
    assert _wait_for(lambda: "exploded-in-handler" in echo.log_text())  # traceback went to the function log


@pytest.mark.parametrize(("status", "body"), [(502, b'{"message":"function failed"}'), (504, b'{"message":"Timed out"}')])
def test_handler_502_504_are_platform_failures(echo: FdkProcess, status: int, body: bytes) -> None:
    result = echo.call_http("GET", "/", {"X-Echo-Status": str(status), "X-Echo-Headers": '{"X-Lost": "1"}'})
    assert result.socket_status == status
    assert (result.status, result.body) == (status, body)
    assert "x-lost" not in result.headers


async def test_async_http_call(echo: FdkProcess) -> None:
    results = await asyncio.gather(*(echo.acall_http("GET", f"/a?i={i}", {"X-Echo-Status": "201"}) for i in range(3)))
    assert sorted(r.json()["url"] for r in results) == ["/a?i=0", "/a?i=1", "/a?i=2"]
    assert {r.status for r in results} == {201}


# ---------------------------------------------------------------------------------------------
# Invoke-style calls (fn invoke, OCI Events)
# ---------------------------------------------------------------------------------------------


def test_invoke_call_has_no_http_intent(echo: FdkProcess) -> None:
    result = echo.call_invoke(b'{"q":1}', content_type="application/json")
    seen = result.json()
    assert result.status == 200
    assert seen["method"] is None and seen["url"] is None and seen["http_headers"] == {}
    assert "fn-intent" not in seen["headers"]
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["body"] == '{"q":1}'


def test_invoke_4xx_and_5xx_map_to_200(echo: FdkProcess, fdk_factory: Callable[..., FdkProcess], tmp_path: Path) -> None:
    func = tmp_path / "status_func.py"
    func.write_text(
        "from fdk import response\n"
        "def handler(ctx, data=None):\n"
        "    code = int(data.getvalue() or b'200')\n"
        "    return response.Response(ctx, response_data='{\"code\": %d}' % code,\n"
        "                             headers={'Content-Type': 'application/json'}, status_code=code)\n"
    )
    proc = fdk_factory(func)
    for code in (404, 429, 500):
        result = proc.call_invoke(str(code).encode(), content_type="text/plain")
        assert result.status == 200, code
        assert "fn-http-status" not in result.headers
        assert result.json() == {"code": code}
    assert proc.call_invoke(b"502").status == 502


# ---------------------------------------------------------------------------------------------
# Connections are closed after each call (the fdk spins a CPU on idle keep-alive connections)
# ---------------------------------------------------------------------------------------------


def test_connection_is_closed_after_each_call(fdk_factory: Callable[..., FdkProcess]) -> None:
    proc = fdk_factory(ECHO_FUNC_PATH)
    baseline = proc.open_socket_count()  # listener (+ loop internals), no client connections
    for _ in range(3):
        assert proc.call_http("GET", "/").status == 200
    assert proc.call_invoke(b"{}").status == 200
    assert _wait_for(lambda: proc.open_socket_count() == baseline)
    cpu_before = proc.cpu_seconds()
    time.sleep(1.5)
    assert proc.cpu_seconds() - cpu_before < 0.5  # idle, not spinning (a spin burns ~1.5 s here)


async def test_async_calls_close_their_connection_too(fdk_factory: Callable[..., FdkProcess]) -> None:
    proc = fdk_factory(ECHO_FUNC_PATH)
    baseline = proc.open_socket_count()
    await asyncio.gather(*(proc.acall_http("GET", "/") for _ in range(3)))
    assert _wait_for(lambda: proc.open_socket_count() == baseline)


# ---------------------------------------------------------------------------------------------
# Pool
# ---------------------------------------------------------------------------------------------


async def test_pool_serves_concurrent_calls_on_separate_processes() -> None:
    with FdkPool(3, func_path=ECHO_FUNC_PATH) as pool:
        results = await asyncio.gather(
            *(pool.call_http("GET", f"/p{i}", {"X-Echo-Sleep": "0.5"}) for i in range(3))
        )
        pids = {r.json()["pid"] for r in results}
        assert pids == {p.pid for p in pool.processes}  # all three ran at once, one per process
        assert [r.status for r in results] == [200, 200, 200]


async def test_pool_of_one_serialises_calls() -> None:
    with FdkPool(1, func_path=ECHO_FUNC_PATH) as pool:
        results = await asyncio.gather(*(pool.call_http("GET", f"/s{i}", {"X-Echo-Sleep": "0.05"}) for i in range(4)))
        assert sorted(r.json()["url"] for r in results) == ["/s0", "/s1", "/s2", "/s3"]
        assert len({r.json()["pid"] for r in results}) == 1


async def test_pool_deadline_overrun_is_504_and_replaces_the_process() -> None:
    with FdkPool(1, func_path=ECHO_FUNC_PATH) as pool:
        old_pid = pool.processes[0].pid
        result = await pool.call_http("GET", "/slow", {"X-Echo-Sleep": "30"}, deadline_s=0.5)
        assert (result.status, result.body) == (504, b'{"message":"Timed out"}')
        assert pool.processes[0].pid != old_pid  # Fn discards a timed-out container
        assert (await pool.call_http("GET", "/after")).status == 200


async def test_pool_replaces_a_dead_process() -> None:
    with FdkPool(1, func_path=ECHO_FUNC_PATH) as pool:
        proc = pool.processes[0]
        os.kill(proc.pid, 9)
        assert _wait_for(lambda: not proc.alive)
        result = await pool.call_http("GET", "/x")
        assert result.status == 200 and proc.alive


# ---------------------------------------------------------------------------------------------
# Front (API Gateway stand-in)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def echo_front(front_factory: Callable[..., FrontServer]) -> FrontServer:
    return front_factory(ECHO_FUNC_PATH, workers=2, prefix="/deploy")


def test_front_forwards_prefix_query_and_headers(echo_front: FrontServer) -> None:
    response = httpx.post(
        echo_front.base_url + "/v1/chat/completions?stream=false&q=a%2Fb",
        headers={"Authorization": "Bearer sk-x", "X-Trace": "t1", "Content-Type": "application/json"},
        content=b'{"m":1}',
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["url"] == "/deploy/v1/chat/completions?stream=false&q=a%2Fb"  # prefix kept, query as sent
    assert seen["http_headers"]["authorization"] == "Bearer sk-x"
    assert seen["http_headers"]["x-trace"] == "t1"
    assert seen["http_headers"]["x-forwarded-for"] == "127.0.0.1"
    assert "content-type" not in seen["http_headers"]
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["body"] == '{"m":1}'
    assert response.headers["opc-request-id"] == seen["headers"]["opc-request-id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", seen["deadline"])


def test_front_maps_status_and_headers(echo_front: FrontServer) -> None:
    response = httpx.get(
        echo_front.base_url + "/limited",
        headers={"X-Echo-Status": "429", "X-Echo-Headers": '{"Retry-After": "3"}'},
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.headers["content-type"] == "application/json"
    assert "fn-fdk-version" not in response.headers


def test_front_hides_function_failures(echo_front: FrontServer) -> None:
    failed = httpx.get(echo_front.base_url + "/x", headers={"X-Echo-Raise": "private detail"})
    assert failed.status_code == 502
    assert failed.json() == {"message": "function failed"}
    timed_out = httpx.get(echo_front.base_url + "/x", headers={"X-Echo-Status": "504"})
    assert timed_out.status_code == 504
    assert timed_out.json() == {"message": "Timed out"}


def test_front_404s_outside_the_deployment_prefix(echo_front: FrontServer) -> None:
    assert httpx.get(echo_front.url + "/other/v1/models").status_code == 404
    assert httpx.get(echo_front.url + "/deployx/v1").status_code == 404
    assert httpx.get(echo_front.url + "/deploy").status_code == 200


def test_front_passes_a_7_mib_body_through(echo_front: FrontServer) -> None:
    body = os.urandom(7 * 1024 * 1024)
    response = httpx.post(echo_front.base_url + "/big", content=body, timeout=60)
    assert response.status_code == 200
    seen = response.json()
    assert seen["body_len"] == len(body)
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_front_deadline_is_the_function_timeout(front_factory: Callable[..., FrontServer]) -> None:
    front = front_factory(ECHO_FUNC_PATH, timeout_s=1.0)
    response = httpx.get(front.url + "/slow", headers={"X-Echo-Sleep": "30"}, timeout=30)
    assert response.status_code == 504
    assert response.json() == {"message": "Timed out"}
    assert httpx.get(front.url + "/again").status_code == 200  # a fresh process took over


async def test_front_serves_concurrent_clients(front_factory: Callable[..., FrontServer]) -> None:
    front = front_factory(ECHO_FUNC_PATH, workers=3)
    async with httpx.AsyncClient(base_url=front.url, timeout=30) as client:
        responses = await asyncio.gather(*(client.get(f"/c{i}", headers={"X-Echo-Sleep": "0.3"}) for i in range(6)))
    assert [r.status_code for r in responses] == [200] * 6
    assert {r.json()["pid"] for r in responses} <= {p.pid for p in front.pool.processes}
    assert len({r.json()["pid"] for r in responses}) > 1


# ---------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------


def test_rfc3339_deadline_format() -> None:
    from datetime import datetime, timezone

    now = datetime(2029, 12, 31, 23, 59, 0, tzinfo=timezone.utc)
    assert rfc3339_deadline(60, now=now) == "2030-01-01T00:00:00Z"


def test_parse_response_respects_content_length() -> None:
    raw = parse_http_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nFn-Http-Status: 201\r\n\r\nokEXTRA")
    assert (raw.status, raw.body, raw.header("fn-http-status")) == (200, b"ok", "201")


# ---------------------------------------------------------------------------------------------
# Throwaway credentials, checked against the oci SDK (the authority)
# ---------------------------------------------------------------------------------------------


def test_resource_principal_env_is_what_the_oci_sdk_expects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oci = pytest.importorskip("oci")
    creds = make_resource_principal_env(tmp_path, region="us-chicago-1")
    for key, value in creds.env.items():
        monkeypatch.setenv(key, value)
    signer = oci.auth.signers.get_resource_principals_signer()
    assert signer.api_key == creds.key_id  # keyId ST$<token>
    assert signer.get_claim("res_compartment") == creds.compartment
    assert signer.get_claim("res_tenant") == creds.tenancy
    assert signer.region == "us-chicago-1"
    metadata = json.loads(creds.env["OCI_REGION_METADATA"])
    assert metadata["regionIdentifier"] == "us-chicago-1" and metadata["realmDomainComponent"] == "oraclecloud.com"
    assert oct((tmp_path / "private.pem").stat().st_mode)[-3:] == "600"
    assert "BEGIN" not in repr(creds) and "ST$" not in repr(creds)


def test_rotating_resource_principal_changes_token_and_key(tmp_path: Path) -> None:
    first = make_resource_principal_env(tmp_path)
    second = make_resource_principal_env(tmp_path)
    assert first.key_id != second.key_id
    assert first.public_key_pem != second.public_key_pem
    assert (tmp_path / "rpst").read_text() == second.key_id[3:]


def test_api_key_env_signs_verifiably_with_the_oci_sdk() -> None:
    oci = pytest.importorskip("oci")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    creds = make_api_key_env()
    env = creds.env
    assert env["OCI_FINGERPRINT"] == fingerprint(creds.public_key)
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", env["OCI_FINGERPRINT"])
    signer = oci.signer.Signer(
        env["OCI_TENANCY"], env["OCI_USER"], env["OCI_FINGERPRINT"], None, private_key_content=env["OCI_KEY"]
    )
    assert signer.api_key == creds.key_id == f"{env['OCI_TENANCY']}/{env['OCI_USER']}/{env['OCI_FINGERPRINT']}"
    message = b"date: x"
    signature = signer.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    creds.public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())  # raises if mismatched
    assert "PRIVATE" not in repr(creds)


def test_api_key_env_with_key_file(tmp_path: Path) -> None:
    creds = make_api_key_env(key_file_dir=tmp_path)
    assert "OCI_KEY" not in creds.env
    assert Path(creds.env["OCI_KEY_FILE"]).read_text().startswith("-----BEGIN PRIVATE KEY-----")


# ---------------------------------------------------------------------------------------------
# serve: which credentials count as "real"
# ---------------------------------------------------------------------------------------------


def test_detect_real_credentials(tmp_path: Path) -> None:
    empty_home = tmp_path / "home"
    empty_home.mkdir()
    assert detect_real_credentials({}, home=empty_home) is None
    assert detect_real_credentials({"OCI_USER": "u"}, home=empty_home) is None  # no key: not usable
    assert "API key" in detect_real_credentials({"OCI_USER": "u", "OCI_KEY_FILE": "/k"}, home=empty_home)
    assert "resource principal" in detect_real_credentials({"OCI_RESOURCE_PRINCIPAL_VERSION": "2.2"}, home=empty_home)
    config = tmp_path / "cfg"
    config.write_text("[DEFAULT]\n")
    assert "config file" in detect_real_credentials({"OCI_CONFIG_FILE": str(config)}, home=empty_home)
    assert detect_real_credentials({"OCI_CONFIG_FILE": str(tmp_path / "missing")}, home=empty_home) is None
    (empty_home / ".oci").mkdir()
    (empty_home / ".oci" / "config").write_text("[DEFAULT]\n")
    assert "config file" in detect_real_credentials({}, home=empty_home)


def test_an_explicit_oci_auth_is_never_overridden_by_the_emulator(tmp_path: Path) -> None:
    assert detect_real_credentials({"OCI_AUTH": "instance_principal"}, home=tmp_path) == "OCI_AUTH=instance_principal"
    assert detect_real_credentials({"OCI_AUTH": "auto"}, home=tmp_path) is None


def _serve(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local.serve", "--no-bucket", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_busy_port_is_one_clear_line_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve("--port", str(port), env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: cannot listen on 127.0.0.1:{port}: address already in use. Stop what "
                                     f'uses it or pick another port: make serve ARGS="--port {port + 1}"')


def test_real_credentials_that_do_not_load_are_reported_at_startup_not_claimed(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "OCI_USER": "ocid1.user.oc1..u",
           "OCI_TENANCY": "ocid1.tenancy.oc1..t", "OCI_FINGERPRINT": "aa:bb", "OCI_REGION": "us-chicago-1",
           "OCI_KEY_FILE": str(tmp_path / "missing.pem")}
    result = _serve("--port", "0", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"ERROR configuration: credentials: setting OCI_KEY_FILE points to {tmp_path / 'missing.pem'}, which " \
           "does not exist" in result.stderr
    assert "Using real OCI credentials" not in result.stderr and "--emulator" in result.stderr


def test_the_function_reports_settings_problems_when_it_starts_not_at_the_first_request(tmp_path: Path) -> None:
    env = {"OCI_USER": "ocid1.user.oc1..u", "OCI_TENANCY": "ocid1.tenancy.oc1..t", "OCI_FINGERPRINT": "aa:bb",
           "OCI_REGION": "us-chicago-1", "OCI_KEY_FILE": str(tmp_path / "missing.pem"), "MAX_BODY_BYTES": "lots"}
    with FdkProcess(env=env) as function:
        deadline = time.monotonic() + 10
        while "configuration_problem" not in function.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = [json.loads(line) for line in function.log_text().splitlines() if line.startswith("{")]
    problems = [line for line in lines if line.get("event") == "configuration_problem"]
    assert problems and {line["level"] for line in problems} == {"error"}
    assert "MAX_BODY_BYTES" in problems[0]["message"]


def test_the_emulator_keeps_an_explicit_region() -> None:
    from local.serve import _start_emulator

    state: dict = {}
    env, _ = _start_emulator(state, "eu-frankfurt-1")
    try:
        assert env["OCI_REGION"] == "eu-frankfurt-1" and env["OCI_RESOURCE_PRINCIPAL_REGION"] == "eu-frankfurt-1"
    finally:
        state["emulator_server"].stop()
        shutil.rmtree(state["creds_dir"], ignore_errors=True)


def test_emulator_environ_drops_credentials() -> None:
    env = emulator_environ({"OCI_USER": "u", "OCI_KEY": "k", "OCI_RESOURCE_PRINCIPAL_RPST": "t", "LOG_LEVEL": "DEBUG"})
    assert env == {"LOG_LEVEL": "DEBUG"}


# ---------------------------------------------------------------------------------------------
# Shared fixtures over the real func.py (skipped until local.emulator and func.py exist)
# ---------------------------------------------------------------------------------------------


def test_fixture_fdk_gateway_runs_the_real_function(fdk_gateway: FdkProcess, emulator: object) -> None:
    result = fdk_gateway.call_http("GET", "/no/such/route")
    assert result.status == 404
    assert "error" in result.json()
    env = fdk_gateway.build_env()
    assert env["GATEWAY_ROLE"] == "gateway" and env["OCI_RESOURCE_PRINCIPAL_VERSION"] == "2.2"


def test_fixture_front_and_factories(front: FrontServer, gateway_factory: Callable[..., FdkProcess]) -> None:
    assert httpx.get(front.url + "/no/such/route").status_code == 404
    proc = gateway_factory({"LOG_LEVEL": "DEBUG", "OCI_COMPARTMENT_ID": None})
    env = proc.build_env()
    assert env["LOG_LEVEL"] == "DEBUG" and "OCI_COMPARTMENT_ID" not in env
    assert proc.call_http("GET", "/no/such/route").status == 404


def test_the_local_log_stream_labels_every_line_by_its_source(capfd: pytest.CaptureFixture[str]) -> None:
    import io
    import logging

    from local.fdk.process import relay_lines
    from local.serve import SourceFormatter

    relay_lines(io.BytesIO(b'{"event":"request"}\nsecond line\n'), "gateway")
    formatter = SourceFormatter()
    records = []
    for thread_name in ("oci-emulator", "MainThread"):
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s"', ("127.0.0.1", "GET /"),
                                   None)
        record.threadName = thread_name
        records.append(formatter.format(record))
    assert records == ['emulator | INFO 127.0.0.1 - "GET /"', 'front    | INFO 127.0.0.1 - "GET /"']
    assert capfd.readouterr().err.splitlines() == ['gateway  | {"event":"request"}', "gateway  | second line"]

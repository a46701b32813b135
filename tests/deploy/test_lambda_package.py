"""The AWS Lambda package (deploy/lambda_package.py), built offline from the installed distributions, serves on its
own: every handler and adapter module imports with nothing but the package and the standard library on sys.path,
and the gateway role answers through ``lambda_handler``."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from deploy import lambda_package

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, json, pkgutil, sys
sys.path.insert(0, sys.argv[1])
modules = ["handlers." + m.name for m in pkgutil.iter_modules([sys.argv[1] + "/handlers"])]
modules += ["adapters.aws_lambda", "adapters.asgi", "core.vectorstores.database", "core.embeddings.tokens"]
for name in modules:
    importlib.import_module(name)
missing = []
for name in ("tiktoken", "pypdf", "fdk", "pytest"):
    try:
        importlib.import_module(name)
    except ImportError:
        missing.append(name)
from adapters.aws_lambda import lambda_handler

class Context:
    aws_request_id = "lambda-req-1"
    def get_remaining_time_in_millis(self):
        return 30000

event = {"version": "2.0", "rawPath": "/v1/health", "rawQueryString": "", "headers": {},
         "requestContext": {"http": {"method": "GET", "path": "/v1/health"}}, "isBase64Encoded": False}
health = lambda_handler(event, Context())
event = dict(event, rawPath="/v1/models", requestContext={"http": {"method": "POST", "path": "/v1/models"}})
wrong = lambda_handler(event, Context())
from core.token_ranks import rank_file, read_ranks
ranks = read_ranks("cl100k_base")
print(json.dumps({"modules": len(modules), "missing": missing, "health": health["statusCode"],
                  "wrong": wrong["statusCode"], "origin": sys.modules["httpx"].__file__,
                  "ranks": str(rank_file("cl100k_base")), "hello": ranks[b"hello"]}))
"""


def test_the_package_holds_what_the_gateway_imports_and_nothing_of_the_other_roles(tmp_path: Path) -> None:
    zip_path = lambda_package.build(tmp_path / "gateway-lambda.zip", tmp_path / "work", from_installed=True)
    names = zipfile.ZipFile(zip_path).namelist()
    assert "adapters/aws_lambda.py" in names and "handlers/chat.py" in names
    assert not [n for n in names if n.split("/")[0] in ("tiktoken", "pypdf", "fdk", "httptools", "tests", "local")]
    assert not [n for n in names if n.startswith("bpe_openai/")]  # only its two rank files, in token_ranks/
    assert {"token_ranks/cl100k_base.tiktoken.gz", "token_ranks/o200k_base.tiktoken.gz"} <= set(names)
    unpacked = tmp_path / "task"
    zipfile.ZipFile(zip_path).extractall(unpacked)
    env = {"GATEWAY_ROLE": "gateway", "OCI_REGION": "us-chicago-1", "OCI_AUTH": "api_key",
           "OCI_USER": "ocid1.user.oc1..u", "OCI_TENANCY": "ocid1.tenancy.oc1..t", "OCI_FINGERPRINT": "aa:bb",
           "OCI_KEY": "not used by /health", "OCI_COMPARTMENT_ID": "ocid1.compartment.oc1..c"}
    result = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, str(unpacked)], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["modules"] >= 15 and report["missing"] == ["tiktoken", "pypdf", "fdk", "pytest"]
    assert report["origin"].startswith(str(unpacked))  # nothing came from the build machine's site-packages
    assert report["wrong"] == 405  # routed by the packaged router: GET only on /v1/models
    assert report["health"] in (200, 503)  # the configuration report itself, as JSON
    assert report["ranks"] == str(unpacked / "token_ranks" / "cl100k_base.tiktoken.gz")  # token ids decode there
    assert report["hello"] == 15339


def test_the_pip_recipe_targets_a_lambda_runtime_that_loads_manylinux_2_28_wheels() -> None:
    pins = lambda_package.lambda_pins()
    assert not [p for p in pins if p.split("==")[0] in lambda_package.NOT_FOR_LAMBDA]
    assert all("==" in p for p in pins) and any(p.startswith("psycopg-binary==") for p in pins)
    parser_help = subprocess.run([sys.executable, "-m", "deploy.lambda_package", "--help"], cwd=REPO,
                                 capture_output=True, text=True, check=True).stdout
    assert "python3.12" in parser_help


def test_what_the_docs_commands_create_is_ignored_by_git(tmp_path: Path) -> None:
    created = ["pepper.txt", "keys.json", "terraform/pepper.txt", "build/lambda/core/x.py", "build/gateway-lambda.zip",
               "gateway-lambda.zip"]
    result = subprocess.run(["git", "check-ignore", "--no-index", *created], cwd=REPO, capture_output=True, text=True)
    assert sorted(result.stdout.split()) == sorted(created)

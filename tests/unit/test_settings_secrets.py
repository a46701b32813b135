"""Secret settings never show: not in the settings object's repr, str or format, nor in any log line or error.

Every setting declared secret is set to a recognisable value; the settings object, the runtime built from it
and the flows that read those secrets (the authorizer's key table and pepper, API-key credentials, a malformed
neighbouring setting) run with the gateway's logger at DEBUG, and nothing they print may contain a value.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from core import logs, runtime
from core.apikeys import key_hash, new_key, parse_key
from core.exchange import INVOKE, Headers, Request
from core.settings import Secret, Settings
from handlers.router import dispatch
from tests.support.runtime import reset_settings

PEPPER = "pepper-that-must-never-be-printed-0123456789"
SECRET_FIELDS = [f for f in dataclasses.fields(Settings) if f.metadata["secret"]]


def secret_values(key: str) -> dict[str, str]:
    """A distinct, recognisable value for every secret setting (a valid table and pepper for the authorizer)."""
    values = {f.metadata["env"]: f"leak-{f.metadata['env'].lower()}-0123456789abcdef" for f in SECRET_FIELDS}
    row = {"id": parse_key(key), "hash": key_hash(key, PEPPER.encode()), "owner": "leak-owner-marker",
           "models": ["meta.*"]}
    values["API_KEYS"] = json.dumps({"keys": [row]})
    values["API_KEYS_PEPPER"] = PEPPER
    return values


def markers(values: dict[str, str]) -> list[str]:
    """What must never be seen: each value, and for the table the hash it holds."""
    found = [v for name, v in values.items() if name != "API_KEYS"]
    found.append(json.loads(values["API_KEYS"])["keys"][0]["hash"])
    return found


def test_every_secret_setting_is_held_as_a_secret():
    assert {f.metadata["env"] for f in SECRET_FIELDS} >= {
        "OCI_KEY", "OCI_KEY_PASSPHRASE", "OCI_RESOURCE_PRINCIPAL_RPST", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM",
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE", "API_KEYS", "API_KEYS_PEPPER"}
    values = secret_values(new_key())
    settings = Settings.from_env(values)
    for f in SECRET_FIELDS:
        held = getattr(settings, f.name)
        assert isinstance(held, Secret) and held.reveal() == values[f.metadata["env"]]


def test_repr_str_and_format_show_no_secret():
    values = secret_values(new_key())
    settings = Settings.from_env(values)
    shown = [repr(settings), str(settings), f"{settings}", f"{settings!r}", repr(dataclasses.asdict(settings)),
             repr(dataclasses.replace(settings, log_level="DEBUG"))]
    shown += [f"{getattr(settings, f.name)}" + str(getattr(settings, f.name)) for f in SECRET_FIELDS]
    for text in shown:
        for marker in markers(values):
            assert marker not in text
    assert "Secret(<hidden>)" in repr(settings)


def test_a_secret_cannot_be_pickled():
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs._JsonLineFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def every_log_line():
    """Every record of every logger (the gateway's JSON lines and anything else) at DEBUG."""
    handler = Captured()
    root, gateway = logging.getLogger(), logging.getLogger(logs.LOGGER_NAME)
    saved = root.level, gateway.level
    root.addHandler(handler)
    gateway.addHandler(handler)
    root.setLevel(logging.DEBUG)
    gateway.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    gateway.removeHandler(handler)
    root.setLevel(saved[0])
    gateway.setLevel(saved[1])


def invoke(body: dict) -> Request:
    return Request(method="POST", path="", headers=Headers({"content-type": "application/json"}),
                   body=json.dumps(body).encode(), kind=INVOKE, request_id="SECRETS")


async def test_no_log_line_or_answer_carries_a_secret(clean_config, every_log_line):
    key = new_key()
    values = secret_values(key)
    for name, value in values.items():
        clean_config.setenv(name, value)
    clean_config.setenv("GATEWAY_ROLE", "authorizer")
    reset_settings()
    answers = [repr(runtime.settings())]
    for presented in (key, new_key(), "not-a-key"):  # accepted, unknown, malformed
        response = await dispatch(invoke({"type": "USER_DEFINED", "data": {"authorization": f"Bearer {presented}"}}))
        answers.append(response.body.decode())
    assert json.loads(answers[1])["active"] is True
    clean_config.setenv("GATEWAY_ROLE", "gateway")
    clean_config.setenv("MAX_IMAGES", "many")  # a malformed neighbour: the error names it, and only it
    reset_settings()
    runtime.set_credentials(None)
    response = await dispatch(invoke({"model": "meta.llama-3.3-70b-instruct",
                                      "messages": [{"role": "user", "content": "hi"}]}))
    answers.append(response.body.decode())
    assert "MAX_IMAGES" in answers[-1]
    clean_config.delenv("MAX_IMAGES")
    reset_settings()
    runtime.set_credentials(None)
    response = await dispatch(invoke({"model": "meta.llama-3.3-70b-instruct",
                                      "messages": [{"role": "user", "content": "hi"}]}))
    answers.append(response.body.decode())  # OCI_KEY is not a PEM key: a clean configuration error
    assert "OCI_" in answers[-1]
    assert every_log_line
    for text in answers + every_log_line:
        for marker in markers(values):
            assert marker not in text

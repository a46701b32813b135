"""API keys: format, keyed hash, constant-time verification, the table's validation, the mint CLI."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from core import apikeys
from core.apikeys import (KeyTable, key_hash, mint, new_key, parse_key, parse_pepper, parse_record, parse_table,
                          parse_time, verify)
from core.errors import ConfigError

PEPPER = b"p" * 32
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def record(key: str, *, owner: str = "team-a", models=("*",), **extra) -> dict:
    return {"id": parse_key(key), "hash": key_hash(key, PEPPER), "owner": owner, "models": list(models), **extra}


def table_of(*records: dict) -> KeyTable:
    return parse_table({"keys": list(records)}, now=NOW)


# --- format ----------------------------------------------------------------------------------

def test_key_format_prefix_id_and_256_bit_secret():
    key = new_key()
    found = re.fullmatch(r"ocigw_([0-9a-z]{12})_([0-9A-Za-z]{43})", key)
    assert found, key
    assert parse_key(key) == found.group(1)
    # 43 base62 digits hold every 256-bit value and nothing much larger: 256 bits of randomness, no padding loss.
    assert 62 ** 43 >= 2 ** 256 > 62 ** 42
    value = 0
    for ch in found.group(2):
        value = value * 62 + apikeys.BASE62.index(ch)
    assert value < 2 ** 256


def test_keys_are_unique():
    keys = {new_key() for _ in range(200)}
    assert len(keys) == 200
    assert len({parse_key(k) for k in keys}) == 200


@pytest.mark.parametrize("bad", [
    "", "ocigw_", "sk-abc", "ocigw_ABCDEFGHIJKL_" + "a" * 43, "ocigw_abcdefghijkl_" + "a" * 42,
    "ocigw_abcdefghijkl_" + "a" * 44, "xxgw_abcdefghijkl_" + "a" * 43, " ocigw_abcdefghijkl_" + "a" * 43,
    "ocigw_abcdefghijkl_" + "a" * 42 + "!", "ocigw_abcdefghijk_" + "a" * 43, None, 42, "ocigw_" + "a" * 5000,
])
def test_parse_key_rejects_malformed(bad):
    assert parse_key(bad) is None


def test_hash_is_hmac_sha256_keyed_by_the_pepper():
    key = new_key()
    expected = hmac.new(PEPPER, key.encode(), hashlib.sha256).hexdigest()
    assert key_hash(key, PEPPER) == f"hmac-sha256:{expected}"
    assert key_hash(key, b"q" * 32) != key_hash(key, PEPPER)
    assert key not in key_hash(key, PEPPER)


def test_pepper_must_be_long_and_whitespace_is_dropped():
    assert parse_pepper("x" * 32 + "\n", "API_KEYS_PEPPER") == b"x" * 32
    with pytest.raises(ConfigError, match="at least 32 bytes") as info:
        parse_pepper("short-pepper", "API_KEYS_PEPPER")
    assert "short-pepper" not in str(info.value)
    assert len(apikeys.new_pepper()) == 43


# --- verification ----------------------------------------------------------------------------

def test_verify_uses_constant_time_compare(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(apikeys.hmac, "compare_digest", spy)
    key = new_key()
    table = table_of(record(key))
    assert verify(key, table, PEPPER, NOW).ok
    assert len(calls) == 1
    # An unknown key id still costs one HMAC and one constant-time comparison.
    assert verify(new_key(), table, PEPPER, NOW).reason == "unknown"
    assert len(calls) == 2


def test_verify_source_has_no_plain_equality_on_hashes():
    import inspect

    source = inspect.getsource(apikeys.hash_matches) + inspect.getsource(apikeys.verify)
    assert "compare_digest" in source
    assert not re.search(r"hash\w*\s*==|==\s*\w*hash", source)


def test_verify_outcomes():
    ok, disabled, expired, later = new_key(), new_key(), new_key(), new_key()
    table = table_of(record(ok), record(disabled, owner="b", disabled=True),
                     record(expired, owner="c", expires="2025-12-31T23:59:59Z"),
                     record(later, owner="d", expires="2026-01-01T00:00:01Z"))
    assert verify(ok, table, PEPPER, NOW).reason == "ok"
    assert verify(ok, table, PEPPER, NOW).record.owner == "team-a"
    assert verify(None, table, PEPPER, NOW).reason == "missing"
    assert verify("", table, PEPPER, NOW).reason == "missing"
    assert verify("Bearer nonsense", table, PEPPER, NOW).reason == "malformed"
    assert verify(new_key(), table, PEPPER, NOW).reason == "unknown"
    assert verify(disabled, table, PEPPER, NOW).reason == "disabled"
    assert verify(expired, table, PEPPER, NOW).reason == "expired"
    assert verify(later, table, PEPPER, NOW).ok
    assert verify(later, table, PEPPER, NOW + timedelta(seconds=1)).reason == "expired"  # expiry is exclusive
    # Right id, wrong secret: a forged key that reuses a real key id.
    forged = ok[: -43] + ("A" if ok[-43] != "A" else "B") + ok[-42:]
    assert verify(forged, table, PEPPER, NOW).reason == "wrong_secret"
    # Right key, wrong pepper.
    assert verify(ok, table, b"z" * 32, NOW).reason == "wrong_secret"


def test_two_live_keys_per_owner_allowed_third_rejected():
    a, b, c = new_key(), new_key(), new_key()
    table = table_of(record(a), record(b))  # rotation: old and new both live
    assert verify(a, table, PEPPER, NOW).ok and verify(b, table, PEPPER, NOW).ok
    with pytest.raises(ConfigError, match="team-a.*3 live keys"):
        table_of(record(a), record(b), record(c))
    # A disabled or expired third key is fine.
    assert len(table_of(record(a), record(b), record(c, disabled=True)).records) == 3
    assert len(table_of(record(a), record(b), record(c, expires="2025-06-01")).records) == 3


# --- table parsing ---------------------------------------------------------------------------

GOOD = {"id": "abcdefghijkl", "hash": "hmac-sha256:" + "0" * 64, "owner": "o", "models": ["*"]}


@pytest.mark.parametrize("raw, message", [
    ("{not json", "not valid JSON"),
    ("42", "must be"),
    ('{"keys": {}}', "must be"),
    ('{"records": []}', "must be"),
    ('{"keys": [], "extra": 1}', "extra"),
    ('{"keys": [1]}', "key #1: expected an object"),
    (json.dumps([{**GOOD, "colour": "red"}]), "unknown field.*colour"),
    (json.dumps([{**GOOD, "id": "ABC"}]), "'id' must be 12"),
    (json.dumps([{**GOOD, "hash": "sha256:" + "0" * 64}]), "'hash' must be"),
    (json.dumps([{**GOOD, "hash": "hmac-sha256:" + "0" * 63}]), "'hash' must be"),
    (json.dumps([{**GOOD, "owner": ""}]), "'owner'"),
    (json.dumps([{k: v for k, v in GOOD.items() if k != "owner"}]), "'owner'"),
    (json.dumps([{**GOOD, "disabled": "no"}]), "'disabled'"),
    (json.dumps([{**GOOD, "expires": "next tuesday"}]), "not an ISO-8601"),
    (json.dumps([{**GOOD, "expires": 1700000000}]), "ISO-8601"),
    (json.dumps([{**GOOD, "models": []}]), "'models' must be a non-empty list"),
    (json.dumps([{k: v for k, v in GOOD.items() if k != "models"}]), "'models'"),
    (json.dumps([{**GOOD, "models": ["a,b"]}]), "commas"),
    (json.dumps([{**GOOD, "models": ["ok", 3]}]), "non-empty string"),
    (json.dumps([GOOD, GOOD]), "appears twice"),
])
def test_table_errors_are_clear(raw, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_table(raw, source="API_KEYS", now=NOW)
    assert "API_KEYS" in str(info.value)
    assert "0" * 64 not in str(info.value)  # never echo a hash


def test_table_accepts_list_or_object_and_roundtrips():
    key = new_key()
    rec = record(key, models=["meta.*", "gpt-4o"], expires="2027-01-01", note="ci")
    for raw in (json.dumps([rec]), json.dumps({"keys": [rec]}), {"keys": [rec]}):
        table = parse_table(raw, now=NOW)
        parsed = table.get(parse_key(key))
        assert parsed.models == ("meta.*", "gpt-4o")
        assert parsed.expires == datetime(2027, 1, 1, tzinfo=timezone.utc)
    again = parse_table(json.dumps(table.to_json()), now=NOW)
    assert again == table
    assert "hash" not in repr(parsed) and PEPPER.decode() not in repr(parsed)


@pytest.mark.parametrize("raw, expected", [
    ("2027-01-01", datetime(2027, 1, 1, tzinfo=timezone.utc)),
    ("2027-01-01T12:00:00Z", datetime(2027, 1, 1, 12, tzinfo=timezone.utc)),
    ("2027-01-01T12:00:00", datetime(2027, 1, 1, 12, tzinfo=timezone.utc)),
    ("2027-01-01T14:00:00+02:00", datetime(2027, 1, 1, 12, tzinfo=timezone.utc)),
])
def test_parse_time(raw, expected):
    assert parse_time(raw, "x") == expected


# --- minting ---------------------------------------------------------------------------------

def test_mint_returns_a_key_that_verifies_against_its_record():
    key, rec = mint("team-a", "meta.*,gpt-4o", pepper=PEPPER, expires=datetime(2027, 1, 1, tzinfo=timezone.utc),
                    now=NOW)
    assert rec.key_id == parse_key(key)
    assert rec.models == ("meta.*", "gpt-4o")
    table = parse_table({"keys": [rec.to_json()]}, now=NOW)
    assert verify(key, table, PEPPER, NOW).ok
    assert key not in json.dumps(rec.to_json())
    with pytest.raises(ConfigError, match="past"):
        mint("team-a", pepper=PEPPER, expires=NOW - timedelta(days=1), now=NOW)


def run_cli(monkeypatch, capsys, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = apikeys.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_mint_prints_key_once_and_the_record(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("API_KEYS_PEPPER", PEPPER.decode())
    code, out, err = run_cli(monkeypatch, capsys, "mint", "--owner", "team-a", "--models", "meta.*,gpt-4o",
                             "--expires", "2099-01-01")
    assert code == 0, err
    key, line = out.strip().splitlines()
    rec = json.loads(line)
    assert rec["owner"] == "team-a" and rec["models"] == ["meta.*", "gpt-4o"]
    assert rec["expires"] == "2099-01-01T00:00:00Z"
    assert out.count(key) == 1 and key not in err
    assert verify(key, parse_table([rec]), PEPPER).ok
    # hash: the same stored form from a key on stdin
    code, out, _ = run_cli(monkeypatch, capsys, "hash", stdin=key + "\n")
    assert code == 0 and out.strip() == rec["hash"]


def test_cli_table_workflow(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("API_KEYS_PEPPER", PEPPER.decode())
    path = tmp_path / "keys.json"
    path.write_text('{"keys": []}')
    keys = []
    for _ in range(2):
        code, out, err = run_cli(monkeypatch, capsys, "mint", "--owner", "o", "--table", str(path))
        assert code == 0, err
        keys.append(out.splitlines()[0])
    code, _, err = run_cli(monkeypatch, capsys, "mint", "--owner", "o", "--table", str(path))
    assert code == 2 and "at most 2" in err  # a third live key is refused; the file is unchanged
    assert len(json.loads(path.read_text())["keys"]) == 2
    old_id = parse_key(keys[0])
    code, _, _ = run_cli(monkeypatch, capsys, "disable", str(path), old_id)
    assert code == 0
    table = parse_table(path.read_text())
    assert verify(keys[0], table, PEPPER).reason == "disabled"
    assert verify(keys[1], table, PEPPER).ok
    code, out, _ = run_cli(monkeypatch, capsys, "check", str(path))
    assert code == 0 and "2 keys, 1 live" in out
    code, out, err = run_cli(monkeypatch, capsys, "mint", "--owner", "o", "--table", str(path))
    assert code == 0, err  # rotation: one disabled + two live


def test_cli_without_pepper_fails_clearly(monkeypatch, capsys):
    monkeypatch.delenv("API_KEYS_PEPPER", raising=False)
    code, out, err = run_cli(monkeypatch, capsys, "mint", "--owner", "o")
    assert code == 2 and out == "" and "no pepper" in err


def test_record_requires_fields():
    with pytest.raises(ConfigError):
        parse_record({"id": "abcdefghijkl"}, "x")


def test_cli_check_warns_about_keys_that_allow_an_aliases_model_id_but_not_the_alias(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("API_KEYS_PEPPER", PEPPER.decode())
    monkeypatch.delenv("MODEL_ALIASES_FILE", raising=False)
    monkeypatch.setenv("MODEL_ALIASES", json.dumps({
        "team-llama": {"model": "meta.llama-3.3-70b-instruct",
                       "endpoint": "ocid1.generativeaiendpoint.oc1.us-chicago-1.amaaaaaateam"},
        "embedder": "cohere.embed-v4.0"}))
    path = tmp_path / "keys.json"
    path.write_text('{"keys": []}')
    for models in ("meta.llama-3.3-70b-instruct", "meta.*,team-llama", "cohere.*,embedder"):
        code, _, err = run_cli(monkeypatch, capsys, "mint", "--owner", f"o-{models}", "--models", models,
                               "--table", str(path))
        assert code == 0, err
    code, out, err = run_cli(monkeypatch, capsys, "check", str(path))
    assert code == 0 and "3 keys, 3 live: OK" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1  # only the key listing the OCI id alone; the others also name the alias
    assert "'team-llama'" in warnings[0] and "'meta.llama-3.3-70b-instruct'" in warnings[0]
    aliases = tmp_path / "aliases.json"
    aliases.write_text(json.dumps({"other": "xai.grok-4"}))
    code, _, err = run_cli(monkeypatch, capsys, "check", str(path), "--aliases", str(aliases))
    assert code == 0 and "warning:" not in err  # --aliases replaces the environment's table

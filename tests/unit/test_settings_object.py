"""The Settings object: built by name with every other setting at its default, frozen, compared by value."""

from __future__ import annotations

import dataclasses

import pytest

from core.settings import Settings


def test_settings_not_given_keep_their_declared_defaults():
    given = Settings(log_level="DEBUG", oci_max_retries=7)
    for field in dataclasses.fields(Settings):
        expected = {"log_level": "DEBUG", "oci_max_retries": 7}.get(field.name, field.default)
        assert getattr(given, field.name) == expected, field.name
    assert Settings() == Settings.from_env({}) and hash(Settings()) == hash(Settings.from_env({}))


def test_replace_and_frozen_behave_as_a_dataclass_does():
    changed = dataclasses.replace(Settings(log_level="DEBUG"), log_level="INFO")
    assert changed.log_level == "INFO" and changed != Settings(log_level="DEBUG")
    with pytest.raises(dataclasses.FrozenInstanceError):
        changed.log_level = "WARNING"  # type: ignore[misc]


def test_an_unknown_setting_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="oci_max_retrys"):
        Settings(oci_max_retrys=3)

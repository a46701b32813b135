"""Credentials from an OCI CLI/SDK config file (``~/.oci/config``), for local runs.

The file is INI, read the way the SDK reads it (``configparser`` without
interpolation, so every profile inherits the ``[DEFAULT]`` section's keys). A profile
is either an API key (``user``, ``fingerprint``, ``tenancy``, ``key_file`` or
``key_content``, optional ``pass_phrase``) or a session token from
``oci session authenticate`` (``security_token_file`` plus ``key_file``), which is
re-read as ``oci session refresh`` rewrites it.
"""

from __future__ import annotations

import configparser
import os
import time
from typing import Mapping

from core.oci.credentials.api_key import ApiKeyCredentials, checked_fingerprint
from core.oci.credentials.common import Clock, expand_path, non_empty, read_file
from core.oci.credentials.session import SessionTokenCredentials, Source
from core.regions import normalize_region
from core.errors import ConfigError
from core.oci.signing import SigningKey, load_private_key

CONFIG_FILE = "OCI_CONFIG_FILE"
CONFIG_PROFILE = "OCI_CONFIG_PROFILE"
DEFAULT_LOCATION = "~/.oci/config"
DEFAULT_PROFILE = "DEFAULT"


def config_path(environ: Mapping[str, str]) -> str:
    """The config file to use: ``OCI_CONFIG_FILE`` or ``~/.oci/config``, ``~`` expanded."""
    return expand_path(non_empty(environ, CONFIG_FILE) or DEFAULT_LOCATION, environ)


def read_profile(path: str, profile: str) -> dict[str, str]:
    """One profile's keys, with ``[DEFAULT]`` inheritance; ConfigError when file or profile is missing."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        found = parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        reason = type(exc).__name__
        raise ConfigError(f"setting {CONFIG_FILE}: {path} is not a valid OCI config file ({reason})") from None
    if not found:
        raise ConfigError(f"setting {CONFIG_FILE}: no OCI config file at {path}")
    if profile not in parser:  # "DEFAULT" is always "in" a ConfigParser
        raise ConfigError(f"setting {CONFIG_PROFILE}: profile [{profile}] not found in {path}")
    return {key: value.strip() for key, value in parser[profile].items()}


def load_config_file(
    environ: Mapping[str, str], *, clock: Clock = time.time
) -> ApiKeyCredentials | SessionTokenCredentials:
    """Build credentials from a config-file profile (``OCI_CONFIG_PROFILE``, default ``DEFAULT``)."""
    path = config_path(environ)
    profile = (non_empty(environ, CONFIG_PROFILE) or DEFAULT_PROFILE).strip()
    values = read_profile(path, profile)
    where = f"profile [{profile}] of {path}"

    def setting(key: str) -> str:
        return f"{key} in {where}"

    region = normalize_region(values["region"]) if values.get("region") else None
    passphrase = values.get("pass_phrase") or None
    key_file = values.get("key_file")
    key_content = values.get("key_content")

    if values.get("security_token_file"):
        if not key_file:
            raise ConfigError(f"{where} has security_token_file but no key_file")
        return SessionTokenCredentials(
            kind="session_token",
            token=Source(setting("security_token_file"), path=expand_path(values["security_token_file"], environ)),
            private_key=Source(setting("key_file"), path=expand_path(key_file, environ)),
            passphrase=Source(setting("pass_phrase"), inline=passphrase) if passphrase else None,
            region=region,
            tenancy_id=values.get("tenancy") or None,
            clock=clock,
        )

    missing = [key for key in ("user", "fingerprint", "tenancy") if not values.get(key)]
    if not key_file and not key_content:
        missing.append("key_file")
    if missing:
        raise ConfigError(f"{where} is missing {', '.join(missing)}")
    if key_content:
        pem, key_setting = key_content, setting("key_content")
    else:
        key_path = expand_path(key_file or "", environ)
        pem, key_setting = read_file(key_path, setting("key_file")), setting("key_file")
    private_key = load_private_key(pem, passphrase, setting=key_setting, passphrase_setting=setting("pass_phrase"))
    fp = checked_fingerprint(private_key, values["fingerprint"], setting("fingerprint"))
    return ApiKeyCredentials(
        kind="config_file", region=region, tenancy_id=values["tenancy"],
        key=SigningKey(f"{values['tenancy']}/{values['user']}/{fp}", private_key),
    )


def config_file_exists(environ: Mapping[str, str]) -> bool:
    return os.path.isfile(config_path(environ))

"""Small helpers the credential providers share: value-or-file settings and JWT claims.

Nothing here logs or puts a secret in an exception: errors name the setting (and a
file path, which is not secret) only.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Callable, Mapping

from core.errors import ConfigError

Clock = Callable[[], float]

# Re-read a session token (and its key) when it expires within this many seconds.
REFRESH_BEFORE_EXPIRY_SECONDS = 120.0


def expand_path(path: str, environ: Mapping[str, str]) -> str:
    """``~`` expansion against ``environ``'s HOME (so tests need not touch the real home)."""
    path = path.strip()
    if path == "~" or path.startswith("~/"):
        home = environ.get("HOME") or os.path.expanduser("~")
        return home + path[1:]
    return os.path.expanduser(path)


def read_file(path: str, setting: str) -> str:
    """Read a small credential file; a failure is a ConfigError naming the setting and the path."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ConfigError(f"setting {setting} points to {path}, which does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"setting {setting} points to {path}, which is a directory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"setting {setting}: cannot read {path} ({type(exc).__name__})") from None


def value_or_file(raw: str, setting: str) -> tuple[str, str | None]:
    """OCI Functions convention: an absolute path means "read this file", anything else is the value.

    Returns ``(value, path)`` where ``path`` is the file read, or None for an inline value.
    """
    raw = raw.strip()
    if os.path.isabs(raw):
        return read_file(raw, setting).strip(), raw
    return raw, None


def jwt_claims(token: str, setting: str) -> dict[str, Any]:
    """The claims of a JWT, decoded without verifying the signature.

    OCI verifies the token; the gateway only reads ``exp`` and the ``res_*`` claims.
    """
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[1]:
        raise ConfigError(f"setting {setting} does not hold a JWT session token (expected three dot-separated parts)")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        raise ConfigError(f"setting {setting} holds a token whose claims cannot be decoded") from None
    if not isinstance(claims, dict):
        raise ConfigError(f"setting {setting} holds a token whose claims are not a JSON object")
    return claims


def token_expiry(claims: Mapping[str, Any]) -> float | None:
    """The ``exp`` claim as a UNIX time, or None when absent or not a number."""
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


def expires_soon(expiry: float | None, now: float) -> bool:
    return expiry is not None and expiry - now < REFRESH_BEFORE_EXPIRY_SECONDS


def non_empty(environ: Mapping[str, str], name: str) -> str | None:
    """An environment value, None when unset or blank."""
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    return value


def first_claim(claims: Mapping[str, Any], *names: str) -> str | None:
    """The first of ``names`` that the token's claims hold as a non-empty string (e.g. ``res_tenant``)."""
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None

"""The authorizer's key table and pepper, loaded from Vault (or configuration) and cached briefly.

Sources, first match wins:

* table: ``API_KEYS_SECRET_OCID`` (a Vault secret), else ``API_KEYS`` (function configuration);
* pepper: ``API_KEYS_PEPPER_SECRET_OCID`` (a Vault secret), else ``API_KEYS_PEPPER``.

Both are reused for ``API_KEYS_CACHE_SECONDS`` so a warm authorizer does not read Vault on every
call; after that the next call reads them again, which is how a disabled or added key takes effect
without a redeploy.

When that re-read fails (Vault down, slow past its short budget, or answering garbage):

* a table loaded less than ``API_KEYS_STALE_SECONDS`` ago keeps being used, with a WARNING line, so
  an outage of Vault does not lock every caller out (a revoked key then works that much longer);
* otherwise the caller answers "inactive" (fail closed);
* either way the failure is remembered for :data:`RETRY_AFTER_FAILURE_SECONDS`, so calls in the
  meantime do not each wait for a hanging Vault again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from core import logs
from core.apikeys import KeyTable, parse_pepper, parse_table
from core.errors import APIError, ConfigError
from core.settings import Settings

RETRY_AFTER_FAILURE_SECONDS = 5.0
"""After a failed load, calls within this many seconds get the same outcome without reading Vault again."""


@dataclass(frozen=True)
class KeyMaterial:
    """What verifying a key needs. ``repr`` never shows the pepper."""

    table: KeyTable = field(repr=False)
    pepper: bytes = field(repr=False)
    table_source: str = ""
    pepper_source: str = ""


async def _secret_or_value(settings: Settings, ocid_setting: str, value_setting: str, what: str, *,
                           deadline: float | None, request_id: str | None) -> tuple[bytes | str, str]:
    """A Vault secret when its OCID is set, else the plain config value; (content, the setting it came from)."""
    from core import runtime
    from core.oci.vault import read_secret

    ocid = getattr(settings, ocid_setting.lower())
    if ocid:
        content = await read_secret(runtime.client(), ocid, setting=ocid_setting, deadline=deadline,
                                    request_id=request_id)
        return content, ocid_setting
    value = getattr(settings, value_setting.lower())
    if value:
        return value.reveal(), value_setting
    raise ConfigError(f"no API key {what}: set {ocid_setting} (a Vault secret) or {value_setting}")


async def load_material(settings: Settings, *, deadline: float | None = None,
                        request_id: str | None = None) -> KeyMaterial:
    """Read and validate the table and the pepper (ConfigError or upstream APIError on failure).

    The two reads are independent, so they run concurrently (two Vault round trips cost one).
    """
    (raw_table, table_source), (raw_pepper, pepper_source) = await asyncio.gather(
        _secret_or_value(settings, "API_KEYS_SECRET_OCID", "API_KEYS", "table", deadline=deadline,
                         request_id=request_id),
        _secret_or_value(settings, "API_KEYS_PEPPER_SECRET_OCID", "API_KEYS_PEPPER", "pepper", deadline=deadline,
                         request_id=request_id),
    )
    table = parse_table(raw_table, source=table_source)
    pepper = parse_pepper(raw_pepper, pepper_source)
    return KeyMaterial(table, pepper, table_source, pepper_source)


class KeyStore:
    """A time-bounded cache around :func:`load_material` (one per process)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._material: KeyMaterial | None = None
        self._loaded_at = 0.0
        self._failure: ConfigError | APIError | None = None
        self._failed_at = 0.0
        self.loads = 0
        """How many times the material was (re)loaded: for tests and the ``auth`` log line."""

    def __repr__(self) -> str:
        return f"KeyStore(loaded={self._material is not None}, loads={self.loads})"

    async def get(self, settings: Settings, *, deadline: float | None = None,
                  request_id: str | None = None) -> KeyMaterial:
        now = self._clock()
        if self._material is not None and now - self._loaded_at < settings.api_keys_cache_seconds:
            return self._material
        if self._failure is not None and now - self._failed_at < RETRY_AFTER_FAILURE_SECONDS:
            return self._stale_or_raise(settings, self._failure, now, logged=True)
        try:
            material = await load_material(settings, deadline=deadline, request_id=request_id)
        except (ConfigError, APIError) as exc:
            self._failure, self._failed_at = exc, self._clock()
            return self._stale_or_raise(settings, exc, self._failed_at, logged=False)
        self.loads += 1
        self._material, self._loaded_at, self._failure = material, self._clock(), None
        return material

    def _stale_or_raise(self, settings: Settings, failure: ConfigError | APIError, now: float, *,
                        logged: bool) -> KeyMaterial:
        """The last table while it is younger than ``API_KEYS_STALE_SECONDS``, else the failure (fail closed)."""
        age = now - self._loaded_at
        if self._material is None or age >= settings.api_keys_stale_seconds:
            self._material = None  # never served past its time, even while reloads keep failing
            raise failure
        if not logged:
            logs.log_event("apikeys_stale", logging.WARNING, error=type(failure).__name__,
                           table_age_s=round(age), stale_limit_s=settings.api_keys_stale_seconds)
        return self._material

    def clear(self) -> None:
        self._material = None
        self._failure = None


def get_store() -> KeyStore:
    """The process's key store (kept by :mod:`core.runtime`)."""
    from core import runtime

    return runtime.memo("keystore", KeyStore)

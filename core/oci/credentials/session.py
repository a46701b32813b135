"""Credentials that sign with a session token (``keyId = ST$<jwt>``) and its private key.

Resource principals (OCI Functions) and ``oci session authenticate`` profiles both work
this way: a short-lived JWT plus a key, each held in a file that something else rewrites
(the Functions platform, ``oci session refresh``). This class keeps the parsed key and
re-reads the files when the token is within two minutes of ``exp`` and when an upstream
401 asks for :meth:`refresh` - the SDK only does the latter.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

from cryptography.hazmat.primitives.asymmetric import rsa

from core.oci.credentials.common import Clock, expires_soon, first_claim, jwt_claims, read_file, token_expiry
from core.errors import ConfigError
from core.oci.signing import SECURITY_TOKEN_PREFIX, SigningKey, load_private_key


@dataclass(frozen=True)
class Source:
    """Where one credential value comes from: an inline value or a file re-read on demand."""

    setting: str
    inline: str | None = None
    path: str | None = None

    @property
    def rereadable(self) -> bool:
        return self.path is not None

    def read(self) -> str:
        if self.path is not None:
            return read_file(self.path, self.setting).strip()
        return (self.inline or "").strip()

    def __repr__(self) -> str:  # an inline value may be a secret
        where = self.path if self.path is not None else "<inline>"
        return f"Source({self.setting}, {where})"


@dataclass(frozen=True)
class _Loaded:
    key: SigningKey
    pem: str
    passphrase: str | None
    claims: Mapping[str, Any]
    expiry: float | None


class SessionTokenCredentials:
    """Signs with ``ST$<token>``; reloads token and key from their files when needed."""

    def __init__(
        self,
        *,
        kind: str,
        token: Source,
        private_key: Source,
        passphrase: Source | None = None,
        region: str | None = None,
        tenancy_id: str | None = None,
        compartment_id: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.kind = kind
        self.region = region
        self._tenancy_id = tenancy_id
        self._compartment_id = compartment_id
        self._token_source = token
        self._key_source = private_key
        self._passphrase_source = passphrase
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded = self._load(None)

    # -- the Credentials interface -------------------------------------------------

    @property
    def tenancy_id(self) -> str | None:
        return self._tenancy_id or first_claim(self._loaded.claims, "res_tenant", "tenant")

    @property
    def compartment_id(self) -> str | None:
        return self._compartment_id or first_claim(self._loaded.claims, "res_compartment")

    @property
    def rereadable(self) -> bool:
        """True when token or key lives in a file that may have been rewritten."""
        sources = (self._token_source, self._key_source, self._passphrase_source)
        return any(s is not None and s.rereadable for s in sources)

    def refresh_due(self) -> bool:
        """Whether :meth:`signing_key` would re-read the files first (the token expires within two minutes)."""
        return self.rereadable and expires_soon(self._loaded.expiry, self._clock())

    def signing_key(self) -> SigningKey:
        """The current key, re-read first when the token expires within two minutes.

        A failed proactive re-read keeps the current key: the files may be mid-rewrite,
        and the token still works until ``exp`` (a 401 then triggers :meth:`refresh`).
        """
        loaded = self._loaded
        if self.rereadable and expires_soon(loaded.expiry, self._clock()):
            with self._lock:
                if self._loaded is loaded:
                    try:
                        self._loaded = self._load(loaded)
                    except ConfigError:
                        pass
        return self._loaded.key

    def refresh(self) -> bool:
        """Re-read after an upstream 401; True only when the token or key changed.

        Retrying with the very same token would fail the same way, so an unchanged
        token (or inline values, which never change) means no retry.
        """
        if not self.rereadable:
            return False
        with self._lock:
            before = self._loaded
            self._loaded = self._load(before)
            return self._loaded.key.key_id != before.key.key_id or self._loaded.pem != before.pem

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, region={self.region!r})"

    # -- loading -------------------------------------------------------------------

    def _load(self, previous: _Loaded | None) -> _Loaded:
        token = self._token_source.read()
        if not token:
            raise ConfigError(f"setting {self._token_source.setting} is empty: expected a session token")
        if token.startswith(SECURITY_TOKEN_PREFIX):  # some tools store the keyId form
            token = token[len(SECURITY_TOKEN_PREFIX):]
        claims = jwt_claims(token, self._token_source.setting)
        pem = self._key_source.read()
        passphrase = self._passphrase_source.read() if self._passphrase_source is not None else None
        if previous is not None and previous.pem == pem and previous.passphrase == passphrase:
            private_key: rsa.RSAPrivateKey = previous.key.private_key  # unchanged: keep the parsed key
        else:
            private_key = load_private_key(
                pem, passphrase or None, setting=self._key_source.setting,
                passphrase_setting=self._passphrase_source.setting if self._passphrase_source else None,
            )
        return _Loaded(
            key=SigningKey(SECURITY_TOKEN_PREFIX + token, private_key),
            pem=pem, passphrase=passphrase, claims=claims, expiry=token_expiry(claims),
        )

"""Credentials that obtain their own session token over the network, and renew it.

Instance principals (x509 federation with the auth service) and OKE workload identity
(service-account token exchange) both end the same way: a fresh RSA session key whose
public half was sent to OCI, and a JWT that OCI signed for it (``keyId = ST$<jwt>``).
This base class keeps that pair, renews it before it goes stale and after an upstream
401, and leaves the one network exchange to the subclass.

Renewal is a short synchronous call (about once an hour). The gateway's async client makes it in a
worker thread (:class:`core.oci.auth.OCIAuth` checks :meth:`refresh_due` first), so the event loop
never waits on the auth service; the lock below makes concurrent threads share one exchange.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core import logs
from core.oci.credentials.common import Clock, expires_soon, first_claim
from core.errors import ConfigError
from core.oci.signing import SECURITY_TOKEN_PREFIX, SigningKey

# After a 401, do not federate again if the current token is younger than this: a 401 caused by
# policy (not by the token) would otherwise make every request hit the auth service.
MIN_SECONDS_BETWEEN_FORCED_REFRESHES = 30.0

# Connect and read timeouts for the token exchanges (metadata service, auth service, proxymux).
CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0


def new_session_key() -> rsa.RSAPrivateKey:
    """A fresh RSA-2048 key for one session token (the SDK also makes a new one per token)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_key_b64(key: rsa.RSAPrivateKey) -> str:
    """The SubjectPublicKeyInfo as base64 with no PEM armour or newlines (what OCI's token APIs take)."""
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


@dataclass(frozen=True)
class Session:
    """One session token and the key it was issued for."""

    key: SigningKey
    claims: Mapping[str, Any] = field(repr=False)
    expiry: float | None
    obtained_at: float

    @classmethod
    def issued(cls, token: str, private_key: rsa.RSAPrivateKey, claims: Mapping[str, Any],
               expiry: float | None, now: float) -> "Session":
        if token.startswith(SECURITY_TOKEN_PREFIX):
            token = token[len(SECURITY_TOKEN_PREFIX):]
        return cls(SigningKey(SECURITY_TOKEN_PREFIX + token, private_key), claims, expiry, now)


class FederatedCredentials(ABC):
    """Signs with a session token this process obtained itself; renews it when needed."""

    kind: str = "federated"

    def __init__(self, *, region: str | None, tenancy_id: str | None = None, clock: Clock = time.time) -> None:
        self.region = region
        self._tenancy_id = tenancy_id
        self._clock = clock
        self._lock = threading.Lock()
        self._session = self._obtain()

    # -- subclass hooks --------------------------------------------------------------

    @abstractmethod
    def _federate(self, now: float) -> Session:
        """Make one token exchange; every failure is a ConfigError without secrets."""

    def _stale(self, session: Session, now: float) -> bool:
        """Whether to renew before signing: by default within two minutes of ``exp``."""
        return expires_soon(session.expiry, now)

    # -- the Credentials interface ---------------------------------------------------

    @property
    def tenancy_id(self) -> str | None:
        return self._tenancy_id or first_claim(self._session.claims, "res_tenant", "tenant")

    @property
    def compartment_id(self) -> str | None:
        return first_claim(self._session.claims, "res_compartment")

    def refresh_due(self) -> bool:
        """Whether :meth:`signing_key` would obtain a new token first."""
        return self._stale(self._session, self._clock())

    def signing_key(self) -> SigningKey:
        """The current key, renewed first when the token is stale.

        A failed renewal keeps a token that has not expired yet (the auth service may be
        briefly unreachable; the token still works) and raises only once it has.
        """
        session = self._session
        now = self._clock()
        if self._stale(session, now):
            with self._lock:
                if self._session is session:
                    try:
                        self._session = self._obtain()
                    except ConfigError:
                        if session.expiry is None or now >= session.expiry:
                            raise
                        logs.log_event("credentials_refresh_failed", logging.WARNING, kind=self.kind,
                                       expires_in_s=round(session.expiry - now))
        return self._session.key

    def refresh(self) -> bool:
        """Obtain a new token after an upstream 401; True when a retry may succeed.

        A token obtained in the last few seconds (by a concurrent request) is not
        replaced: the retry uses it.
        """
        with self._lock:
            now = self._clock()
            if now - self._session.obtained_at < MIN_SECONDS_BETWEEN_FORCED_REFRESHES:
                return True
            self._session = self._obtain()
            return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kind={self.kind!r}, region={self.region!r})"

    # -- internals -------------------------------------------------------------------

    def _obtain(self) -> Session:
        session = self._federate(self._clock())
        expires_in = None if session.expiry is None else round(session.expiry - session.obtained_at)
        logs.log_event("credentials_obtained", logging.INFO, kind=self.kind, expires_in_s=expires_in)
        return session




def describe_failure(exc: Exception) -> str:
    """A transport failure's class name only: its text may carry addresses or other details."""
    return type(exc).__name__

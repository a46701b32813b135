"""Fault and latency injection: the failures OCI produces that the gateway must survive.

Three independent knobs:

* a **queue** of scripted faults ("the next 2 chat calls answer 429 with Retry-After: 1"),
  consumed in order, each optionally limited to paths containing a substring;
* a **probability mode** ("20% 429 and 5% 500") drawn from a seeded RNG, so a run is
  reproducible: the same seed and the same request order give the same faults;
* **latency**: a fixed delay before the response starts, and a "slow body" delay between the
  response headers and the body (what exercises a client's read timeout).

State is touched by the test thread and the server thread, so every mutation holds a lock;
the lock is never held across an ``await``.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

# OCI's error codes for the statuses a test is likely to inject.
DEFAULT_CODES: dict[int, tuple[str, str]] = {
    400: ("400", "Injected bad request."),
    401: ("NotAuthenticated", "The required information to complete authentication was not provided or was incorrect."),
    404: ("NotAuthorizedOrNotFound", "Authorization failed or requested resource not found."),
    409: ("IncorrectState", "The resource is in a conflicting state."),
    413: ("RequestEntityTooLarge", "The request is too large."),
    429: ("TooManyRequests", "Too many requests for the user."),
    500: ("InternalServerError", "Internal Server Error."),
    502: ("BadGateway", "Bad Gateway."),
    503: ("ServiceUnavailable", "Service is temporarily unavailable."),
    504: ("GatewayTimeout", "Gateway Timeout."),
}


def default_error_body(status: int) -> dict[str, str]:
    """OCI's ``{"code","message"}`` error body for ``status``."""
    code, message = DEFAULT_CODES.get(status, (str(status), f"Injected error {status}."))
    return {"code": code, "message": message}


@dataclass
class Fault:
    """One scripted failure. ``remaining`` counts down each time it fires."""

    status: int
    remaining: int = 1
    retry_after: str | None = None
    body: dict[str, Any] | None = None
    path_contains: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, path: str) -> bool:
        return self.path_contains is None or self.path_contains in path

    def response_body(self) -> dict[str, Any]:
        return self.body if self.body is not None else default_error_body(self.status)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["retry-after"] = self.retry_after
        return headers

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "times": self.remaining,
            "retryAfter": self.retry_after,
            "body": self.body,
            "pathContains": self.path_contains,
        }


@dataclass
class RandomFaults:
    """Probability mode: ``probabilities`` maps status -> chance per request (sum <= 1)."""

    probabilities: dict[int, float]
    seed: int
    retry_after: str | None = None
    path_contains: str | None = None
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        total = sum(self.probabilities.values())
        if any(p < 0 for p in self.probabilities.values()) or total > 1.0 + 1e-9:
            raise ValueError("probabilities must be >= 0 and sum to at most 1")
        self.rng = random.Random(self.seed)

    def draw(self, path: str) -> Fault | None:
        """One RNG draw per matching request, so the fault sequence depends only on the seed."""
        if self.path_contains is not None and self.path_contains not in path:
            return None
        roll = self.rng.random()
        cumulative = 0.0
        for status in sorted(self.probabilities):
            cumulative += self.probabilities[status]
            if roll < cumulative:
                return Fault(status=status, retry_after=self.retry_after)
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "probabilities": {str(k): v for k, v in self.probabilities.items()},
            "seed": self.seed,
            "retryAfter": self.retry_after,
            "pathContains": self.path_contains,
        }


class FaultPlan:
    """Everything injected into the emulator's answers; ``reset`` returns it to a clean server."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._queue: list[Fault] = []
        self._random: RandomFaults | None = None
        self.latency: float = 0.0
        self.slow_body: float = 0.0

    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        body: dict[str, Any] | None = None,
        path_contains: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Queue ``status`` for the next ``times`` requests whose path contains ``path_contains``."""
        if not 100 <= status <= 599:
            raise ValueError(f"not an HTTP status: {status}")
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = Fault(status, times, retry_after, body, path_contains, dict(headers or {}))
        with self._lock:
            self._queue.append(fault)

    def inject_random(
        self,
        probabilities: Mapping[int, float],
        *,
        seed: int | None = None,
        retry_after: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Switch on probability mode (replacing any previous one); empty mapping switches it off."""
        plan = None
        if probabilities:
            plan = RandomFaults(
                {int(k): float(v) for k, v in probabilities.items()},
                self._seed if seed is None else seed,
                retry_after,
                path_contains,
            )
        with self._lock:
            self._random = plan

    def next_fault(self, path: str) -> Fault | None:
        """The fault for this request, if any: the queue first, then probability mode."""
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.matches(path):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        del self._queue[index]
                    return fault
            if self._random is not None:
                return self._random.draw(path)
        return None

    def clear_faults(self) -> None:
        with self._lock:
            self._queue.clear()
            self._random = None

    def reset(self) -> None:
        self.clear_faults()
        self.latency = 0.0
        self.slow_body = 0.0

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queue": [fault.to_json() for fault in self._queue],
                "random": self._random.to_json() if self._random else None,
                "latency": self.latency,
                "slowBody": self.slow_body,
            }

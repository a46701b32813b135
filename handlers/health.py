"""``GET /health`` (any path ending in ``/health``, so ``/v1/health`` too): is this deployment configured?

A load balancer, an uptime probe or an operator after a deploy wants to know whether
requests *can* succeed, without paying for (or being rate limited by) a model call.
So every check here is local: the settings parse, the credentials load, a region and
a compartment resolve to an inference endpoint, the alias table parses. Nothing is
sent to OCI Generative AI.

The answer is 200 ``{"status": "ok", ...}`` with non-secret facts (role, credential
kind, region, endpoint host, counts), or 503 ``{"status": "error", "problems": [...]}``
naming each failed check. Compartment and tenancy OCIDs are not echoed (an
unauthenticated probe has no business learning them), and :class:`ConfigError`
messages never carry secret values by contract.

Credentials that federate over the network (instance principal, OKE workload
identity) are checked only once the process has loaded them for a real request:
loading them here would be a network call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from core.errors import ConfigError
from core.exchange import Request, Response

FEDERATED_MODES = frozenset({"instance_principal", "oke_workload_identity"})


@dataclass
class HealthReport:
    """What the checks found: facts to show, and problems (check name -> message)."""

    facts: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ok else "error", **self.facts}
        if self.problems:
            body["problems"] = [{"check": name, "message": message} for name, message in self.problems.items()]
        return body


def _attempt(report: HealthReport, check: str, action: Callable[[], Any]) -> Any:
    """Run one check; a ConfigError (or a bad value) becomes a named problem instead of an exception."""
    try:
        return action()
    except ConfigError as exc:
        report.problems[check] = str(exc)
    except (ValueError, TypeError, OSError) as exc:  # defensive: a loader that raised something unexpected
        report.problems[check] = f"{type(exc).__name__} while checking {check}"
    return None


def _auth_mode(settings: Any, environ: Mapping[str, str]) -> str:
    from core.oci.credentials import detect_auth

    mode = (settings.oci_auth or "auto").strip()
    return detect_auth(environ) if mode == "auto" else mode


def _cached_credentials() -> Any:
    """Credentials this process already loaded for a request (None before the first one)."""
    from core.oci import client

    return getattr(client, "_credentials", None)


def _load_credentials(settings: Any, mode: str) -> Any:
    """The process's credentials (loaded and cached like a request would), or None when loading needs the network."""
    from core.oci import client

    if mode in FEDERATED_MODES:
        return None
    return client.get_credentials(settings)


def check_configuration(environ: Mapping[str, str] | None = None) -> HealthReport:
    """Run every local check against the process's configuration (no call to OCI Generative AI)."""
    from core import aliases
    from core.oci import deployment
    from core.oci.endpoints import genai_base_url
    from core.settings import get_settings

    env = os.environ if environ is None else environ
    report = HealthReport()
    settings = _attempt(report, "settings", get_settings)
    if settings is None:
        return report
    report.facts["role"] = settings.gateway_role
    credentials = _cached_credentials()
    mode = getattr(credentials, "kind", None) if credentials is not None else \
        _attempt(report, "credentials", lambda: _auth_mode(settings, env))
    if mode is not None:
        report.facts["auth"] = mode
        if credentials is None:
            credentials = _attempt(report, "credentials", lambda: _load_credentials(settings, mode))
    if credentials is None and mode in FEDERATED_MODES and "credentials" not in report.problems:
        report.facts["credentials"] = "deferred: loaded on the first model call (federation needs the network)"
    deferred = credentials is None and mode in FEDERATED_MODES
    if credentials is not None or (deferred and (settings.oci_region or settings.oci_genai_endpoint)):
        region = deployment.region(settings, credentials)
        base = _attempt(report, "region", lambda: genai_base_url(
            region, override=settings.oci_genai_endpoint, region_metadata=settings.oci_region_metadata))
        if base is not None:
            report.facts["region"] = region
            report.facts["genai_host"] = urlsplit(base).netloc
        if credentials is not None:
            compartment = _attempt(report, "compartment", lambda: deployment.compartment_id(settings, credentials))
            if compartment is not None:
                report.facts["compartment"] = ("setting" if settings.oci_compartment_id else "from credentials")
    table = _attempt(report, "aliases", lambda: aliases.aliases(settings))
    if table is not None:
        report.facts["aliases"] = len(table)
    report.facts["served_models"] = settings.served_models or "*"
    return report


async def handle(request: Request) -> Response:
    report = check_configuration()
    return Response.json(report.to_json(), status=200 if report.ok else 503, headers={"cache-control": "no-store"})

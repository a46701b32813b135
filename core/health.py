"""Is this deployment configured? The checks behind ``GET /health``.

A load balancer, an uptime probe or an operator after a deploy wants to know whether
requests *can* succeed, without paying for (or being rate limited by) a model call.
So every check here is local: the settings parse, the credentials load, a region and
a compartment resolve to an inference endpoint, the alias table parses. Nothing is
sent to OCI Generative AI.

``model_list`` reports the last read of OCI's model list (:mod:`core.model_list`): whether
``/v1/models`` comes from it or from the built-in table, and the outcome. A plain check never reads
it; ``?deep=1`` (admin keys, :func:`deep_check`) reads it first when it is stale.

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

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from core import logs, model_list, runtime
from core.errors import ConfigError
from core.guardrails.policy import parse_policy
from core.oci import deployment
from core.oci.endpoints import genai_base_url

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


def _load_credentials(mode: str) -> Any:
    """The process's credentials (loaded and cached like a request would), or None when loading needs the network."""
    if mode in FEDERATED_MODES:
        return None
    return runtime.credentials()


def _check_credentials(report: HealthReport, settings: Any, env: Mapping[str, str]) -> tuple[Any, str | None]:
    """The credentials (None when they cannot or must not be loaded here) and the auth mode."""
    credentials = runtime.loaded_credentials()
    if credentials is not None:
        mode = getattr(credentials, "kind", None)
    else:
        mode = _attempt(report, "credentials", lambda: _auth_mode(settings, env))
    if mode is not None:
        report.facts["auth"] = mode
        if credentials is None:
            credentials = _attempt(report, "credentials", lambda: _load_credentials(mode))
    if credentials is None and mode in FEDERATED_MODES and "credentials" not in report.problems:
        report.facts["credentials"] = "deferred: loaded on the first model call (federation needs the network)"
    return credentials, mode


def _check_endpoint(report: HealthReport, settings: Any, credentials: Any) -> None:
    """Region and inference host; the compartment once credentials are loaded."""
    region = deployment.region(settings, credentials)
    base = _attempt(report, "region", lambda: genai_base_url(
        region, override=settings.oci_genai_endpoint, region_metadata=settings.oci_region_metadata))
    if base is not None:
        report.facts["region"] = region
        report.facts["genai_host"] = urlsplit(base).netloc
    if credentials is not None:
        compartment = _attempt(report, "compartment", lambda: deployment.compartment_id(settings, credentials))
        if compartment is not None:
            report.facts["compartment"] = "setting" if settings.oci_compartment_id else "from credentials"


def check_configuration(environ: Mapping[str, str] | None = None) -> HealthReport:
    """Run every local check against the process's configuration (no call to OCI Generative AI)."""
    env = os.environ if environ is None else environ
    report = HealthReport()
    settings = _attempt(report, "settings", runtime.settings)
    if settings is None:
        return report
    report.facts["role"] = settings.gateway_role
    credentials, mode = _check_credentials(report, settings, env)
    deferred = credentials is None and mode in FEDERATED_MODES
    if credentials is not None or (deferred and (settings.oci_region or settings.oci_genai_endpoint)):
        _check_endpoint(report, settings, credentials)
    table = _attempt(report, "aliases", lambda: runtime.aliases(settings))
    if table is not None:
        report.facts["aliases"] = len(table)
    report.facts["served_models"] = settings.served_models or "*"
    policy = _attempt(report, "guardrails", lambda: parse_policy(settings.guardrails, "setting GUARDRAILS"))
    if policy is not None:
        report.facts["guardrails"] = policy.text() or "off"
    report.facts["model_list"] = model_list.health_facts()
    return report


def report_at_startup() -> bool:
    """Log each configuration problem at error level when the process starts, before any request; True when none."""
    report = check_configuration()
    for check, message in report.problems.items():
        logs.log_event("configuration_problem", logging.ERROR, check=check, message=message)
    return report.ok


async def deep_check(*, deadline: float | None = None) -> dict[str, Any]:
    """``/health?deep=1``: OCI's model list read first when stale, then the doctor's gateway checks (model calls,
    at most once a minute per container), with the list's outcome."""
    from core.doctor import deep_health

    await model_list.refresh(deadline=deadline)
    report = await deep_health(deadline=deadline)
    return {**report, "model_list": model_list.health_facts()}

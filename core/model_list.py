"""OCI's model list as this container knows it: read when needed, kept for ``MODEL_LIST_TTL_SECONDS``.

The list is read (ListModels, and ListModelDiscovery when the service has it) on the first
``GET /v1/models`` or ``GET /health?deep=1``, which wait for it, and after a container's first
chat call has OCI's answer, which does not: the read runs as a task once that answer is in (its CPU
is never on the first answer's path). A function is frozen once it has answered, so such a task
resumes with the next invocation, beside its wait for OCI; nothing here assumes it finishes in time.
When the list cannot be read (no ``inspect generative-ai-model`` policy, no network) the built-in
table stands in, the log says so once, and the read is tried again after the TTL (a minute after a
failure that may pass). ``GET /health`` reports the last outcome and never reads anything.

All of it lives in :func:`core.runtime.memo`, like every other process-wide state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from core import aliases, catalog, logs, runtime
from core.aliases import DEDICATED, ResolvedModel
from core.errors import APIError, ConfigError
from core.listed_models import ListedModel, parse_models
from core.oci import deployment

FETCH_SECONDS = 20.0
"""Time one read of the list may take (all pages)."""
RETRY_FAILED_SECONDS = 60.0
"""A read that failed for a passing reason (timeout, 5xx) is tried again after this, not after the TTL."""
REFUSED = frozenset({"gateway_not_authorized", "gateway_auth_failed", "not_found", "NotAuthorizedOrNotFound"})
"""Error codes meaning the deployment may not read the list (no policy, credentials refused), not a passing fault."""


@dataclass
class ModelListState:
    """The last read of OCI's model list, and the read under way (if any)."""

    models: dict[str, ListedModel] | None = None
    """The list from the last successful read (kept through later failures); None before one."""
    outcome: str = "not_read"
    """``not_read``, ``ok``, ``refused``, ``failed``, ``unavailable`` (no credentials or region) or ``disabled``."""
    detail: str = ""
    """A short, OCID-free reason (``HTTP 404 gateway_not_authorized``) that ``/health`` may show."""
    read_at: float | None = None
    discovery: bool = False
    """Whether ListModelDiscovery answered too (on-demand availability and replacements are then known)."""
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    warned: bool = False


def state() -> ModelListState:
    return runtime.memo(("model_list",), ModelListState)


def _stale(current: ModelListState, ttl: float, now: float) -> bool:
    if current.read_at is None:
        return True
    keep = min(ttl, RETRY_FAILED_SECONDS) if current.outcome == "failed" else ttl
    return now - current.read_at >= keep


def _running(current: ModelListState) -> asyncio.Task[None] | None:
    task = current.task
    if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
        return None
    return task


def start_read() -> asyncio.Task[None] | None:
    """Start reading the list in the background when it is stale (never waits); the task, or None."""
    settings = runtime.settings()
    current = state()
    if settings.model_list_ttl_seconds <= 0:
        current.outcome = "disabled"
        return None
    running = _running(current)
    if running is not None or not _stale(current, settings.model_list_ttl_seconds, time.time()):
        return running
    current.task = asyncio.get_running_loop().create_task(_read(current))
    return current.task


async def refresh(*, deadline: float | None = None) -> ModelListState:
    """The list, read first when stale; waits at most until ``deadline`` (the table stands in after that)."""
    task = start_read()
    if task is not None:
        wait = FETCH_SECONDS if deadline is None else max(0.0, min(FETCH_SECONDS, deadline - time.time() - 1.0))
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=wait)
        except asyncio.TimeoutError:
            pass
    return state()


async def _read(current: ModelListState) -> None:
    """One read of both lists into ``current``; every failure becomes an outcome, never an exception."""
    settings = runtime.settings()
    try:
        credentials = runtime.credentials()
        client = runtime.client()
        compartment = deployment.compartment_id(settings, credentials)
        region = deployment.region(settings, credentials)
        from core.oci.model_listing import list_model_discovery, list_models

        deadline = time.time() + FETCH_SECONDS
        summaries, discovery = await asyncio.gather(
            list_models(client, compartment, deadline=deadline),
            list_model_discovery(client, compartment, region=region, deadline=deadline), return_exceptions=True)
        if isinstance(summaries, BaseException):
            raise summaries
        current.discovery = isinstance(discovery, list)
        current.models = parse_models(summaries, discovery if isinstance(discovery, list) else (), region)
        _done(current, "ok")
    except APIError as exc:
        _done(current, "refused" if exc.code in REFUSED else "failed", f"HTTP {exc.status} {exc.code}", exc.message)
    except ConfigError as exc:
        _done(current, "unavailable", "configuration", str(exc))
    except Exception as exc:  # noqa: BLE001 - a task nobody awaits must record its failure, not lose it
        _done(current, "failed", type(exc).__name__, f"{type(exc).__name__} while reading the model list")


def _done(current: ModelListState, outcome: str, detail: str = "", message: str = "") -> None:
    """Record a read's outcome; the first failure after a success (or ever) is logged, with OCI's message."""
    current.outcome, current.detail, current.read_at = outcome, detail, time.time()
    if outcome == "ok":
        logs.log_event("model_list", logging.INFO, outcome=outcome, models=len(current.models or {}),
                       discovery=current.discovery)
        current.warned = False
    elif not current.warned:
        current.warned = True
        logs.log_event("model_list_unavailable", logging.WARNING, outcome=outcome, detail=message[:500],
                       using="the built-in model table")


def current_facts(target: ResolvedModel, *, today: str | None = None) -> ResolvedModel:
    """``target`` with OCI's listed lifecycle on top of the table's (no I/O: the last read, if any).

    A model the list says is retired for the target's serving mode is a 404 naming its replacement,
    as for the table's retired models; OCI is not called.
    """
    listed = (state().models or {}).get(target.model_id)
    if listed is None:
        return target
    from core.listed_models import overlay

    info = overlay(target.info, listed)
    today = today or aliases.today_utc()
    dedicated = target.serving_mode == DEDICATED
    if catalog.dedicated_retired(info, today) if dedicated else catalog.on_demand_retired(info, today):
        raise aliases.retired_error(target.name, info, dedicated=dedicated)
    return replace(target, info=info)


def health_facts() -> dict[str, Any]:
    """What ``/health`` says about the list: where ``/v1/models`` comes from and the last read's outcome."""
    current = state()
    facts: dict[str, Any] = {"source": "oci" if current.models is not None else "table", "outcome": current.outcome}
    if current.models is not None:
        facts["models"] = len(current.models)
        facts["discovery"] = current.discovery
    if current.read_at is not None:
        facts["age_seconds"] = int(time.time() - current.read_at)
    if current.outcome not in ("ok", "not_read", "disabled"):
        facts["detail"] = current.detail
    return facts

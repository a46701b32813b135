"""The headers a model answer carries besides the body: the gateway's ``x-gateway-*`` and OCI's own.

* ``x-gateway-dropped-params``: the OpenAI parameters removed before OCI was called, comma-separated.
* ``x-gateway-model-retirement``: ``<date>; replacement=<id>`` while a model's retirement is announced
  (a WARNING log line says the same, once per model per process).
* ``model-retirement-info`` and ``x-genai-selected-region``: passed back exactly as OCI sent them.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping

from core import aliases, logs, runtime
from core.aliases import DEDICATED, ResolvedModel
from core.catalog import retirement_notice

DROPPED_PARAMS = "x-gateway-dropped-params"
MODEL_RETIREMENT = "x-gateway-model-retirement"
PASSED_BACK = ("model-retirement-info", "x-genai-selected-region")
"""OCI response headers a caller may act on, copied unchanged (no captured value format exists for the first)."""


def model_headers(target: ResolvedModel, upstream: Mapping[str, str] | None = None, *,
                  dropped: Iterable[str] = (), today: str | None = None) -> dict[str, str]:
    """The headers for an answer from ``target``: dropped parameters, retirement notice, OCI's passed-back ones."""
    headers: dict[str, str] = {}
    dropped = list(dict.fromkeys(dropped))
    if dropped:
        headers[DROPPED_PARAMS] = ", ".join(dropped)
    notice = retirement_notice(target.info, dedicated=target.serving_mode == DEDICATED, today=today or aliases.today_utc())
    if notice is not None:
        headers[MODEL_RETIREMENT] = notice
        _warn_once(target, notice)
    for name in PASSED_BACK:
        value = (upstream or {}).get(name)
        if value:
            headers[name] = value
    return headers


def _warn_once(target: ResolvedModel, notice: str) -> None:
    warned: set[str] = runtime.memo(("retirement_warned",), set)
    if target.upstream_key in warned:
        return
    warned.add(target.upstream_key)
    logs.log_event("model_retirement", logging.WARNING, model=target.model_id, serving_mode=target.serving_mode,
                   retirement=notice)

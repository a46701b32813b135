"""Which OCI model (and how it is served) a public model name means.

Clients such as LlamaIndex insist on OpenAI model names (``text-embedding-3-small``,
``gpt-4o``), and dedicated AI clusters are addressed by an endpoint OCID nobody wants in
client code. The operator therefore declares *aliases*: a public name mapped to a
catalog model id, a serving mode (on-demand, or dedicated with an endpoint OCID), an
optional region and compartment, and default request parameters.

Aliases come from a JSON file shipped with the function (``MODEL_ALIASES_FILE``) and/or a
function configuration value (``MODEL_ALIASES``, which wins per name); :func:`core.runtime.aliases`
reads them once per process. This module is pure: it parses and resolves, with no I/O.

:func:`resolve` is shared by every route (chat, embeddings, models) so that a name means
the same thing everywhere.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any, Mapping

from core import catalog
from core.catalog import CATALOG, FORMER_IDS, RETIRED_ID, FormerId, ModelInfo
from core.errors import ConfigError, invalid_request, model_not_found, not_found
from core.guardrails.policy import GuardrailPolicy, parse_policy
from core.regions import normalize_region
from core.settings import Settings

ON_DEMAND = "ON_DEMAND"
DEDICATED = "DEDICATED"
SERVING_MODES = (ON_DEMAND, DEDICATED)

_ALIAS_KEYS = frozenset({"model", "serving_mode", "endpoint", "region", "compartment", "params", "description",
                         "hidden", "guardrails", "responses"})
BRIDGE = "bridge"
NATIVE = "native"
NATIVE_RESPONSES_VENDORS = frozenset({"openai", "xai", "google"})
"""Vendors OCI's own Responses API (``/openai/v1/responses``) serves; never Meta or Cohere."""
DEDICATED_ENDPOINT = re.compile(r"^ocid1\.generativeaiendpoint\.[a-z0-9]+\.[a-z0-9-]*\.[A-Za-z0-9._-]+$")
"""A dedicated endpoint OCID used directly as the model name (its model is unknown to the gateway)."""
ROUTING_PROFILE = re.compile(r"^ocid1\.generativeairoutingprofile\.[a-z0-9]+\.[a-z0-9-]*\.[A-Za-z0-9._-]+$")
"""An OCI routing-profile OCID (the smart router): sent as the on-demand model id, OCI picks the region."""
KNOWN_VENDORS = frozenset({"meta", "xai", "cohere", "google", "openai"})
"""Vendors whose unlisted ``vendor.model`` ids are passed through (new OCI models work on day one)."""


@dataclass(frozen=True)
class Alias:
    """One operator-declared public name."""

    name: str
    model: str
    serving_mode: str = ON_DEMAND
    endpoint: str | None = None
    region: str | None = None
    compartment: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    hidden: bool = False
    """Served but not listed in ``/v1/models``."""
    guardrails: GuardrailPolicy | None = None
    """Guardrail modes for calls to this alias (the strictest of this, the deployment's and the key's applies)."""
    responses: str = BRIDGE
    """How ``/v1/responses`` answers this alias: ``bridge`` (the chat core) or ``native`` (OCI's own API)."""


@dataclass(frozen=True)
class ResolvedModel:
    """What a request's ``model`` means: the OCI model, how to reach it, and the alias defaults."""

    name: str
    """The public name the caller used (echoed back as the response's ``model``)."""
    model_id: str
    """The OCI model id (catalog key) whose capabilities apply."""
    info: ModelInfo
    serving_mode: str = ON_DEMAND
    endpoint_id: str | None = None
    region: str | None = None
    compartment_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    alias: Alias | None = None

    @property
    def known(self) -> bool:
        """Pass as ``known_model`` to the client: OCI's 404 then means IAM trouble, not a missing model."""
        return self.info.known or self.alias is not None

    @property
    def routed(self) -> bool:
        """A routing profile: OCI chooses the region (and says which in ``x-genai-selected-region``)."""
        return bool(ROUTING_PROFILE.match(self.model_id))

    @property
    def opaque(self) -> bool:
        """A raw dedicated endpoint OCID or a routing profile: what serves it is unknown, so OCI judges."""
        return (self.alias is None and self.serving_mode == DEDICATED) or self.routed

    @property
    def upstream_key(self) -> str:
        """What OCI serves this under: the endpoint OCID when dedicated, else the model id (or routing profile)."""
        return self.endpoint_id if self.serving_mode == DEDICATED and self.endpoint_id else self.model_id

    def serving_mode_body(self) -> dict[str, str]:
        """The ``servingMode`` object of an OCI inference request."""
        if self.serving_mode == DEDICATED:
            return {"servingType": DEDICATED, "endpointId": self.endpoint_id or ""}
        return {"servingType": ON_DEMAND, "modelId": self.model_id}

    def with_defaults(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The OpenAI request body with the alias's default parameters filled in where the caller set none."""
        merged = dict(body)
        for key, value in self.params.items():
            if merged.get(key) is None:
                merged[key] = value
        return merged

    @property
    def responses(self) -> str:
        """``native`` when the alias sends ``/v1/responses`` to OCI's own Responses API, else ``bridge``."""
        return self.alias.responses if self.alias is not None else BRIDGE

    def require_kind(self, kind: str) -> None:
        """400 when the model cannot do what the route asks (a chat model on /v1/embeddings, or the reverse)."""
        if self.info.kind != kind and not self.opaque:
            raise invalid_request(
                f"The model '{self.name}' is {'an' if self.info.kind == catalog.EMBEDDING else 'a'} "
                f"{self.info.kind} model and cannot serve this request; use it with {catalog.ROUTES[self.info.kind]}.",
                param="model", code="model_not_supported",
            )

    def require_chat_completions(self) -> None:
        """:meth:`require_kind` for chat, and a 400 for a model OCI serves through its Responses API only."""
        self.require_kind(catalog.CHAT)
        if self.info.responses_only:
            raise invalid_request(
                f"The model '{self.name}' is served by OCI Generative AI through the Responses API only; use it with "
                "/v1/responses.", param="model", code="model_not_supported")


# ---------------------------------------------------------------------------------------------
# Parsing (pure)


def parse_aliases(data: Any, source: str) -> dict[str, Alias]:
    """Validate an alias table; ``source`` (the setting name) is named in every :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object mapping alias names to models")
    table: dict[str, Alias] = {}
    for name, entry in data.items():
        if not name or not name.strip() or "/" in name:
            raise ConfigError(f"{source}: alias name {name!r} must be non-empty and contain no '/'")
        table[name] = _parse_alias(name, entry, source)
    return table


def _parse_alias(name: str, entry: Any, source: str) -> Alias:
    where = f"{source}: alias {name!r}"
    entry = _entry_object(entry, where)
    model = entry.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"{where} needs 'model', the OCI model id whose capabilities apply")
    for key in ("endpoint", "region", "compartment", "description"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise ConfigError(f"{where}: '{key}' must be a string")
    endpoint = entry.get("endpoint")
    mode = _serving_mode(entry.get("serving_mode", DEDICATED if endpoint else ON_DEMAND), endpoint, where)
    params = _default_params(entry.get("params", {}), where)
    hidden = entry.get("hidden", False)
    if not isinstance(hidden, bool):
        raise ConfigError(f"{where}: 'hidden' must be true or false")
    region = entry.get("region")
    return Alias(name=name, model=model.strip(), serving_mode=mode, endpoint=endpoint,
                 region=normalize_region(region) if region is not None else None,
                 compartment=entry.get("compartment"), params=MappingProxyType(params),
                 description=entry.get("description") or "", hidden=hidden,
                 guardrails=parse_policy(entry["guardrails"], where) if entry.get("guardrails") is not None else None,
                 responses=_responses_mode(entry.get("responses", BRIDGE), model.strip(), mode, where))


def _entry_object(entry: Any, where: str) -> dict[str, Any]:
    """An alias entry as an object (a bare string is the model id) with only known keys."""
    if isinstance(entry, str):
        entry = {"model": entry}
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a model id string or an object")
    unknown = set(entry) - _ALIAS_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(_ALIAS_KEYS)}")
    return entry


def _serving_mode(mode: Any, endpoint: str | None, where: str) -> str:
    """ON_DEMAND or DEDICATED, consistent with whether an endpoint OCID is given."""
    if not isinstance(mode, str) or mode.upper() not in SERVING_MODES:
        raise ConfigError(f"{where}: 'serving_mode' must be ON_DEMAND or DEDICATED")
    mode = mode.upper()
    if mode == DEDICATED and not endpoint:
        raise ConfigError(f"{where}: serving_mode DEDICATED needs 'endpoint' (the endpoint OCID)")
    if mode == ON_DEMAND and endpoint:
        raise ConfigError(f"{where}: 'endpoint' is only meaningful with serving_mode DEDICATED")
    return mode


def _responses_mode(value: Any, model: str, mode: str, where: str) -> str:
    """``bridge``, or ``native`` for an on-demand model OCI's own Responses API serves."""
    if value not in (BRIDGE, NATIVE):
        raise ConfigError(f"{where}: 'responses' must be 'bridge' or 'native'")
    if value == NATIVE and model.partition(".")[0] not in NATIVE_RESPONSES_VENDORS:
        raise ConfigError(f"{where}: OCI's Responses API serves OpenAI, xAI and Google models only; use "
                          "'responses': 'bridge' for this model")
    if value == NATIVE and mode != ON_DEMAND:
        raise ConfigError(f"{where}: 'responses': 'native' is for on-demand models (whether OCI's Responses API "
                          "serves dedicated endpoints is not established); use 'bridge'")
    return str(value)


def _default_params(params: Any, where: str) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: 'params' must be an object of default request parameters")
    if "model" in params:
        raise ConfigError(f"{where}: 'params' must not set 'model'")
    return dict(params)


def served_patterns(settings: Settings) -> tuple[str, ...]:
    """``SERVED_MODELS`` as a tuple of globs (empty: everything)."""
    raw = settings.served_models or ""
    return tuple(p.strip() for p in raw.split(",") if p.strip())


def is_served(model_id: str, patterns: tuple[str, ...]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(model_id, p) for p in patterns)


# ---------------------------------------------------------------------------------------------
# Resolution


def today_utc() -> str:
    """Today's date in UTC, ISO formatted (the catalog's lifecycle dates are compared with it)."""
    return datetime.now(timezone.utc).date().isoformat()


def resolve(name: str, settings: Settings, table: Mapping[str, Alias], *, today: str | None = None) -> ResolvedModel:
    """What ``name`` means in this deployment (on ``today``, an ISO date; default: today in UTC).

    Order: an alias; an id the catalog once used (a renamed id resolves as its new id, under the
    caller's name; a retired one is a 404 naming its replacement); a catalog model allowed by
    ``SERVED_MODELS``; a dedicated endpoint OCID that ``SERVED_MODELS`` names or matches (e.g.
    ``ocid1.generativeaiendpoint.*``; DEDICATED, model unknown; never admitted when ``SERVED_MODELS`` is unset,
    as any endpoint the function's policy reaches would be billable by any caller); an unlisted
    ``vendor.model`` id of a known vendor (passed through, ``info.known`` False).
    Raises a 404 ``model_not_found`` for anything else, and for a model retired on demand (the
    message names its replacement; no call to OCI). Does not check the model's kind: call
    :meth:`ResolvedModel.require_kind`.
    """
    today = today or today_utc()
    alias = table.get(name)
    if alias is not None:
        return _resolve_alias(alias, today)
    former = FORMER_IDS.get(name)
    if former is not None:
        if former.case == RETIRED_ID:
            raise _retired_former(name, former)
        return replace(resolve(former.target, settings, table, today=today), name=name)
    patterns = served_patterns(settings)
    info = CATALOG.get(name)
    if info is not None:
        if not is_served(name, patterns):
            raise model_not_found(name)
        if catalog.on_demand_retired(info, today):
            raise retired_error(name, info)
        return ResolvedModel(name=name, model_id=name, info=info)
    if DEDICATED_ENDPOINT.match(name):
        return _raw_endpoint(name, patterns)
    vendor, dot, rest = name.partition(".")
    if dot and rest and vendor in KNOWN_VENDORS and is_served(name, patterns) and name == name.strip():
        return ResolvedModel(name=name, model_id=name, info=catalog.lookup(name))
    raise model_not_found(name)


def _raw_endpoint(name: str, patterns: tuple[str, ...]) -> ResolvedModel:
    """A dedicated endpoint OCID the caller named directly: served only when ``SERVED_MODELS`` matches it."""
    if not patterns or not is_served(name, patterns):
        raise model_not_found(name)
    info = replace(catalog.lookup("unknown.dedicated"), id=name)
    return ResolvedModel(name=name, model_id=name, info=info, serving_mode=DEDICATED, endpoint_id=name)


def _resolve_alias(alias: Alias, today: str) -> ResolvedModel:
    """An operator alias: its model (renamed ids followed), unless retired for its serving mode on ``today``."""
    if ROUTING_PROFILE.match(alias.model):
        info = replace(catalog.lookup("unknown.routed"), id=alias.model)
        model_id = alias.model
    else:
        former = FORMER_IDS.get(alias.model)
        if former is not None and former.case == RETIRED_ID and alias.serving_mode == ON_DEMAND:
            raise _retired_former(alias.name, former)
        model_id = catalog.current_id(alias.model)
        info = catalog.lookup(model_id)
        # A dedicated cluster keeps serving a model until its (later) dedicated retirement date.
        if catalog.on_demand_retired(info, today) if alias.serving_mode == ON_DEMAND else \
                catalog.dedicated_retired(info, today):
            raise retired_error(alias.name, info, dedicated=alias.serving_mode == DEDICATED)
    return ResolvedModel(name=alias.name, model_id=model_id, info=info, serving_mode=alias.serving_mode,
                         endpoint_id=alias.endpoint, region=alias.region, compartment_id=alias.compartment,
                         params=alias.params, alias=alias)


def retired_error(name: str, info: ModelInfo, *, dedicated: bool = False) -> Exception:
    """The 404 for a model retired (on demand, or on dedicated clusters) that names its replacement."""
    when = info.dedicated_retired_on if dedicated else info.retired_on
    on = f" on {when}" if when else ""
    hint = f" Use '{info.replacement}' instead." if info.replacement else ""
    return not_found(f"The model '{name}' was retired by OCI Generative AI{on} and is no longer served.{hint}",
                     code="model_not_found", param="model")


def _retired_former(name: str, former: FormerId) -> Exception:
    return not_found(f"The model '{name}' is no longer served by OCI Generative AI. Use '{former.target}' instead.",
                     code="model_not_found", param="model")


def listed_models(settings: Settings, table: Mapping[str, Alias], *,
                  today: str | None = None) -> list[tuple[str, ModelInfo, Alias | None]]:
    """What ``/v1/models`` shows: served catalog models not retired on ``today``, then visible aliases."""
    today = today or today_utc()
    patterns = served_patterns(settings)
    rows: list[tuple[str, ModelInfo, Alias | None]] = [
        (m.id, m, None) for m in CATALOG.values()
        if not m.dedicated_only and not catalog.on_demand_retired(m, today) and is_served(m.id, patterns)
        and m.id not in table
    ]
    for alias in table.values():
        if not alias.hidden:
            model_id = alias.model if ROUTING_PROFILE.match(alias.model) else catalog.current_id(alias.model)
            rows.append((alias.name, catalog.lookup(model_id), alias))
    return rows

"""OCI's model list, read into the catalog's terms, and merged with the catalog for ``/v1/models`` (pure).

OCI's ``ListModels`` says which models a region has, when each was created and its lifecycle dates;
``ListModelDiscovery`` adds, per region, whether a model is served on demand and what replaces it.
Neither says what the catalog knows (chat format, parameter rules, limits), so the two are merged:
the list decides which models exist and their dates, the catalog fills in the rest (a model it
does not know gets its vendor's defaults, as any unlisted id does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable, Mapping

from core import catalog
from core.aliases import Alias, ROUTING_PROFILE, is_served
from core.catalog import CATALOG, CHAT, EMBEDDING, ModelInfo

RERANK = "rerank"
KINDS = {"CHAT": CHAT, "TEXT_EMBEDDINGS": EMBEDDING, "TEXT_RERANK": RERANK}
"""OCI capabilities ``/v1/models`` shows, and the model type each one is; other capabilities are left out."""


@dataclass(frozen=True)
class ListedModel:
    """One base model as OCI lists it in this region."""

    name: str
    """OCI's ``displayName``: the id inference requests use (``cohere.command-a-03-2025``)."""
    kind: str
    vendor: str = ""
    created: int = 0
    """``timeCreated`` in Unix seconds."""
    deprecated_on: str | None = None
    retired_on: str | None = None
    dedicated_retired_on: str | None = None
    on_demand: bool | None = None
    """From ``ListModelDiscovery``: served on demand in this region (None: not said)."""
    replacements: tuple[str, ...] = ()


def _iso_date(value: Any) -> str | None:
    """``2026-10-21T00:00:00.000Z`` -> ``2026-10-21`` (None for anything else)."""
    return value[:10] if isinstance(value, str) and len(value) >= 10 and value[4] == "-" else None


def _unix(value: Any) -> int:
    if not isinstance(value, str):
        return 0
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _kind(capabilities: Any) -> str | None:
    found = [KINDS[c] for c in capabilities or () if c in KINDS]
    return found[0] if found else None


def parse_models(summaries: Iterable[Mapping[str, Any]], discovery: Iterable[Mapping[str, Any]] = (),
                 region: str | None = None) -> dict[str, ListedModel]:
    """The ACTIVE base models with a capability ``/v1/models`` shows, by name, with discovery facts merged.

    Fine-tuned models (``type: CUSTOM``) are served only through their dedicated endpoints, so they are
    left out like models in any other state.
    """
    listed: dict[str, ListedModel] = {}
    for item in summaries:
        name, kind = item.get("displayName"), _kind(item.get("capabilities"))
        if not isinstance(name, str) or kind is None or item.get("lifecycleState") != "ACTIVE":
            continue
        if item.get("type", "BASE") != "BASE":
            continue
        listed[name] = ListedModel(
            name=name, kind=kind, vendor=str(item.get("vendor") or name.split(".", 1)[0]),
            created=_unix(item.get("timeCreated")), deprecated_on=_iso_date(item.get("timeDeprecated")),
            retired_on=_iso_date(item.get("timeOnDemandRetired")),
            dedicated_retired_on=_iso_date(item.get("timeDedicatedRetired")))
    for item in discovery:
        model = listed.get(str(item.get("modelId")))
        availability = _availability(item, region)
        if model is not None and availability is not None:
            listed[model.name] = _with_availability(model, availability)
    return listed


def _availability(item: Mapping[str, Any], region: str | None) -> Mapping[str, Any] | None:
    """The discovery item's availability entry for ``region`` (its only entry when no region is given)."""
    entries = [a for a in item.get("availability") or () if isinstance(a, dict)]
    matching = [a for a in entries if region is None or a.get("region") == region]
    return matching[0] if matching else None


def _with_availability(model: ListedModel, availability: Mapping[str, Any]) -> ListedModel:
    modes = availability.get("servingModes")
    replacements = tuple(r for r in availability.get("supportedReplacements") or () if isinstance(r, str))
    return replace(
        model,
        on_demand="ON_DEMAND" in modes if isinstance(modes, list) else None,
        deprecated_on=_iso_date(availability.get("timeDeprecated")) or model.deprecated_on,
        retired_on=_iso_date(availability.get("timeOnDemandRetired")) or model.retired_on,
        dedicated_retired_on=_iso_date(availability.get("timeDedicatedRetired")) or model.dedicated_retired_on,
        replacements=replacements or model.replacements,
    )


def overlay(info: ModelInfo, listed: ListedModel | None) -> ModelInfo:
    """The catalog's facts with OCI's lifecycle dates (and replacement, when the catalog has none) on top."""
    if listed is None:
        return info
    return replace(
        info,
        deprecated_on=listed.deprecated_on or info.deprecated_on,
        retired_on=listed.retired_on or info.retired_on,
        dedicated_retired_on=listed.dedicated_retired_on or info.dedicated_retired_on,
        replacement=info.replacement or (listed.replacements[0] if listed.replacements else None),
    )


def listed_info(listed: ListedModel) -> ModelInfo:
    """What the gateway knows of a listed model: the catalog's entry (or its vendor's defaults) with OCI's dates."""
    info = catalog.lookup(listed.name)
    if not info.known:
        info = replace(info, vendor=listed.vendor or info.vendor, kind=listed.kind)
    return overlay(info, listed)


def _order(name: str) -> tuple[int, str]:
    """Catalog models first, in the catalog's order, then the others by name."""
    positions = {model_id: i for i, model_id in enumerate(CATALOG)}
    return positions.get(name, len(positions)), name


Row = tuple[str, ModelInfo, "Alias | None", "ListedModel | None"]


def merged_rows(listed: Mapping[str, ListedModel], patterns: tuple[str, ...], table: Mapping[str, Alias],
                today: str) -> list[Row]:
    """``/v1/models`` when OCI's list was read: the models it lists (served, on demand, not retired on
    ``today``), then the visible aliases with the list's facts for their model."""
    rows: list[Row] = []
    for name in sorted(listed, key=_order):
        model = listed[name]
        info = listed_info(model)
        if (name in table or not is_served(name, patterns) or model.on_demand is False
                or catalog.on_demand_retired(info, today)):
            continue
        rows.append((name, info, None, model))
    for alias in table.values():
        if alias.hidden:
            continue
        model_id = alias.model if ROUTING_PROFILE.match(alias.model) else catalog.current_id(alias.model)
        found = listed.get(model_id)
        rows.append((alias.name, overlay(catalog.lookup(model_id), found), alias, found))
    return rows

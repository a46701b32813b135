"""What this deployment serves: the service behind ``GET /v1/models[/{id}]``.

When OCI's model list can be read (:mod:`core.model_list`, cached per container), it decides which
models the region has and their dates; the built-in catalog fills in what the list does not say and
stands in when the list cannot be read. ``SERVED_MODELS`` filters both, and the operator's aliases
follow. OpenAI's fields (``id``, ``object``, ``created``, ``owned_by``) come first; the extra fields
(``docs/api.md``) let model pickers and scripts tell chat from embedding models, vision, sizes,
parameters and lifecycle.
"""

from __future__ import annotations

from typing import Any

from core import aliases, model_list, runtime
from core.aliases import BRIDGE, Alias
from core.catalog import (CATALOG, CHAT, DEPRECATED, EMBEDDING, FORMER_IDS, RERANK, ModelInfo, on_demand_retired,
                          status_on)
from core.chat.param_rules import rule_for
from core.errors import model_not_found
from core.listed_models import ListedModel, listed_info, merged_rows
from core.policy import KeyPolicy

CREATED = 0
"""The catalog has no creation time; 0 keeps the field an integer as clients expect (OCI's list has one)."""


def model_object(name: str, info: ModelInfo, alias: Alias | None = None, listed: ListedModel | None = None, *,
                 today: str | None = None) -> dict[str, Any]:
    """One model in OpenAI's shape plus capability and lifecycle fields (pure)."""
    status = status_on(info, today or aliases.today_utc())
    obj: dict[str, Any] = {"id": name, "object": "model", "created": listed.created if listed else CREATED,
                           "owned_by": info.owned_by, "type": info.kind, "status": status,
                           "source": "oci" if listed is not None else "catalog"}
    if status == DEPRECATED:
        obj.update({k: v for k, v in (("retires_on", info.retired_on), ("replacement", info.replacement)) if v})
    if listed is not None and listed.on_demand is not None:
        obj["on_demand"] = listed.on_demand
    obj.update(_capabilities(info))
    if info.kind == CHAT:  # how /v1/responses serves it: OCI's own API ("native") or through the chat core
        obj["capabilities"]["responses"] = alias.responses if alias is not None else BRIDGE
    if alias is not None:
        obj.update(_alias_fields(alias))
    return obj


def _capabilities(info: ModelInfo) -> dict[str, Any]:
    if info.kind == CHAT:
        efforts = rule_for(info).efforts
        fields: dict[str, Any] = {"capabilities": {
            "vision": info.vision, "tools": info.tools, "reasoning": info.reasoning, "json_schema": info.json_schema,
            "reasoning_effort": None if efforts is None else [e.lower() for e in efforts]}}
        if info.context_window:
            fields["context_window"] = info.context_window
        fields["max_output_tokens"] = info.max_output_tokens
        if info.responses_only:
            fields["responses_only"] = True
        return fields
    if info.kind == EMBEDDING:
        fields = {"capabilities": {"image_input": info.image_input}, "dimensions": info.dimensions,
                  "output_dimensions": list(info.output_dimensions)}
        if info.default_input_type:
            fields["default_input_type"] = info.default_input_type.lower()
        return fields
    if info.kind == RERANK:
        return {"capabilities": {"rerank": True}, "context_window": info.context_window}
    return {}


def _alias_fields(alias: Alias) -> dict[str, Any]:
    fields: dict[str, Any] = {"alias_for": alias.model, "serving_mode": alias.serving_mode.lower()}
    if aliases.ROUTING_PROFILE.match(alias.model):
        fields["alias_for"] = "routing profile"  # an OCID: not shown
    if alias.region:
        fields["region"] = alias.region
    if alias.description:
        fields["description"] = alias.description
    if alias.params:
        fields["default_params"] = dict(alias.params)
    return fields


async def list_models(policy: KeyPolicy | None = None, *, deadline: float | None = None) -> dict[str, Any]:
    """Every served model, or only those the caller's API key may use."""
    settings = runtime.settings()
    table = runtime.aliases(settings)
    listing = await model_list.refresh(deadline=deadline)
    today = aliases.today_utc()
    if listing.models is not None:
        rows = merged_rows(listing.models, aliases.served_patterns(settings), table, today)
    else:
        rows = [(name, info, alias, None) for name, info, alias in aliases.listed_models(settings, table, today=today)]
    return {"object": "list", "data": [
        model_object(name, info, alias, listed, today=today) for name, info, alias, listed in rows
        if policy is None or policy.allows(name)]}


async def get_model(model_id: str, policy: KeyPolicy | None = None, *, deadline: float | None = None
                    ) -> dict[str, Any]:
    """One served model; a retired one is a 404 that names its replacement (via :func:`aliases.resolve`).

    A model outside the caller's allow-list is a 404 too, so a key cannot discover other models.
    """
    settings = runtime.settings()
    table = runtime.aliases(settings)
    if policy is not None and not policy.allows(model_id):
        raise model_not_found(model_id)
    listed = (await model_list.refresh(deadline=deadline)).models or {}
    if model_id not in table and model_id not in CATALOG and model_id not in FORMER_IDS:
        found = listed.get(model_id)  # OCI lists it, the catalog does not know it
        if found is None or not aliases.is_served(model_id, aliases.served_patterns(settings)):
            raise model_not_found(model_id)  # unlisted pass-through ids are served but not described
        info = listed_info(found)
        if on_demand_retired(info, aliases.today_utc()):
            raise aliases.retired_error(model_id, info)
        return model_object(model_id, info, None, found)
    resolved = model_list.current_facts(aliases.resolve(model_id, settings, table))  # retired: a 404 here too
    return model_object(model_id, resolved.info, table.get(model_id), listed.get(resolved.model_id))

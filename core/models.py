"""What this deployment serves, from the catalog and aliases: the service behind ``GET /v1/models[/{id}]``.

No network call, ever: the list is the built-in catalog filtered by ``SERVED_MODELS``
plus the operator's aliases (read once per process). OpenAI's fields (``id``,
``object``, ``created``, ``owned_by``) come first; the extra capability fields let
model pickers and scripts tell chat from embedding models, vision, sizes and lifecycle.
"""

from __future__ import annotations

from typing import Any

from core import aliases, runtime
from core.aliases import BRIDGE, Alias
from core.catalog import CATALOG, CHAT, DEPRECATED, RERANK, ModelInfo
from core.errors import model_not_found
from core.policy import KeyPolicy

CREATED = 0
"""OCI publishes no creation time per model; 0 keeps the field an integer as clients expect."""


def model_object(name: str, info: ModelInfo, alias: Alias | None = None) -> dict[str, Any]:
    """One model in OpenAI's shape plus capability fields (pure)."""
    obj: dict[str, Any] = {"id": name, "object": "model", "created": CREATED, "owned_by": info.owned_by,
                           "type": info.kind, "status": info.status}
    if info.status == DEPRECATED and info.replacement:
        obj["replacement"] = info.replacement
    if info.kind == CHAT:
        obj["capabilities"] = {"vision": info.vision, "tools": info.tools, "reasoning": info.reasoning,
                               "json_schema": info.json_schema,
                               "responses": alias.responses if alias is not None else BRIDGE}
        if info.context_window:
            obj["context_window"] = info.context_window
        obj["max_output_tokens"] = info.max_output_tokens
    elif info.kind == RERANK:
        obj["capabilities"] = {"rerank": True}
        obj["context_window"] = info.context_window
    else:
        obj["capabilities"] = {"image_input": info.image_input}
        obj["dimensions"] = info.dimensions
        obj["output_dimensions"] = list(info.output_dimensions)
        if info.default_input_type:
            obj["default_input_type"] = info.default_input_type.lower()
    if alias is not None:
        obj["alias_for"] = alias.model
        obj["serving_mode"] = alias.serving_mode.lower()
        if alias.region:
            obj["region"] = alias.region
        if alias.description:
            obj["description"] = alias.description
        if alias.params:
            obj["default_params"] = dict(alias.params)
    return obj


def list_models(policy: KeyPolicy | None = None) -> dict[str, Any]:
    """Every served model, or only those the caller's API key may use."""
    settings = runtime.settings()
    rows = aliases.listed_models(settings, runtime.aliases(settings))
    return {"object": "list", "data": [model_object(name, info, alias) for name, info, alias in rows
                                       if policy is None or policy.allows(name)]}


def get_model(model_id: str, policy: KeyPolicy | None = None) -> dict[str, Any]:
    """One served model; a retired one is a 404 that names its replacement (via :func:`aliases.resolve`).

    A model outside the caller's allow-list is a 404 too, so a key cannot discover other models.
    """
    settings = runtime.settings()
    table = runtime.aliases(settings)
    if policy is not None and not policy.allows(model_id):
        raise model_not_found(model_id)
    if model_id in table:
        alias = table[model_id]
        resolved = aliases.resolve(model_id, settings, table)  # a retired on-demand target is a 404 here too
        return model_object(model_id, resolved.info, alias)
    if model_id not in CATALOG:  # unlisted pass-through ids are served but not described
        raise model_not_found(model_id)
    return model_object(model_id, aliases.resolve(model_id, settings, table).info)

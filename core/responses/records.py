"""What a stored response is: one JSON object per response, owned by the API key that created it.

Pure. A bridged response is kept whole: the response object and the full resolved input (the stored
conversation it continued, then its own input), so continuing it with ``previous_response_id`` is one read. A
response answered by OCI's own Responses API is kept as its owner and where it lives (OCI holds the rest).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from core.aliases import BRIDGE, NATIVE
from core.errors import invalid_request, not_found
from core.responses.output import new_id

VERSION = 1
PREFIX = "responses/"
RESPONSE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_ITEM_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "custom_tool_call": "ctc",
                  "custom_tool_call_output": "ctco", "local_shell_call": "lsc", "local_shell_call_output": "lsco",
                  "reasoning": "rs"}
_TEXT_PART = {"assistant": "output_text"}


def object_name(response_id: str) -> str:
    return f"{PREFIX}{response_id}.json"


def bridged_record(response: Mapping[str, Any], history: list[dict[str, Any]], new_input: list[dict[str, Any]],
                   owner: str | None) -> dict[str, Any]:
    """A bridged response with everything a continuation needs: the conversation before it, its input, output."""
    return {"version": VERSION, "kind": BRIDGE, "id": response["id"], "owner": owner, "response": dict(response),
            "input": [*history, *new_input], "input_start": len(history)}


def native_record(response_id: str, owner: str | None, model: str, region: str | None,
                  alias: str | None = None) -> dict[str, Any]:
    """A response OCI keeps: who may read or delete it through the gateway, where to forward, and the name it was
    asked for by (whose alias's guardrails screen what it is read back as)."""
    return {"version": VERSION, "kind": NATIVE, "id": response_id, "owner": owner, "model": model, "region": region,
            "alias": alias}


def owned(record: Any, owner: str | None) -> bool:
    """Whether ``record`` is a stored response of ``owner`` (the key id; None for callers without a key)."""
    return isinstance(record, dict) and record.get("version") == VERSION and record.get("owner") == owner


def history(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The conversation a continuation starts from: the stored input, then the stored output."""
    return [*record.get("input", ()), *(record.get("response") or {}).get("output", ())]


def input_items(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A request's ``input`` as items with ids and typed content parts, the way ``input_items`` lists them."""
    raw = data.get("input")
    items = [{"type": "message", "role": "user", "content": raw}] if isinstance(raw, str) else list(raw or ())
    return [_listed(item) for item in items if isinstance(item, dict)]


def _listed(item: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("type") or "message"
    listed = {"id": item.get("id") or new_id(_ITEM_PREFIXES.get(kind, "item")), **item, "type": kind}
    if kind == "message" and isinstance(item.get("content"), str):
        part = _TEXT_PART.get(str(item.get("role")), "input_text")
        listed["content"] = [{"type": part, "text": item["content"]}]
    return listed


def checked_id(response_id: str, param: str | None = None) -> str:
    """A response id that can name an object; anything else cannot exist here (404, or 400 for a parameter)."""
    if RESPONSE_ID.match(response_id):
        return response_id
    if param:
        raise invalid_request(f"Invalid '{param}': {response_id[:80]!r} is not a response id.", param=param,
                              code="invalid_value")
    raise response_not_found(response_id)


def response_not_found(response_id: str) -> Exception:
    return not_found(f"No response with id '{response_id[:80]}' was found.", code="response_not_found")


def previous_not_found(response_id: str) -> Exception:
    return invalid_request(f"Previous response with id '{response_id[:80]}' not found.", param="previous_response_id",
                           code="previous_response_not_found")


def input_item_page(record: Mapping[str, Any], *, limit: int, order: str, after: str | None) -> dict[str, Any]:
    """A page of a stored response's own input items (``GET /v1/responses/{id}/input_items``)."""
    items = list(record.get("input", ()))[int(record.get("input_start") or 0):]
    if order == "desc":
        items.reverse()
    if after is not None:
        ids = [item.get("id") for item in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    page = items[:limit]
    return {"object": "list", "data": page, "first_id": page[0].get("id") if page else None,
            "last_id": page[-1].get("id") if page else None, "has_more": len(items) > limit}

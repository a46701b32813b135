"""Make caller JSON schemas acceptable to OCI.

Pydantic and LangChain's ``with_structured_output`` emit ``$ref``/``$defs``, ``anyOf``
with ``null`` for optional fields, ``allOf`` wrappers and ``title``s. OCI's GENERIC
format rejects ``$ref``/``$defs``/``anyOf`` forms with "Invalid function schema", so
schemas are rewritten into the plain subset: references inlined (cycles cut to a plain
object), optional unions collapsed to their non-null member, single-member ``allOf``
merged, titles dropped, every array given ``items``. Unions of two real types cannot be
expressed: :class:`SchemaError` says where, and the caller answers a 400.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 40
_DROP = frozenset({"title", "$schema", "$id", "$comment", "examples", "discriminator"})
_DEFINITIONS = frozenset({"$defs", "definitions"})
# Keywords whose value is itself a schema (or a list of schemas) to simplify.
_SUBSCHEMA_KEYS = frozenset({"items", "additionalProperties", "not", "if", "then", "else", "contains"})


class SchemaError(ValueError):
    """The schema uses a construct OCI cannot take; ``path`` says where (``properties.a.anyOf``)."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(f"{message} at '{path or '<root>'}'")
        self.path = path


def _resolve_ref(ref: str, root: dict[str, Any], path: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise SchemaError(f"external $ref {ref!r} cannot be resolved", path)
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise SchemaError(f"$ref {ref!r} points nowhere", path)
        node = node[part]
    if not isinstance(node, dict):
        raise SchemaError(f"$ref {ref!r} is not a schema", path)
    return node


def _non_null(options: list[Any]) -> list[Any]:
    return [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]


def _walk(node: Any, root: dict[str, Any], path: str, seen: tuple[str, ...], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise SchemaError("schema nested too deeply", path)
    if isinstance(node, list):
        return [_walk(item, root, f"{path}[{i}]", seen, depth + 1) for i, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        return _inline_ref(node, root, path, seen, depth)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return _collapse_union(node, key, root, path, seen, depth)
    if "allOf" in node:
        node = _merge_all_of(node, root, path, seen, depth)
    _collapse_type_union(node, path)
    out = {key: _walk_keyword(key, value, root, path, seen, depth) for key, value in node.items()
           if not _dropped(key, value)}
    return _complete(out)


def _inline_ref(node: dict[str, Any], root: dict[str, Any], path: str, seen: tuple[str, ...],
                depth: int) -> dict[str, Any]:
    """The ``$ref`` target merged under the node's own keys; a reference already being inlined is a cycle."""
    ref = node.pop("$ref")
    if ref in seen:  # a recursive structure: cut the cycle
        return {"type": "object", **({"description": node["description"]} if "description" in node else {})}
    target = _resolve_ref(ref, root, path)
    merged = {**target, **node}
    return _walk(merged, root, path, seen + (ref,), depth + 1)


def _collapse_union(node: dict[str, Any], key: str, root: dict[str, Any], path: str, seen: tuple[str, ...],
                    depth: int) -> dict[str, Any]:
    """``anyOf``/``oneOf`` of one type and null as that type, with the node's other keys on top."""
    options = node.pop(key)
    if not isinstance(options, list):
        raise SchemaError(f"{key} must be an array", path)
    real = _non_null(options)
    if len(real) != 1:
        raise SchemaError(f"{key} with {len(real)} alternatives is not supported by OCI (only an optional "
                          "value, i.e. one type or null)", f"{path}.{key}")
    base = _walk(real[0], root, f"{path}.{key}[0]", seen, depth + 1)
    extras = {k: v for k, v in node.items() if k not in ("default",) or v is not None}
    return _walk({**base, **extras}, root, path, seen, depth + 1)


def _merge_all_of(node: dict[str, Any], root: dict[str, Any], path: str, seen: tuple[str, ...],
                  depth: int) -> dict[str, Any]:
    """The ``allOf`` members merged into one schema, under the node's own keys."""
    parts = node.pop("allOf")
    if not isinstance(parts, list):
        raise SchemaError("allOf must be an array", path)
    merged: dict[str, Any] = {}
    for i, part in enumerate(parts):
        resolved = _walk(part, root, f"{path}.allOf[{i}]", seen, depth + 1)
        if isinstance(resolved, dict):
            _merge_member(merged, resolved)
    return {**merged, **node}


def _merge_member(merged: dict[str, Any], member: dict[str, Any]) -> None:
    """Add one ``allOf`` member: properties and required lists accumulate, other keys are overwritten."""
    for k, v in member.items():
        if k == "properties" and isinstance(merged.get(k), dict):
            merged[k] = {**merged[k], **v}
        elif k == "required" and isinstance(merged.get(k), list):
            merged[k] = sorted(set(merged[k]) | set(v))
        else:
            merged[k] = v


def _collapse_type_union(node: dict[str, Any], path: str) -> None:
    """``"type": ["string", "null"]`` becomes ``"type": "string"``; two real types are an error."""
    if isinstance(node.get("type"), list):
        types = [t for t in node["type"] if t != "null"]
        if len(types) != 1:
            raise SchemaError(f"a type union {node['type']} is not supported by OCI", f"{path}.type")
        node["type"] = types[0]


def _dropped(key: str, value: Any) -> bool:
    """Keys OCI has no use for: titles and annotations, definitions (already inlined), a null default."""
    return key in _DROP or key in _DEFINITIONS or (key == "default" and value is None)


def _walk_keyword(key: str, value: Any, root: dict[str, Any], path: str, seen: tuple[str, ...], depth: int) -> Any:
    """A keyword's value, simplified where it holds sub-schemas and kept as it is otherwise."""
    if key == "properties" and isinstance(value, dict):
        return {name: _walk(sub, root, f"{path}.properties.{name}", seen, depth + 1) for name, sub in value.items()}
    if key in _SUBSCHEMA_KEYS and isinstance(value, (dict, list)):
        return _walk(value, root, f"{path}.{key}", seen, depth + 1)
    return value


def _complete(out: dict[str, Any]) -> dict[str, Any]:
    """Give an array schema its ``items`` and keep only the required names that are properties."""
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {}
    if isinstance(out.get("required"), list) and isinstance(out.get("properties"), dict):
        out["required"] = [r for r in out["required"] if r in out["properties"]]
    return out


def simplify_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A copy of ``schema`` without ``$ref``/``$defs``/``anyOf``/titles; raises :class:`SchemaError`."""
    if not schema:
        return {"type": "object", "properties": {}}
    result = _walk(schema, schema, "", (), 0)
    if "type" not in result and "properties" in result:
        result["type"] = "object"
    return result


_BOUNDS = (("exclusiveMinimum", "minimum", 1), ("exclusiveMaximum", "maximum", -1))


def inclusive_bounds(schema: Any) -> Any:
    """A copy of ``schema`` without ``exclusiveMinimum``/``exclusiveMaximum`` (Gemini refuses them).

    A numeric bound becomes the inclusive one (one step inside for integers, the same value otherwise,
    which admits the bound itself); the boolean draft-4 form only qualified ``minimum``/``maximum``
    and is dropped.
    """
    if isinstance(schema, list):
        return [inclusive_bounds(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: inclusive_bounds(value) if key not in ("enum", "const", "default") else value
           for key, value in schema.items() if key not in ("exclusiveMinimum", "exclusiveMaximum")}
    for exclusive, inclusive, step in _BOUNDS:
        bound = schema.get(exclusive)
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            continue
        if schema.get("type") == "integer" and float(bound).is_integer():
            bound = int(bound) + step
        current = out.get(inclusive)
        tighter = max if step > 0 else min
        out[inclusive] = bound if not isinstance(current, (int, float)) else tighter(current, bound)
    return out

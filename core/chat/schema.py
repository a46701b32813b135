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
        ref = node.pop("$ref")
        if ref in seen:  # a recursive structure: cut the cycle
            return {"type": "object", **({"description": node["description"]} if "description" in node else {})}
        target = _resolve_ref(ref, root, path)
        merged = {**target, **node}
        return _walk(merged, root, path, seen + (ref,), depth + 1)
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = node.pop(key)
            if not isinstance(options, list):
                raise SchemaError(f"{key} must be an array", path)
            real = _non_null(options)
            if len(real) == 1:
                base = _walk(real[0], root, f"{path}.{key}[0]", seen, depth + 1)
                extras = {k: v for k, v in node.items() if k not in ("default",) or v is not None}
                return _walk({**base, **extras}, root, path, seen, depth + 1)
            raise SchemaError(f"{key} with {len(real)} alternatives is not supported by OCI (only an optional "
                              "value, i.e. one type or null)", f"{path}.{key}")
    if "allOf" in node:
        parts = node.pop("allOf")
        if not isinstance(parts, list):
            raise SchemaError("allOf must be an array", path)
        merged: dict[str, Any] = {}
        for i, part in enumerate(parts):
            resolved = _walk(part, root, f"{path}.allOf[{i}]", seen, depth + 1)
            if isinstance(resolved, dict):
                for k, v in resolved.items():
                    if k == "properties" and isinstance(merged.get(k), dict):
                        merged[k] = {**merged[k], **v}
                    elif k == "required" and isinstance(merged.get(k), list):
                        merged[k] = sorted(set(merged[k]) | set(v))
                    else:
                        merged[k] = v
        node = {**merged, **node}
    if isinstance(node.get("type"), list):  # ["string", "null"] -> "string"
        types = [t for t in node["type"] if t != "null"]
        if len(types) != 1:
            raise SchemaError(f"a type union {node['type']} is not supported by OCI", f"{path}.type")
        node["type"] = types[0]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key in ("$defs", "definitions"):
            continue
        if key == "default" and value is None:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _walk(sub, root, f"{path}.properties.{name}", seen, depth + 1)
                        for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "if", "then", "else", "contains") and isinstance(
                value, (dict, list)):
            out[key] = _walk(value, root, f"{path}.{key}", seen, depth + 1)
        else:
            out[key] = value
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

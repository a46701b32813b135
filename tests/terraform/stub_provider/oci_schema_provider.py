"""Schema-only stand-in for the ``oracle/oci`` Terraform provider.

Why it exists: ``terraform validate`` needs the provider's schema, and the real
provider cannot be downloaded in CI. Terraform only asks a provider for its schema
and to validate resource configurations during ``validate``, so a small plugin
that serves ``oci-provider-schema.json`` (extracted from oracle/oci v8.28.0) over
the plugin protocol (PyPI ``tf``) lets Terraform do all of its own checks:
unknown resource types, unknown or missing arguments, blocks written as
attributes, references to attributes that do not exist, type errors.

On top of that the stand-in does what the provider's ``ValidateResourceConfig``
does with the facts the JSON has: enum values (``validation.StringInSlice``) and
``ConflictsWith``. It cannot plan or apply; those calls answer with an error.

Wiring (done by ``tests/terraform/tooling.py``): a CLI config with
``dev_overrides { "oracle/oci" = DIR }`` where ``DIR/terraform-provider-oci`` is a
shell wrapper that runs this file with the tool venv's Python. The schema path
comes from ``OCI_STUB_SCHEMA`` (default: the JSON next to this file).

The pure parts (:func:`cty_type`, :func:`config_problems`) import nothing from
``tf`` so the main test venv can unit-test them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

SCHEMA_ENV = "OCI_STUB_SCHEMA"
DEFAULT_SCHEMA = Path(__file__).with_name("oci-provider-schema.json")
PROVIDER_NAME = "registry.terraform.io/oracle/oci"

# Arguments of the real provider block (oracle/oci docs, "Provider configuration").
PROVIDER_ARGUMENTS: dict[str, str] = {
    "auth": "string",
    "config_file_profile": "string",
    "disable_auto_retries": "bool",
    "fingerprint": "string",
    "ignore_defined_tags": "list(string)",
    "private_key": "string",
    "private_key_password": "string",
    "private_key_path": "string",
    "realm_specific_service_endpoint_template_enabled": "bool",
    "region": "string",
    "retry_duration_seconds": "number",
    "tenancy_ocid": "string",
    "user_ocid": "string",
}


def load_schema(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The provider schema JSON; keys starting with ``_`` are metadata, not types."""
    source = Path(path or os.environ.get(SCHEMA_ENV) or DEFAULT_SCHEMA)
    return json.loads(source.read_text(encoding="utf-8"))


def cty_type(name: str) -> Any:
    """The cty JSON type for one of the JSON's type names.

    ``list(object)`` attributes are computed-only nested lists whose element shape
    the extractor did not record; ``dynamic`` elements let references such as
    ``services[0].cidr_block`` through, as the real (fully typed) schema would.
    """
    simple = {"string": "string", "number": "number", "bool": "bool"}
    if name in simple:
        return simple[name]
    if name == "list(object)":
        return ["list", "dynamic"]
    for kind in ("list", "set", "map"):
        prefix = f"{kind}("
        if name.startswith(prefix) and name.endswith(")"):
            return [kind, cty_type(name[len(prefix):-1])]
    raise ValueError(f"unknown type name {name!r} in the provider schema")


def _is_unknown(value: Any) -> bool:
    return type(value).__name__ == "_Unknown" or repr(value) == "Unknown"


def _block_items(value: Any) -> list[dict[str, Any]]:
    """A nested block's value as a list of objects, whatever its nesting mode."""
    if value is None or _is_unknown(value):
        return []
    if isinstance(value, dict):
        return [value]
    return [item for item in value if isinstance(item, dict)]


def _resolve(root: dict[str, Any], dotted: str) -> Any:
    """Value at a provider-style path such as ``actions.0.action`` (None when absent)."""
    value: Any = root
    for step in dotted.split("."):
        if value is None or _is_unknown(value):
            return None
        if step.isdigit():
            items = _block_items(value)
            index = int(step)
            value = items[index] if index < len(items) else None
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            return None
    return value


def _is_set(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (list, dict)) and not value:
        return False
    return True


Problem = tuple[tuple[Any, ...], str]


def config_problems(spec: dict[str, Any], config: dict[str, Any] | None,
                    root: dict[str, Any] | None = None, path: tuple[Any, ...] = ()) -> Iterator[Problem]:
    """Enum and conflict violations in one resource's config: ``(path, message)`` pairs.

    Unknown values (known only at apply) are skipped, as the real provider does.
    """
    if not config:
        return
    root = config if root is None else root
    for attribute, allowed in (spec.get("enums") or {}).items():
        value = config.get(attribute)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and item not in allowed:
                yield path + (attribute,), f"expected {attribute} to be one of [{' '.join(allowed)}], got {item}"
    for attribute, others in (spec.get("conflicts_with") or {}).items():
        if not _is_set(config.get(attribute)):
            continue
        for other in others:
            target = _resolve(root, other) if "." in other else config.get(other)
            if _is_set(target):
                yield path + (attribute,), f'"{attribute}": conflicts with {other}'
    for name, block in (spec.get("blocks") or {}).items():
        for index, item in enumerate(_block_items(config.get(name))):
            yield from config_problems(block, item, root, path + (name, (index,)))


def _build_block(pb: Any, spec: dict[str, Any], *, top_level: bool, deprecated: bool = False) -> Any:
    """Protobuf ``Schema.Block`` for a resource, data source or nested block spec."""
    types = spec.get("types") or {}
    attributes = []
    roles = (("required", {"required": True}), ("optional", {"optional": True}), ("computed", {"computed": True}))
    seen: set[str] = set()
    for role, flags in roles:
        for name in spec.get(role) or []:
            if name in seen:
                continue
            seen.add(name)
            attributes.append(pb.Schema.Attribute(
                name=name, type=json.dumps(cty_type(types.get(name, "string"))).encode(),
                deprecated=name in (spec.get("deprecated") or []), **flags))
    if top_level and "id" not in seen:  # the SDK adds an optional+computed id to every type
        attributes.append(pb.Schema.Attribute(name="id", type=b'"string"', optional=True, computed=True))
    nesting = {"list": pb.Schema.NestedBlock.LIST, "set": pb.Schema.NestedBlock.SET,
               "single": pb.Schema.NestedBlock.SINGLE}
    blocks = []
    for name, block in (spec.get("blocks") or {}).items():
        mode = block.get("nesting", "list")
        sized = mode != "single"
        blocks.append(pb.Schema.NestedBlock(
            type_name=name, nesting=nesting[mode],
            block=_build_block(pb, block, top_level=False, deprecated=name in (spec.get("deprecated") or [])),
            min_items=block.get("min_items", 0) if sized else 0,
            max_items=block.get("max_items", 0) if sized else 0))
    return pb.Schema.Block(attributes=attributes, block_types=blocks, deprecated=deprecated)


def main(argv: list[str]) -> None:  # pragma: no cover - runs as a Terraform plugin process
    from tf import provider as tf_provider
    from tf import runner
    from tf.gen import tfplugin_pb2 as pb
    from tf.utils import Diagnostics, read_dynamic_value

    schema = load_schema()
    resources = {k: v for k, v in schema.items() if not k.startswith("_") and not k.startswith("data.")}
    data_sources = {k[len("data."):]: v for k, v in schema.items() if k.startswith("data.")}
    provider_block = {"optional": sorted(PROVIDER_ARGUMENTS), "types": PROVIDER_ARGUMENTS}

    def diagnostics_for(spec: dict[str, Any], request: Any) -> list[Any]:
        diags = Diagnostics()
        config = read_dynamic_value(request.config)
        for path, message in config_problems(spec, config if isinstance(config, dict) else None):
            diags.add_error("Invalid value" if "expected" in message else "Conflicting configuration arguments",
                            message, path=list(path))
        return diags.to_pb()

    def cannot(name: str) -> Any:
        def answer(self: Any, request: Any, context: Any) -> Any:
            diags = Diagnostics().add_error(f"{name} is not supported by the schema-only oracle/oci stand-in",
                                            "Use the real provider for plan and apply.")
            return getattr(pb, name).Response(diagnostics=diags.to_pb())
        return answer

    class SchemaOnlyServicer(tf_provider.ProviderServicer):
        """Serves the JSON schema; validates enums and conflicts; refuses plan/apply."""

        def GetProviderSchema(self, request: Any, context: Any) -> Any:
            empty = pb.Schema(block=pb.Schema.Block())
            return pb.GetProviderSchema.Response(
                provider=pb.Schema(block=_build_block(pb, provider_block, top_level=False)),
                provider_meta=empty,
                resource_schemas={k: pb.Schema(block=_build_block(pb, v, top_level=True))
                                  for k, v in resources.items()},
                data_source_schemas={k: pb.Schema(block=_build_block(pb, v, top_level=True))
                                     for k, v in data_sources.items()},
            )

        def ValidateProviderConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateProviderConfig.Response()

        def ConfigureProvider(self, request: Any, context: Any) -> Any:
            return pb.ConfigureProvider.Response()

        def ValidateResourceConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateResourceConfig.Response(
                diagnostics=diagnostics_for(resources[request.type_name], request))

        def ValidateDataResourceConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateDataResourceConfig.Response(
                diagnostics=diagnostics_for(data_sources[request.type_name], request))

        PlanResourceChange = cannot("PlanResourceChange")
        ApplyResourceChange = cannot("ApplyResourceChange")
        ReadDataSource = cannot("ReadDataSource")
        ImportResourceState = cannot("ImportResourceState")

    class StandIn:
        """The minimal ``tf`` Provider the runner needs: only its name is used."""

        def full_name(self) -> str:
            return PROVIDER_NAME

        def get_model_prefix(self) -> str:
            return "oci_"

        def get_data_sources(self) -> list[Any]:
            return []

        def get_resources(self) -> list[Any]:
            return []

        def get_functions(self) -> list[Any]:
            return []

    # run_provider builds its servicer from tf.provider.ProviderServicer at call time.
    tf_provider.ProviderServicer = SchemaOnlyServicer
    runner.run_provider(StandIn(), argv)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv)

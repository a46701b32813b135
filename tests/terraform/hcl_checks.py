"""Checks over the parsed configuration for what no tool checks (pure functions, no I/O).

Input is :func:`merge` of python-hcl2 8.x output (see ``hcl_dump.py``): expressions are strings
such as ``"${local.x}"``, blocks are lists of dicts marked ``__is_block__``. Each ``*_problems``
function returns human-readable findings; an empty list means the property holds. The negative
tests feed broken copies through the same functions, so a check that stopped looking would fail.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

REQUIRED_ROUTES = {
    ("/v1/chat/completions", "POST"),
    ("/v1/embeddings", "POST"),
    ("/v1/models", "GET"),
    ("/v1/models/{id}", "GET"),
}
IDENTITY_HEADERS = ("X-Gateway-Key-Id", "X-Gateway-Allowed-Models")
OBJECT_EVENT_TYPES = {
    "com.oraclecloud.objectstorage.createobject",
    "com.oraclecloud.objectstorage.updateobject",
    "com.oraclecloud.objectstorage.deleteobject",
}

# (verb, resource type) pairs the gateway needs, and the condition each must carry.
ALLOWED_GRANTS: dict[tuple[str, str], str | None] = {
    ("use", "generative-ai-family"): None,
    ("read", "objects"): "target.bucket.name",
    ("manage", "objects"): "target.bucket.name",
    ("read", "secret-bundles"): "target.secret.id",
    ("use", "functions-family"): None,
    ("use", "fn-invocation"): None,
    ("read", "fn-function"): "target.function.id",
}
# Locals that only switch statements on or off (booleans) may appear around the statement literals.
FLAG_LOCALS = frozenset({"use_api_keys", "reconcile_on"})

STATEMENT_RE = re.compile(
    r"^Allow (?P<subject>any-user|service \S+|dynamic-group \S+) to (?P<verb>inspect|read|use|manage) "
    r"(?P<resource>[\w-]+) in (?P<scope>compartment id \S+|tenancy|compartment \S+)(?: where (?P<condition>.+))?$",
    re.IGNORECASE)
QUOTED_ALLOW_RE = re.compile(r'"((?:Allow|allow|ALLOW) [^"]*)"')


def merge(parsed_by_file: dict[str, dict]) -> dict[str, Any]:
    """One view of all files: ``{"resource": {type: {name: body}}, "data": {...}, "locals": {...}, ...}``."""
    merged: dict[str, Any] = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "output": {}}
    for content in parsed_by_file.values():
        for kind in ("resource", "data"):
            for entry in content.get(kind, []):
                for type_name, named in entry.items():
                    for name, body in named.items():
                        merged[kind].setdefault(type_name, {})[name] = body
        for entry in content.get("locals", []):
            merged["locals"].update({k: v for k, v in entry.items() if k != "__is_block__"})
        for kind in ("variable", "output"):
            for entry in content.get(kind, []):
                merged[kind].update(entry)
    return merged


def resources(cfg: dict[str, Any], type_name: str) -> dict[str, dict]:
    return cfg["resource"].get(type_name, {})


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Static and ``dynamic`` blocks called ``name`` (a dynamic block contributes its ``content``)."""
    found = [b for b in body.get(name, []) if isinstance(b, dict)] if isinstance(body.get(name), list) else []
    for dynamic in body.get("dynamic", []) or []:
        if name in dynamic:
            found.extend(dynamic[name].get("content", []))
    return found


def local_value(cfg: dict[str, Any], expression: str) -> Any:
    """The literal value of ``local.a.b`` named in an expression (None if it is not a literal local)."""
    match = re.search(r"local\.([\w.]+)", expression)
    if not match:
        return None
    value: Any = cfg["locals"]
    for part in match.group(1).split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


# ---------------------------------------------------------------------------------------------------------------------
# IAM


def policy_statements(cfg: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Every policy statement (interpolations left as written) and problems finding them."""
    statements: list[str] = []
    problems: list[str] = []
    for name, body in resources(cfg, "oci_identity_policy").items():
        raw = body.get("statements")
        if isinstance(raw, list):
            statements.extend(str(s) for s in raw)
            continue
        text = str(raw)
        found = QUOTED_ALLOW_RE.findall(text)
        statements.extend(found)
        rest = QUOTED_ALLOW_RE.sub("", text)
        if len(found) != len(re.findall(r"\ballow\b", text, re.IGNORECASE)):
            problems.append(f"policy {name}: a statement is not a plain string literal")
        for ref in re.findall(r"\b(var|local)\.(\w+)", rest):
            if ref[0] == "var" or ref[1] not in FLAG_LOCALS:
                problems.append(f"policy {name}: statements come from {ref[0]}.{ref[1]}, which cannot be checked")
    return statements, problems


def policy_problems(cfg: dict[str, Any]) -> list[str]:
    """Each statement is a known, scoped grant: no all-resources, no tenancy scope, conditions where needed."""
    statements, problems = policy_statements(cfg)
    if not statements:
        problems.append("no policy statements found")
    for statement in statements:
        match = STATEMENT_RE.match(statement.strip())
        if not match:
            problems.append(f"unrecognised statement: {statement}")
            continue
        verb, resource = match["verb"].lower(), match["resource"].lower()
        condition = match["condition"] or ""
        if resource == "all-resources":
            problems.append(f"grants all-resources: {statement}")
        if match["scope"].lower() == "tenancy":
            problems.append(f"tenancy-wide: {statement}")
        elif not match["scope"].lower().startswith("compartment id "):
            problems.append(f"compartment not named by OCID: {statement}")
        if (verb, resource) not in ALLOWED_GRANTS:
            problems.append(f"grant not needed by the gateway ({verb} {resource}): {statement}")
        else:
            needed = ALLOWED_GRANTS[(verb, resource)]
            if needed and needed not in condition:
                problems.append(f"{verb} {resource} without a {needed} condition: {statement}")
        subject = match["subject"].lower()
        if subject == "any-user" and "request.principal.type" not in condition:
            problems.append(f"any-user without a principal-type condition: {statement}")
        if subject.startswith("dynamic-group ") and not re.fullmatch(
                r"dynamic-group \$\{oci_identity_dynamic_group\.\w+(\[0\])?\.name\}", subject):
            problems.append(f"subject is not a dynamic group of this configuration: {statement}")
        if subject.startswith("service ") and subject != "service cloudevents":
            problems.append(f"unexpected service principal: {statement}")
        if verb == "manage" and "request.permission" not in condition:
            problems.append(f"manage without a request.permission list: {statement}")
    return problems


DG_RULE_RE = re.compile(
    r"^ALL \{resource\.type = 'fnfunc', resource\.id = '\$\{oci_functions_function\.(\w+)(?:\[0\])?\.id\}'\}$")


def dynamic_group_problems(cfg: dict[str, Any]) -> list[str]:
    """Every dynamic group matches exactly one of this configuration's functions, by OCID."""
    groups = resources(cfg, "oci_identity_dynamic_group")
    functions = resources(cfg, "oci_functions_function")
    problems = [] if groups else ["no dynamic group"]
    for name, body in groups.items():
        rule = str(body.get("matching_rule", ""))
        match = DG_RULE_RE.match(rule)
        if not match:
            problems.append(f"dynamic group {name} does not match one function by OCID: {rule}")
        elif match.group(1) not in functions:
            problems.append(f"dynamic group {name} names a function not in this configuration: {match.group(1)}")
        if "home" not in str(body.get("provider", "")):
            problems.append(f"dynamic group {name} is not created through the home-region provider")
    for name, body in resources(cfg, "oci_identity_policy").items():
        if "home" not in str(body.get("provider", "")):
            problems.append(f"policy {name} is not created through the home-region provider")
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# API Gateway


def _routes(cfg: dict[str, Any], spec: dict[str, Any]) -> Iterator[tuple[set[tuple[str, str]], dict[str, Any]]]:
    """Each route block with the (path, method) pairs it serves, resolving ``for_each = local.x``."""
    for route in spec.get("routes", []) or []:
        methods = route.get("methods") or ["ANY"]
        yield {(route.get("path"), m) for m in methods}, route
    for dynamic in spec.get("dynamic", []) or []:
        if "routes" not in dynamic:
            continue
        items = local_value(cfg, str(dynamic["routes"].get("for_each", "")))
        for content in dynamic["routes"].get("content", []):
            pairs: set[tuple[str, str]] = set()
            for item in items if isinstance(items, list) else []:
                pairs |= {(item["path"], m) for m in item.get("methods", ["ANY"])}
            yield pairs, content


def route_problems(cfg: dict[str, Any]) -> list[str]:
    """Authentication on the deployment, and every route authenticated, to the gateway, with identity headers."""
    problems: list[str] = []
    deployments = resources(cfg, "oci_apigateway_deployment")
    if not deployments:
        return ["no API Gateway deployment"]
    served: set[tuple[str, str]] = set()
    for name, body in deployments.items():
        for spec in blocks(body, "specification"):
            policies = blocks(spec, "request_policies")
            auth = [a for p in policies for a in blocks(p, "authentication")]
            if not auth:
                problems.append(f"deployment {name} has no authentication policy")
            for a in auth:
                if a.get("is_anonymous_access_allowed") not in (None, False):
                    problems.append(f"deployment {name} allows anonymous access")
            if not [r for p in policies for r in blocks(p, "rate_limiting")]:
                problems.append(f"deployment {name} has no rate limiting")
            for pairs, route in _routes(cfg, spec):
                label = ", ".join(sorted(f"{m} {p}" for p, m in pairs)) or "a route"
                served |= pairs
                route_policies = blocks(route, "request_policies")
                kinds = [a.get("type") for p in route_policies for a in blocks(p, "authorization")]
                if not kinds or any(k not in ("AUTHENTICATION_ONLY", "ANY_OF") for k in kinds):
                    problems.append(f"{label}: route authorization must be AUTHENTICATION_ONLY, found {kinds}")
                for backend in blocks(route, "backend"):
                    if backend.get("type") != "ORACLE_FUNCTIONS_BACKEND" or \
                            "oci_functions_function.gateway.id" not in str(backend.get("function_id")):
                        problems.append(f"{label}: backend is not the gateway function")
                problems.extend(f"{label}: {p}" for p in _identity_header_problems(cfg, route_policies))
    missing = REQUIRED_ROUTES - served
    if missing:
        problems.append(f"routes missing: {sorted(missing)}")
    return problems


def _identity_header_problems(cfg: dict[str, Any], route_policies: list[dict[str, Any]]) -> Iterable[str]:
    """The identity headers are SET with OVERWRITE from the auth context, for every auth mode."""
    items: list[dict[str, Any]] = []
    sources: list[str] = []
    for policy in route_policies:
        for transformation in blocks(policy, "header_transformations"):
            for set_headers in blocks(transformation, "set_headers"):
                items.extend(blocks(set_headers, "items"))
                for dynamic in set_headers.get("dynamic", []) or []:
                    if "items" in dynamic:
                        sources.append(_local_text(cfg, str(dynamic["items"].get("for_each", ""))))
    if not items:
        yield "no header transformation sets the identity headers"
        return
    for item in items:
        if item.get("if_exists") != "OVERWRITE":
            yield f"header {item.get('name')} is not set with if_exists = OVERWRITE (a client could forge it)"
    text = " ".join(sources) + " ".join(str(i.get("name")) for i in items)
    for header in IDENTITY_HEADERS:
        if header not in text:
            yield f"{header} is not set"
    if "request.auth[" not in " ".join(sources) + " ".join(str(i.get("values")) for i in items):
        yield "identity headers do not come from request.auth"


def _local_text(cfg: dict[str, Any], expression: str) -> str:
    value = local_value(cfg, expression)
    return str(value) if value is not None else expression


# ---------------------------------------------------------------------------------------------------------------------
# Object Storage and Events


def events_problems(cfg: dict[str, Any]) -> list[str]:
    """The ingest rule: object create/update/delete events of the input bucket only, to the ingest function."""
    rules = resources(cfg, "oci_events_rule")
    if not rules:
        return ["no events rule"]
    problems: list[str] = []
    for name, body in rules.items():
        condition = str(body.get("condition", ""))
        buckets = set(re.findall(r"oci_objectstorage_bucket\.(\w+)", condition))
        literal_names = re.findall(r"bucketName\s*=\s*\[([^\]]*)\]", condition)
        if buckets != {"input"}:
            problems.append(f"rule {name} targets buckets {sorted(buckets)}, expected only the input bucket")
        if any(part.strip() != "oci_objectstorage_bucket.input.name" for names in literal_names
               for part in names.split(",") if part.strip()):
            problems.append(f"rule {name} names other buckets: {literal_names}")
        if "bucketName" not in condition:
            problems.append(f"rule {name} does not filter on the bucket name")
        event_types = set(re.findall(r"com\.oraclecloud\.[\w.]+", condition))
        if event_types != OBJECT_EVENT_TYPES:
            problems.append(f"rule {name} event types {sorted(event_types)}, expected {sorted(OBJECT_EVENT_TYPES)}")
        actions = [a for outer in blocks(body, "actions") for a in blocks(outer, "action") + blocks(outer, "actions")]
        targets = {str(a.get("function_id")) for a in actions}
        if targets != {"${oci_functions_function.ingest.id}"} or any(a.get("action_type") != "FAAS" for a in actions):
            problems.append(f"rule {name} actions {targets}, expected only the ingest function")
    return problems


def bucket_problems(cfg: dict[str, Any]) -> list[str]:
    """No public bucket; object events on the input bucket (the rule needs them)."""
    buckets = resources(cfg, "oci_objectstorage_bucket")
    problems: list[str] = []
    for name in ("input", "output"):
        if name not in buckets:
            problems.append(f"no {name} bucket")
    for name, body in buckets.items():
        if body.get("access_type") != "NoPublicAccess":
            problems.append(f"bucket {name} access_type is {body.get('access_type')!r}, expected NoPublicAccess")
    if "input" in buckets and buckets["input"].get("object_events_enabled") is not True:
        problems.append("input bucket does not emit object events")
    return problems


# ---------------------------------------------------------------------------------------------------------------------
# Function configuration


def function_config_keys(cfg: dict[str, Any]) -> tuple[dict[str, set[str]], list[str]]:
    """Config keys of the application and of each function, and problems resolving them statically."""
    keys: dict[str, set[str]] = {}
    problems: list[str] = []
    for type_name in ("oci_functions_application", "oci_functions_function"):
        for name, body in resources(cfg, type_name).items():
            label = f"{type_name}.{name}"
            config = body.get("config")
            if config is None:
                keys[label] = set()
                continue
            value = config if isinstance(config, dict) else local_value(cfg, str(config))
            if not isinstance(value, dict):
                problems.append(f"{label}: config is not a literal map or a literal local map: {config}")
                continue
            if not isinstance(config, dict) and re.search(r"\bvar\.|merge\(", str(config)):
                problems.append(f"{label}: config adds keys from outside the literal map: {config}")
            keys[label] = {k for k in value if k != "__is_block__"}
    return keys, problems


def config_key_problems(cfg: dict[str, Any], known: set[str], pending: frozenset[str] = frozenset()) -> list[str]:
    """Every config key is a setting the code reads (``pending`` names are reported by their own test)."""
    keys, problems = function_config_keys(cfg)
    for label, names in sorted(keys.items()):
        unknown = sorted(names - known - pending)
        if unknown:
            problems.append(f"{label}: config keys the code does not read: {unknown}")
    return problems


def role_problems(cfg: dict[str, Any], roles: Iterable[str]) -> list[str]:
    """Each function sets GATEWAY_ROLE to a role the code knows, and the roles are distinct."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name, body in resources(cfg, "oci_functions_function").items():
        config = body.get("config")
        value = config if isinstance(config, dict) else local_value(cfg, str(config))
        role = value.get("GATEWAY_ROLE") if isinstance(value, dict) else None
        if role not in set(roles):
            problems.append(f"function {name}: GATEWAY_ROLE {role!r} is not one of {sorted(roles)}")
        elif role in seen:
            problems.append(f"functions {seen[role]} and {name} both have GATEWAY_ROLE {role}")
        else:
            seen[role] = name
    return problems

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
    ("/v1/health", "GET"),
    ("/v1/rerank", "POST"),
    ("/v2/rerank", "POST"),
    ("/rerank", "POST"),
    ("/v1/moderations", "POST"),
    ("/v1/responses", "POST"),
    ("/v1/responses/{id}", "GET"),
    ("/v1/responses/{id}", "DELETE"),
    ("/v1/responses/{id}/input_items", "GET"),
}
OBJECT_EVENT_TYPES = {
    "com.oraclecloud.objectstorage.createobject",
    "com.oraclecloud.objectstorage.updateobject",
    "com.oraclecloud.objectstorage.deleteobject",
}

# Resource types a dynamic group may be granted, each with the condition that must narrow it (None: the compartment
# is the scope). Aggregate *-family types are never granted to a dynamic group: each role names what it calls (the one
# exception, generative-ai-family for ApplyGuardrails and OCI's own Responses API behind guardrails_iam_grant or
# genai_project_ocid, is checked by test_modes.py).
DYNAMIC_GROUP_GRANTS: dict[str, str | None] = {
    "generative-ai-chat": None,  # Chat
    "generative-ai-text-embedding": None,  # EmbedText
    "generative-ai-text-rerank": None,  # RerankText
    "generative-ai-model": None,  # ListModels, GetModel
    "objects": "target.bucket.name",
    "buckets": "target.bucket.name",
    "secret-bundles": "target.secret.id",
    "repos": None,  # the streaming containers pull their image from OCIR
    "fn-function": "target.function.id",  # ingest looks up its own invoke endpoint to continue itself
    "fn-invocation": "target.function.id",  # and invokes only itself (detached)
}
# What OCI services (API Gateway as any-user with a principal-type condition, Events) may be granted.
SERVICE_GRANTS = frozenset({("use", "functions-family"), ("use", "fn-invocation")})
# The one service principal besides API Gateway and Events: Object Storage, which runs the stored-responses bucket's
# lifecycle rule; it may only manage object-family, and only in a bucket named by its condition.
OBJECT_STORAGE_SERVICE = re.compile(r"^service objectstorage-(\$\{var\.region\}|[a-z]+(-[a-z]+)+-[0-9]+)$")
LIFECYCLE_GRANT = ("manage", "object-family")
# Each policy's statements come from one list in iam.tf.
POLICY_SOURCES = {"functions": "${local.function_policy_statements}", "services": "${local.service_policy_statements}"}

STATEMENT_RE = re.compile(
    r"^Allow (?P<subject>any-user|service \S+|dynamic-group \S+) to (?P<verb>inspect|read|use|manage) "
    r"(?P<resource>[\w-]+) in (?P<scope>compartment id \S+|tenancy|compartment \S+)(?: where (?P<condition>.+))?$",
    re.IGNORECASE)


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


def policy_source_problems(cfg: dict[str, Any]) -> list[str]:
    """Each policy takes its statements from its one list in iam.tf, never from a variable or a literal elsewhere."""
    policies = resources(cfg, "oci_identity_policy")
    problems = [f"no policy {name}" for name in POLICY_SOURCES if name not in policies]
    for name, body in policies.items():
        source = str(body.get("statements"))
        if POLICY_SOURCES.get(name) != source:
            problems.append(f"policy {name}: statements come from {source}, expected {POLICY_SOURCES.get(name)}")
    return problems


def statement_problems(statements: Iterable[str], dynamic_groups: Iterable[str]) -> list[str]:
    """Each evaluated statement is a known, scoped grant to a known subject, narrowed where it must be."""
    groups = {g.lower() for g in dynamic_groups}
    problems: list[str] = []
    for statement in statements:
        match = STATEMENT_RE.match(statement.strip())
        if not match:
            problems.append(f"unrecognised statement: {statement}")
            continue
        problems.extend(_scope_problems(match, statement))
        subject = match["subject"].lower()
        if subject.startswith("dynamic-group "):
            problems.extend(_dynamic_group_grant_problems(match, statement, groups))
        else:
            problems.extend(_service_grant_problems(match, statement))
    return problems


def _scope_problems(match: re.Match[str], statement: str) -> Iterator[str]:
    if match["resource"].lower() == "all-resources":
        yield f"grants all-resources: {statement}"
    if match["scope"].lower() == "tenancy":
        yield f"tenancy-wide: {statement}"
    elif not match["scope"].lower().startswith("compartment id "):
        yield f"compartment not named by OCID: {statement}"
    if match["verb"].lower() == "manage" and "request.permission" not in (match["condition"] or "") \
            and not _lifecycle(match):
        yield f"manage without a request.permission list: {statement}"


def _lifecycle(match: re.Match[str]) -> bool:
    """Object Storage's own grant to run a bucket's lifecycle rule (narrowed by bucket, not by permission)."""
    return OBJECT_STORAGE_SERVICE.match(match["subject"].lower()) is not None


def _dynamic_group_grant_problems(match: re.Match[str], statement: str, groups: set[str]) -> Iterator[str]:
    group = match["subject"].split(" ", 1)[1].lower()
    if group not in groups:
        yield f"subject is not a dynamic group of this configuration: {statement}"
    resource = match["resource"].lower()
    if resource not in DYNAMIC_GROUP_GRANTS:
        yield f"grant of {resource} to a dynamic group is not a known narrow grant: {statement}"
        return
    needed = DYNAMIC_GROUP_GRANTS[resource]
    if needed and needed not in (match["condition"] or ""):
        yield f"{match['verb'].lower()} {resource} without a {needed} condition: {statement}"


def _service_grant_problems(match: re.Match[str], statement: str) -> Iterator[str]:
    subject = match["subject"].lower()
    grant = (match["verb"].lower(), match["resource"].lower())
    if _lifecycle(match):
        if grant != LIFECYCLE_GRANT or "target.bucket.name" not in (match["condition"] or ""):
            yield f"Object Storage may only manage object-family in one bucket (lifecycle rules): {statement}"
        return
    if grant not in SERVICE_GRANTS:
        yield f"grant not needed by a service ({match['verb']} {match['resource']}): {statement}"
    if subject == "any-user" and "request.principal.type" not in (match["condition"] or ""):
        yield f"any-user without a principal-type condition: {statement}"
    if subject.startswith("service ") and subject != "service cloudevents":
        yield f"unexpected service principal: {statement}"


DG_RULE_RE = re.compile(
    r"^ALL \{resource\.type = 'fnfunc', resource\.id = '\$\{oci_functions_function\.(\w+)(?:\[0\])?\.id\}'\}$")


CONTAINER_RULE_RE = re.compile(
    r"^ANY \{\$\{join\(\", \", \[for instance in oci_container_instances_container_instance\.streaming : "
    r"\"ALL \{resource\.type = 'computecontainerinstance', resource\.id = '\$\{instance\.id\}'\}\"\]\)\}\}$")


def dynamic_group_problems(cfg: dict[str, Any]) -> list[str]:
    """Every dynamic group matches exactly one of this configuration's functions, by OCID."""
    groups = resources(cfg, "oci_identity_dynamic_group")
    functions = resources(cfg, "oci_functions_function")
    problems = [] if groups else ["no dynamic group"]
    for name, body in groups.items():
        rule = str(body.get("matching_rule", ""))
        if name == "streaming":  # container instances, each by OCID (streaming.tf)
            if not CONTAINER_RULE_RE.match(rule):
                problems.append(f"dynamic group {name} does not match the streaming container instances by OCID: {rule}")
            if "home" not in str(body.get("provider", "")):
                problems.append(f"dynamic group {name} is not created through the home-region provider")
            continue
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
                    problems.extend(f"{label}: {p}" for p in _backend_problems(backend))
                problems.extend(f"{label}: {p}" for p in _identity_header_problems(cfg, route_policies))
    missing = REQUIRED_ROUTES - served
    if missing:
        problems.append(f"routes missing: {sorted(missing)}")
    return problems


def _backend_problems(backend: dict[str, Any]) -> Iterator[str]:
    """The gateway function, or for streaming routes the streaming containers with API Gateway's longest timeout."""
    kind, function, url = str(backend.get("type")), str(backend.get("function_id")), str(backend.get("url"))
    if "ORACLE_FUNCTIONS_BACKEND" not in kind or "oci_functions_function.gateway.id" not in function:
        yield "backend is not the gateway function"
    if "HTTP_BACKEND" in kind:
        if "local.streaming_base_url" not in url:
            yield f"HTTP back end is not the streaming containers: {url}"
        if "300" not in str(backend.get("read_timeout_in_seconds")):
            yield "HTTP back end keeps API Gateway's 10 s default read timeout"


def _identity_header_problems(cfg: dict[str, Any], route_policies: list[dict[str, Any]]) -> Iterable[str]:
    """The identity headers are SET with OVERWRITE from local.identity_headers; the filter blocks the rest."""
    set_sources: list[str] = []
    filter_sources: list[str] = []
    for policy in route_policies:
        for transformation in blocks(policy, "header_transformations"):
            for set_headers in blocks(transformation, "set_headers"):
                for item in blocks(set_headers, "items"):
                    if item.get("if_exists") != "OVERWRITE":
                        yield f"header {item.get('name')} is not set with if_exists = OVERWRITE (a client could forge it)"
                for dynamic in set_headers.get("dynamic", []) or []:
                    if "items" in dynamic:
                        set_sources.append(str(dynamic["items"].get("for_each", "")))
            for filters in blocks(transformation, "filter_headers"):
                if filters.get("type") != "BLOCK":
                    yield f"the header filter is {filters.get('type')}, expected BLOCK"
                for dynamic in filters.get("dynamic", []) or []:
                    if "items" in dynamic:
                        filter_sources.append(str(dynamic["items"].get("for_each", "")))
    if set_sources != ["${local.identity_headers}"]:
        yield f"identity headers are not set from local.identity_headers: {set_sources}"
    if filter_sources != ["${local.blocked_request_headers}"]:
        yield f"the header filter does not block local.blocked_request_headers: {filter_sources}"


def identity_header_problems(sources: Iterable[str], set_headers: dict[str, str], blocked: Iterable[str],
                             trusted: Iterable[str]) -> list[str]:
    """Evaluated headers: Terraform knows exactly the headers the code trusts, and sets or blocks each, not both."""
    trusted_names = {name.lower() for name in trusted}
    known = {name.lower() for name in sources}
    setting = {name.lower() for name in set_headers}
    blocking = {name.lower() for name in blocked}
    problems = [f"{name}: trusted by the code but not in identity_header_sources" for name in sorted(trusted_names - known)]
    problems += [f"{name}: in identity_header_sources but not trusted by the code" for name in sorted(known - trusted_names)]
    problems += [f"{name}: neither set nor blocked" for name in sorted(trusted_names - setting - blocking)]
    problems += [f"{name}: both set and blocked (API Gateway filters after setting)" for name in sorted(setting & blocking)]
    problems += [f"{name}: value {value!r} is not from request.auth" for name, value in set_headers.items()
                 if not (value.startswith("${request.auth[") and value.endswith("]}"))]
    return problems


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

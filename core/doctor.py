"""What this deployment's OCI identity can really reach, check by check, each failure with its exact fix.

``/health`` checks the configuration without calling OCI; the doctor calls it: the credentials sign, the
Generative AI endpoint resolves and shakes hands (timed), a one-token chat per configured chat model, a
one-input embedding, the model list; for the ingest role its buckets, for the authorizer its Vault secrets.
Each role checks what its own grants allow, so a failure names the IAM statement the role is missing.

Runs on an operator's laptop (``make doctor``, the operator's user), in a function (``fn invoke`` with
``{"doctor": true}``) and, for the gateway checks, behind ``GET /health?deep=1`` (admin keys).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from core import aliases, runtime
from core.catalog import CHAT, EMBEDDING
from core.errors import APIError, ConfigError
from core.oci import deployment

# The chat and embedding models checked when the deployment names none of its own.
DEFAULT_CHAT_MODEL = "meta.llama-3.3-70b-instruct"
DOCTOR_PROMPT = "Reply with the single word OK."


@dataclass
class Check:
    """One check's outcome; ``fix`` says exactly what to change when it failed."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""
    ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"check": self.name, "ok": self.ok, "detail": self.detail}
        if self.ms is not None:
            body["ms"] = self.ms
        if self.fix:
            body["fix"] = self.fix
        return body


@dataclass
class Report:
    role: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"doctor": self.role, "status": "ok" if self.ok else "fail",
                "checks": [check.to_json() for check in self.checks]}


@dataclass(frozen=True)
class Context:
    """Who is checked and where: ``grantee`` is the policy subject a fix names."""

    grantee: str
    compartment: str
    endpoint: str
    deadline: float | None = None
    namespace: str | None = None
    """Object Storage namespace (the ingest role may not call GetNamespace)."""


def _grant_fix(context: Context, grant: str, scope: str | None = None) -> str:
    return f"add the policy statement: Allow {context.grantee} to {grant} in {scope or f'compartment id {context.compartment}'}"


def explain(error: Exception, context: Context, grant: str, scope: str | None = None) -> str:
    """The fix for a failed OCI call (401, 404 NotAuthorizedOrNotFound, timeout, unreachable, configuration)."""
    if isinstance(error, ConfigError):
        return f"fix the configuration: {error}"
    if not isinstance(error, APIError):
        return f"unexpected {type(error).__name__}"
    status, code = error.status, error.code or ""
    if code == "upstream_timeout" or code == "deadline_exceeded":
        return (f"{context.endpoint} did not answer in time: from a function set egress = \"nat\" in "
                "terraform.tfvars (no OCI document says a service gateway reaches Generative AI); from a laptop "
                "check the proxy and firewall")
    if code == "upstream_unreachable":
        return f"{context.endpoint} cannot be reached: see the endpoint check above"
    if "NotAuthenticated" in error.message or status == 401 or code in ("gateway_auth_failed", "upstream_auth"):
        return ("OCI rejected the request signature: check the key, its fingerprint and the user and tenancy "
                "OCIDs (~/.oci/config or the OCI_* variables); a function's resource principal needs up to 15 "
                "minutes after `terraform apply` before its grants apply")
    if status in (403, 404) or "NotAuthorizedOrNotFound" in error.message or "not_authorized" in code:
        return _grant_fix(context, grant, scope) + " (or the model is not offered in this region)"
    return error.message


async def _timed(check: Check, action: Callable[[], Awaitable[Any]]) -> Any:
    start = time.perf_counter()
    try:
        return await action()
    finally:
        check.ms = round((time.perf_counter() - start) * 1000, 1)


async def run_call(name: str, action: Callable[[], Awaitable[Any]], context: Context, grant: str,
                   scope: str | None = None, detail: str = "", into: Check | None = None) -> Check:
    """One OCI call as a check (``into``, or a new one): ok with its latency, or failed with :func:`explain`'s fix."""
    check = into or Check(name, ok=True, detail=detail)
    try:
        await _timed(check, action)
    except (APIError, ConfigError) as exc:
        check.ok = False
        check.detail = getattr(exc, "message", None) or str(exc)
        check.fix = explain(exc, context, grant, scope)
    return check


# ---------------------------------------------------------------------------------------------------------------------
# The gateway role


def configured_models(settings: Any) -> tuple[list[str], list[str]]:
    """(chat, embedding) names this deployment serves under its own names: aliases, else the defaults."""
    table = runtime.aliases(settings)
    chat: list[str] = []
    embedding: list[str] = []
    for name in sorted(table):
        resolved = aliases.resolve(name, settings, table)
        (chat if resolved.info.kind == CHAT else embedding if resolved.info.kind == EMBEDDING else []).append(name)
    return chat or [DEFAULT_CHAT_MODEL], embedding or [settings.ingest_embedding_model]


async def _chat(model: str, context: Context) -> Any:
    from core.chat.service import create_chat_completion

    return await create_chat_completion({"model": model, "max_tokens": 1,
                                         "messages": [{"role": "user", "content": DOCTOR_PROMPT}]},
                                        deadline=context.deadline)


async def _embed(model: str, context: Context, check: Check) -> Any:
    """One base64 embedding (the openai SDK's default): it also shows whether OCI's own base64 strings are used."""
    from core.embeddings.oci_base64 import PASSED
    from core.embeddings.service import create_embeddings

    result = await create_embeddings({"model": model, "input": ["OK"], "encoding_format": "base64"},
                                     deadline=context.deadline)
    if result.base64 is not None:
        layout, finding = result.base64
        check.detail += "; OCI's base64 strings passed through" if layout == PASSED else \
            f"; base64 packed here ({finding})"
    return result


async def _list(context: Context) -> Any:
    from core.oci.model_listing import list_models

    return await list_models(runtime.client(), context.compartment, deadline=context.deadline)


async def gateway_checks(context: Context) -> list[Check]:
    """Inference per configured model, and the model list."""
    settings = runtime.settings()
    chat, embedding = configured_models(settings)
    checks = [await run_call(f"chat {name}", lambda name=name: _chat(name, context), context,
                             "use generative-ai-chat", detail="1-token chat") for name in chat]
    for name in embedding:
        check = Check(f"embeddings {name}", ok=True, detail="1-input embedding")
        checks.append(await run_call(check.name, lambda name=name, check=check: _embed(name, context, check), context,
                                     "use generative-ai-text-embedding", into=check))
    checks.append(await run_call("model listing", lambda: _list(context), context, "inspect generative-ai-model",
                                 detail="ListModels"))
    return checks


# ---------------------------------------------------------------------------------------------------------------------
# The ingest role


async def ingest_checks(context: Context) -> list[Check]:
    """List each input bucket; write, read back and delete a probe object in the output bucket; one embedding."""
    from core.ingest.config import IngestConfig
    from core.oci.objectstorage import ObjectStorage

    config = IngestConfig.from_settings(runtime.settings())
    storage = ObjectStorage(runtime.client)
    checks = []
    for ref in config.inputs:
        checks.append(await run_call(
            f"read {ref.bucket}", lambda ref=ref: _list_one(storage, ref, context), context, "read objects",
            scope=f"compartment id {context.compartment} where target.bucket.name = '{ref.bucket}'",
            detail="list one object"))
    output = config.output.bucket
    checks.append(await run_call(
        f"write {output}", lambda: _write_probe(storage, config.output, context), context, "manage objects",
        scope=f"compartment id {context.compartment} where all {{target.bucket.name = '{output}', any {{"
              "request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_READ', "
              "request.permission = 'OBJECT_DELETE'}}",
        detail="write, read back and delete a probe object"))
    checks.append(await run_call(f"embeddings {config.model}", lambda: _embed(config.model, context), context,
                                 "use generative-ai-text-embedding", detail="1-input embedding"))
    return checks


async def _namespace(storage: Any, ref: Any, context: Context) -> str:
    return ref.namespace or context.namespace or await storage.get_namespace(context.deadline)


async def _list_one(storage: Any, ref: Any, context: Context) -> None:
    await storage.list_page(await _namespace(storage, ref, context), ref.bucket, limit=1, deadline=context.deadline)


async def _write_probe(storage: Any, ref: Any, context: Context) -> None:
    namespace = await _namespace(storage, ref, context)
    name = f".doctor/probe-{int(time.time() * 1000)}"
    await storage.put(namespace, ref.bucket, name, b"doctor", deadline=context.deadline)
    try:
        await storage.get_bytes(namespace, ref.bucket, name, deadline=context.deadline)
    finally:
        await storage.delete(namespace, ref.bucket, name, deadline=context.deadline)


# ---------------------------------------------------------------------------------------------------------------------
# The authorizer role


async def authorizer_checks(context: Context) -> list[Check]:
    """Read and parse the key table and the pepper (from Vault, or the configuration)."""
    from core.keystore import load_material

    settings = runtime.settings()
    secrets = [s for s in (settings.api_keys_secret_ocid, settings.api_keys_pepper_secret_ocid) if s]
    scope = ("compartment id <the secrets' compartment> where any {"
             + ", ".join(f"target.secret.id = '{s}'" for s in secrets) + "}") if secrets else None
    return [await run_call("API key secrets", lambda: load_material(settings, deadline=context.deadline), context,
                           "read secret-bundles", scope=scope, detail="key table and pepper")]


ROLE_CHECKS: dict[str, Callable[[Context], Awaitable[list[Check]]]] = {
    "gateway": gateway_checks,
    "ingest": ingest_checks,
    "authorizer": authorizer_checks,
}


# ---------------------------------------------------------------------------------------------------------------------
# Everything together


def credentials_check() -> tuple[Check, Any]:
    """The credentials load and produce a signing key (no network unless the provider federates)."""
    check = Check("credentials", ok=True)
    try:
        credentials = runtime.credentials()
        credentials.signing_key()
    except ConfigError as exc:
        check.ok, check.detail = False, str(exc)
        check.fix = "configure OCI credentials: ~/.oci/config (oci setup config) or the OCI_* variables"
        return check, None
    check.detail = f"{credentials.kind}, region {deployment.region(runtime.settings(), credentials) or '?'}"
    return check, credentials


async def endpoint_check(url: str) -> Check:
    """DNS, TCP and TLS to ``url``, timed, with the fix for the step that failed."""
    from core.oci.probe import CONNECT, DNS, TIMEOUT, TLS, probe

    found = await probe(url)
    name = f"endpoint {found.host}"
    if found.ok:
        return Check(name, True, f"DNS {found.dns_ms} ms, connect+TLS {found.connect_ms} ms",
                     ms=(found.dns_ms or 0) + (found.connect_ms or 0))
    fixes = {
        DNS: f"{found.host} does not resolve: check OCI_REGION (a region with Generative AI, e.g. us-chicago-1) and "
             "this machine's DNS (in a VCN, the subnet uses the VCN resolver)",
        TLS: f"the TLS handshake with {found.host} failed: a proxy or firewall intercepts HTTPS; trust its CA "
             "(SSL_CERT_FILE=<its bundle>) or let *.oraclecloud.com bypass it",
        TIMEOUT: f"no connection to {found.host}:{found.port}: from a function set egress = \"nat\" in "
                 "terraform.tfvars; from a laptop check the proxy and firewall",
        CONNECT: f"{found.host}:{found.port} refused or unreachable: check the route (NAT or service gateway) "
                 "and the firewall",
    }
    return Check(name, False, f"{found.failure}: {found.detail}", fixes[found.failure or CONNECT])


async def run(role: str, *, grantee: str, deadline: float | None = None, namespace: str | None = None,
              expected_policies: dict[str, Any] | None = None) -> Report:
    """Every check of ``role``; checks after a failed credentials or endpoint check are skipped."""
    report = Report(role)
    check, credentials = credentials_check()
    report.checks.append(check)
    if credentials is None:
        return report
    settings = runtime.settings()
    try:
        compartment = deployment.compartment_id(settings, credentials)
        base = deployment.genai_url(settings, credentials, "chat").rsplit("/actions/", 1)[0]
    except ConfigError as exc:
        report.checks.append(Check("configuration", False, str(exc), f"fix the configuration: {exc}"))
        return report
    endpoint = await endpoint_check(base)
    report.checks.append(endpoint)
    if not endpoint.ok:
        return report
    context = Context(grantee=grantee, compartment=compartment, endpoint=endpoint.name.split(" ", 1)[1],
                      deadline=deadline, namespace=namespace)
    report.checks.extend(await ROLE_CHECKS[role](context))
    if expected_policies:
        report.checks.append(await policies_check(list(expected_policies.get("statements") or []),
                                                  str(expected_policies.get("compartment_id")), context))
    return report


# ---------------------------------------------------------------------------------------------------------------------
# The policies Terraform should have created (read with the operator's identity)


def _normal(statement: str) -> str:
    return " ".join(statement.split()).lower()


async def policies_check(expected: list[str], compartment: str, context: Context) -> Check:
    """Every expected statement is in a policy of ``compartment`` (case and spacing aside)."""
    from core.oci.identity import policy_statements

    found: list[str] = []

    async def read() -> None:
        found.extend(await policy_statements(runtime.client(), compartment, deadline=context.deadline))

    check = await run_call("policies", read, context, "inspect policies", scope=f"compartment id {compartment}",
                           detail=f"{len(expected)} statements expected")
    if not check.ok:
        return check
    present = {_normal(statement) for statement in found}
    missing = [statement for statement in expected if _normal(statement) not in present]
    if missing:
        check.ok = False
        check.detail = f"{len(missing)} of {len(expected)} statements missing in compartment {compartment}"
        check.fix = ("terraform apply creates them; or add to a policy of that compartment: "
                     + " | ".join(missing))
    else:
        check.detail = f"all {len(expected)} statements present"
    return check


# ---------------------------------------------------------------------------------------------------------------------
# Entry points


def function_grantee(role: str) -> str:
    """The policy subject of a deployed role (Terraform names the group <name_prefix>-<role>-fn)."""
    return f"dynamic-group <name_prefix>-{role}-fn"


async def for_invocation(body: dict[str, Any], *, deadline: float | None = None) -> dict[str, Any]:
    """``fn invoke`` with ``{"doctor": true}``: this role's checks, as its own dynamic group."""
    role = runtime.role()
    namespace = body.get("namespace") if isinstance(body.get("namespace"), str) else None
    report = await run(role, grantee=function_grantee(role), deadline=deadline, namespace=namespace)
    return report.to_json()


DEEP_HEALTH_INTERVAL_SECONDS = 60.0


@dataclass
class _DeepHealth:
    """The last deep check of this container: it spends tokens, so it runs at most once a minute."""

    at: float = 0.0
    result: dict[str, Any] | None = None


async def deep_health(*, deadline: float | None = None, clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """The gateway checks, or the previous result (with its age) when it is less than a minute old."""
    state = runtime.memo(("doctor", "deep_health"), _DeepHealth)
    now = clock()
    if state.result is not None and now - state.at < DEEP_HEALTH_INTERVAL_SECONDS:
        return {**state.result, "cached_seconds": round(now - state.at, 1)}
    state.at = now
    report = await run("gateway", grantee=function_grantee("gateway"), deadline=deadline)
    state.result = report.to_json()
    return state.result

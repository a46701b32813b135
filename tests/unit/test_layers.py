"""The house rules, read from the code's own imports: which layer may use which.

* ``core/oci/`` is the only package that talks to OCI; nothing outside it imports httpx or httpcore, except the
  chat image fetcher, which fetches from the internet (not OCI) with its own DNS-pinned client.
* Handlers are a few lines over a service: they import nothing from ``core/oci/`` (only the router reads the
  process state, for the role and the body limit).
* Domain modules are pure: no OCI, no process state, no services.
* ``core/oci/`` stands below the services: it imports none of them, nor the process state.
* ``func.py`` only names the fdk adapter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("core", "handlers", "adapters")
HTTP_LIBRARIES = ("httpx", "httpcore")
HTTP_EXCEPTIONS = {"core.chat.images"}
PURE = {
    "core.aliases", "core.catalog", "core.policy", "core.settings", "core.errors", "core.regions",
    "core.validation", "core.exchange", "core.logs", "core.apikeys", "core.jsonio",
    "core.chat.request", "core.chat.translate", "core.chat.generic", "core.chat.cohere", "core.chat.cohere_v2",
    "core.chat.params", "core.chat.schema", "core.chat.stream", "core.chat.sse", "core.chat.common",
    "core.chat.limits", "core.chat.param_rules", "core.model_docs", "core.listed_models",
    "core.embeddings.request", "core.embeddings.plan", "core.embeddings.response", "core.embeddings.batching",
    "core.ingest.chunking", "core.ingest.detect", "core.ingest.events", "core.ingest.extract",
    "core.ingest.output", "core.ingest.config",
    "core.rerank.request", "core.rerank.plan", "core.rerank.response",
    "core.guardrails.policy", "core.guardrails.detect", "core.guardrails.mask", "core.guardrails.conversation",
    "core.moderations.request", "core.moderations.response",
    "core.responses.schema", "core.responses.request", "core.responses.tools", "core.responses.params",
    "core.responses.bridge", "core.responses.output", "core.responses.events", "core.responses.records",
    "core.vectorstores.ids", "core.vectorstores.filters",
    "core.responses.screening",
}
SERVICES_AND_STATE = ("core.runtime", "core.oci", "core.chat.service", "core.embeddings.service",
                      "core.ingest.pipeline", "core.health", "core.models", "core.keystore", "core.authorizer",
                      "core.rerank.service", "core.guardrails.service", "core.guardrails.chat", "core.moderations.service",
                      "core.gateway_headers", "core.model_list",
                      "core.responses.service", "core.responses.stream", "core.responses.store", "core.responses.native",
                      "core.responses.guardrails",
                      "handlers", "adapters")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    files = [p for top in SHIPPED for p in (ROOT / top).rglob("*.py")] + [ROOT / "func.py"]
    return {_module_name(p): _imports(p) for p in files}


GRAPH = _graph()


def _under(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _offenders(modules: dict[str, set[str]], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    return {m: sorted(i for i in imports if _under(i, forbidden)) for m, imports in modules.items()
            if any(_under(i, forbidden) for i in imports)}


def test_the_graph_covers_the_shipped_code():
    assert {"core.oci.client", "core.chat.service", "handlers.chat", "adapters.fdk", "func"} <= set(GRAPH)


def test_only_core_oci_and_the_image_fetcher_import_an_http_library():
    outside = {m: i for m, i in GRAPH.items() if not _under(m, "core.oci") and m not in HTTP_EXCEPTIONS}
    assert _offenders(outside, HTTP_LIBRARIES) == {}


def test_handlers_do_not_reach_past_their_service():
    handlers = {m: i for m, i in GRAPH.items() if _under(m, "handlers")}
    assert _offenders(handlers, ("core.oci",)) == {}
    assert _offenders({m: i for m, i in handlers.items() if m != "handlers.router"}, ("core.runtime",)) == {}


@pytest.mark.parametrize("module", sorted(PURE))
def test_domain_modules_are_pure(module):
    assert module in GRAPH, f"{module} is listed as pure but does not exist"
    assert _offenders({module: GRAPH[module]}, SERVICES_AND_STATE) == {}


def test_core_oci_stands_below_the_services_and_the_process_state():
    oci = {m: i for m, i in GRAPH.items() if _under(m, "core.oci")}
    above = ("core.runtime", "core.chat", "core.embeddings", "core.ingest", "core.health", "core.models",
             "core.keystore", "core.authorizer", "core.rerank", "core.guardrails", "core.moderations", "handlers",
             "adapters")
    assert _offenders(oci, above) == {}


def test_func_py_only_names_the_fdk_adapter():
    assert {i for i in GRAPH["func"] if not i.startswith("__future__")} == {"adapters.fdk", "adapters.fdk.handler"}

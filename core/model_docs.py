"""``docs/models.md``, generated from the catalog and the parameter table so the two cannot drift.

``python -m core.model_docs`` rewrites the file; a test fails when it differs from what this
module would write.
"""

from __future__ import annotations

from pathlib import Path

from core.catalog import (CATALOG, CHAT, EMBEDDING, FORMER_IDS, RENAMED, RERANK, ModelInfo, on_demand_retired,
                          status_on)
from core.chat.param_rules import RULES, rule_for

DOCS_PATH = Path(__file__).resolve().parents[1] / "docs" / "models.md"
AS_OF = "2026-12-07"
"""The day the table's lifecycle was last checked against OCI's pages; a model retired by then is listed apart."""

_INTRO = f"""# Models

Generated from `core/catalog.py` and `core/chat/param_rules.py` by `python -m core.model_docs`; a test fails
when this file and the code differ. Lifecycle as of {AS_OF}.

This table is what the gateway knows without asking OCI: the chat format, capabilities, limits and which
request parameters each model takes. At run time `GET /v1/models` also reads OCI's own model list for the
region (see [api.md](api.md#get-v1models)), which wins for what it says (which models exist, their
lifecycle dates). OCI's list does not say whether a model is offered **on demand** in a region or only on
dedicated AI clusters: a model it lists may still answer 404 on demand. A model id missing here still works
when its vendor prefix is known (`meta.`, `xai.`, `google.`, `openai.`, `cohere.`): it gets its vendor's
defaults and OCI judges the request.
"""


def _yes(value: bool) -> str:
    return "✓" if value else "—"


def _efforts(model: ModelInfo) -> str:
    efforts = rule_for(model).efforts
    if efforts is None:
        return "sent as asked"
    return ", ".join(e.lower() for e in efforts) if efforts else "dropped"


def _refused(model: ModelInfo) -> str:
    return ", ".join(f"`{p}`" for p in sorted(rule_for(model).refuses)) or "—"


def _chat_table(models: list[ModelInfo]) -> list[str]:
    lines = ["| Model | Format | Status | Vision | Tools | `reasoning_effort` | Refused | Limit field | Context | "
             "Max output |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for m in models:
        status = status_on(m, AS_OF) + (f" (retires {m.retired_on})" if m.retired_on else "")
        if m.responses_only:
            status += ", Responses API only"
        lines.append(f"| `{m.id}` | {m.api_format}{' + COHEREV2' if m.cohere_v2 and m.api_format != 'COHEREV2' else ''}"
                     f" | {status} | {_yes(m.vision)} | {_yes(m.tools)} | {_efforts(m)} | {_refused(m)} | "
                     f"`{rule_for(m).max_tokens_field}` | {m.context_window or ''} | {m.max_output_tokens} |")
    return lines


def _embedding_table(models: list[ModelInfo]) -> list[str]:
    lines = ["| Model | Status | Dimensions | `dimensions` accepted | Images |", "| --- | --- | --- | --- | --- |"]
    for m in models:
        sizes = ", ".join(str(d) for d in m.output_dimensions) or "native size only"
        lines.append(f"| `{m.id}` | {status_on(m, AS_OF)} | {m.dimensions} | {sizes} | {_yes(m.image_input)} |")
    return lines


def _rerank_table(models: list[ModelInfo]) -> list[str]:
    lines = ["| Model | Status | Serving | Context |", "| --- | --- | --- | --- |"]
    for m in models:
        serving = "dedicated AI clusters only (through an alias)" if m.dedicated_only else "on demand"
        lines.append(f"| `{m.id}` | {status_on(m, AS_OF)} | {serving} | {m.context_window or ''} |")
    return lines


def _retired_table(models: list[ModelInfo]) -> list[str]:
    lines = ["| Model | Retired on demand | Retired on dedicated clusters | Replacement |", "| --- | --- | --- | --- |"]
    for m in models:
        lines.append(f"| `{m.id}` | {m.retired_on or 'yes (date not published)'} | "
                     f"{m.dedicated_retired_on or 'not known: still served'} | "
                     f"{f'`{m.replacement}`' if m.replacement else ''} |")
    return lines


def _former_table() -> list[str]:
    lines = ["| Former id | What it is now | Evidence |", "| --- | --- | --- |"]
    for old, former in FORMER_IDS.items():
        what = (f"an alias of `{former.target}`" if former.case == RENAMED
                else f"404 `model_not_found` naming `{former.target}`")
        lines.append(f"| `{old}` | {what} | {former.evidence} |")
    return lines


def _rules_table() -> list[str]:
    lines = ["| Models | `reasoning_effort` | Refused | Limit field | Source | Evidence |",
             "| --- | --- | --- | --- | --- | --- |"]
    for rule in RULES:
        efforts = ("sent as asked" if rule.efforts is None else
                   ", ".join(e.lower() for e in rule.efforts) if rule.efforts else "dropped")
        refused = ", ".join(f"`{p}`" for p in sorted(rule.refuses)) or "—"
        models = ", ".join(f"`{m}`" for m in rule.models)
        lines.append(f"| {models} | {efforts} | {refused} | `{rule.max_tokens_field}` | {rule.source} | "
                     f"{rule.evidence} |")
    return lines


def markdown() -> str:
    """The whole of ``docs/models.md``."""
    live = [m for m in CATALOG.values() if not on_demand_retired(m, AS_OF)]
    retired = [m for m in CATALOG.values() if on_demand_retired(m, AS_OF)]
    parts = [
        _INTRO,
        "## Chat models\n",
        "`reasoning_effort`: the levels a model takes (\"dropped\": the model has no such knob, so the gateway "
        "drops the parameter and says so in `x-gateway-dropped-params`; \"sent as asked\": not known, OCI "
        "judges). Refused: parameters answered with a 400 naming them, or dropped with "
        "`DROP_UNSUPPORTED_PARAMS=true`. Limit field: where `max_tokens`/`max_completion_tokens` go.\n",
        "\n".join(_chat_table([m for m in live if m.kind == CHAT])),
        "\n## Embedding models\n",
        "\n".join(_embedding_table([m for m in live if m.kind == EMBEDDING])),
        "\n## Rerank models\n",
        "Served by `/v2/rerank`, `/v1/rerank` and `/rerank` (see [rerank-and-guardrails.md](rerank-and-guardrails.md)).\n",
        "\n".join(_rerank_table([m for m in live if m.kind == RERANK])),
        "\n## Retired models\n",
        "On demand they answer 404 `model_not_found` naming the replacement, without a call to OCI. An alias "
        "with a dedicated endpoint keeps working until the dedicated retirement date.\n",
        "\n".join(_retired_table(retired)),
        "\n## Former ids\n",
        "Ids this gateway's catalog used that OCI does not serve under that name.\n",
        "\n".join(_former_table()),
        "\n## Parameter rules\n",
        "First matching row wins. Source: `captured` (a recorded answer of the live service), `documented` "
        "(Oracle's documentation, the `oci` SDK, Oracle's live integration tests), `inferred` (third-party "
        "reports, the upstream vendor's API), `unknown` (no evidence: sent, and a refusal by OCI is learned for "
        "the rest of the process).\n",
        "\n".join(_rules_table()),
    ]
    return "\n".join(parts) + "\n"


def update(path: Path = DOCS_PATH) -> bool:
    """Rewrite ``docs/models.md``; True if it changed."""
    text = markdown()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


if __name__ == "__main__":  # pragma: no cover - `python -m core.model_docs`
    print("docs/models.md updated" if update() else "docs/models.md already up to date")

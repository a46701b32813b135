"""Every setting the gateway reads, declared once.

OCI Functions hands function and application configuration to the container as
environment variables, so the environment is the only source (read once per process by
:func:`core.runtime.settings`). Each field of
:class:`Settings` carries its environment key, type, default and meaning in one
declaration; docs/configuration.md's table and the Terraform checks are
generated from / compared with :data:`SETTINGS_TABLE`, so they cannot drift.

Credential variables (``OCI_USER``, ``OCI_KEY``, ``OCI_RESOURCE_PRINCIPAL_*``...)
are declared here too, for the table, but only :mod:`core.oci.credentials` reads
their values from the environment. A setting declared ``secret`` (a key, a token, a
passphrase, the API key table and pepper) is held as a :class:`Secret`, whose ``repr``,
``str`` and format never show the value, so printing or logging a :class:`Settings`
(or one of its fields) cannot leak it; :meth:`Secret.reveal` is the one way to the value.
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping

from core.errors import ConfigError

ROLES = ("gateway", "ingest", "authorizer")
AUTH_MODES = ("auto", "resource_principal", "api_key", "config_file", "instance_principal", "oke_workload_identity")


class Secret:
    """A secret setting's value: ``repr``, ``str`` and format show ``<hidden>``; :meth:`reveal` gives the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    def __str__(self) -> str:
        return "<hidden>"

    def __format__(self, spec: str) -> str:
        return "<hidden>"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __copy__(self) -> "Secret":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "Secret":
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled out of the process")


def _setting(env: str, default: Any, doc: str, *, secret: bool = False, choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, "secret": secret, "choices": choices})


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _parse_json_object(raw: str) -> dict[str, Any]:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


@dataclass(frozen=True, init=False)
class Settings:
    """The gateway's configuration, read once per process from the environment."""

    def __init__(self, **values: Any) -> None:
        """Settings by name, each one not given at its default. Written here, not generated: dataclass's generated
        ``__init__`` for 90 fields cost every cold start about 2 ms to build (core.settings import 11.4 -> 9.1 ms)."""
        unknown = values.keys() - _DEFAULTS.keys()
        if unknown:
            raise TypeError(f"Settings() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        for name, default in _DEFAULTS.items():
            object.__setattr__(self, name, values.get(name, default))

    gateway_role: str = _setting(
        "GATEWAY_ROLE", "gateway",
        "What this deployed function is: `gateway` (OpenAI HTTP API and `fn invoke`), `ingest` (Object Storage "
        "events), `authorizer` (API Gateway authorizer).",
        choices=ROLES,
    )
    oci_auth: str = _setting(
        "OCI_AUTH", "auto",
        "Credential provider: `auto` (resource principal if present, else `OCI_USER`/`OCI_KEY` API key, else "
        "`~/.oci/config`), or one of `resource_principal`, `api_key`, `config_file`, `instance_principal` (an OCI "
        "compute instance), `oke_workload_identity` (a pod on an enhanced OKE cluster); the last two are never "
        "auto-detected.",
        choices=AUTH_MODES,
    )
    oci_region: str | None = _setting(
        "OCI_REGION", None,
        "Region of the Generative AI endpoint, e.g. `us-chicago-1`. Defaults to the credential's region "
        "(`OCI_RESOURCE_PRINCIPAL_REGION` in Functions, `region` in `~/.oci/config`).",
    )
    oci_compartment_id: str | None = _setting(
        "OCI_COMPARTMENT_ID", None,
        "Compartment OCID billed for inference. Defaults to the resource principal's compartment, then the tenancy.",
    )
    oci_genai_endpoint: str | None = _setting(
        "OCI_GENAI_ENDPOINT", None,
        "Overrides the inference host (`scheme://host[:port]`) for every Generative AI call; used for the local "
        "emulator and private endpoints.",
    )
    oci_genai_management_endpoint: str | None = _setting(
        "OCI_GENAI_MANAGEMENT_ENDPOINT", None,
        "Overrides the Generative AI management host (`scheme://host[:port]`) where OCI's model list is read "
        "(`ListModels`, `ListModelDiscovery`). Unset: the host of `OCI_GENAI_ENDPOINT` when that is set (the local "
        "emulator serves both), else the region's.",
    )
    oci_objectstorage_endpoint: str | None = _setting(
        "OCI_OBJECTSTORAGE_ENDPOINT", None,
        "Overrides the Object Storage host (`scheme://host[:port]`).",
    )
    oci_max_retries: int = _setting(
        "OCI_MAX_RETRIES", 3,
        "Retries of a failed upstream call, with exponential backoff and jitter, honouring `Retry-After`, never past "
        "the invocation deadline. Chat and embeddings are re-sent only after 429, 502, 503 or when the request never "
        "reached OCI; reads also after 500, 504 and broken connections (docs/decisions.md, \"Retries\").",
    )
    oci_timeout_seconds: float = _setting(
        "OCI_TIMEOUT_SECONDS", 120.0,
        "Upper bound for one upstream call when the invocation carries no deadline (local runs).",
    )
    deadline_margin_seconds: float = _setting(
        "DEADLINE_MARGIN_SECONDS", 1.5,
        "Time kept in reserve before `Fn-Deadline` so the gateway answers with its own error before the platform "
        "kills the call.",
    )
    max_body_bytes: int = _setting(
        "MAX_BODY_BYTES", 6 * 1024 * 1024,
        "Largest request body accepted (OCI Functions caps requests at 6 MB); larger bodies get a 413.",
    )
    max_messages: int = _setting(
        "MAX_MESSAGES", 1000, "Most messages accepted in one chat request (400 above).",
    )
    max_input_chars: int = _setting(
        "MAX_INPUT_CHARS", 1_000_000,
        "Most characters of text in one chat request: messages and their names, tool calls and tool definitions, "
        "the `response_format` schema, `stop` sequences and `logit_bias`.",
    )
    max_images: int = _setting(
        "MAX_IMAGES", 8, "Most images in one chat request.",
    )
    max_image_bytes: int = _setting(
        "MAX_IMAGE_BYTES", 5 * 1024 * 1024, "Largest image accepted (decoded bytes, inline or fetched).",
    )
    max_total_image_bytes: int = _setting(
        "MAX_TOTAL_IMAGE_BYTES", 16 * 1024 * 1024,
        "Most image bytes (decoded, inline and fetched together) in one chat request; fetched images are checked on "
        "their declared length before their body is read and counted as it arrives. A 400 above.",
    )
    drop_unsupported_params: bool = _setting(
        "DROP_UNSUPPORTED_PARAMS", False,
        "Drop OpenAI parameters the target model family cannot take instead of answering 400 (like LiteLLM's "
        "`drop_params`). Harmless ones (`user`, `store`...) are always dropped.",
    )
    log_level: str = _setting(
        "LOG_LEVEL", "INFO", "Level of the gateway's JSON log lines (`DEBUG`, `INFO`, `WARNING`, `ERROR`).",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    image_url_fetch: bool = _setting(
        "IMAGE_URL_FETCH", True,
        "Fetch `http(s)` chat image URLs and inline them as data URIs (public addresses only, DNS pinned, redirects "
        "re-checked, size and time capped). `false` makes no outbound fetch: image URLs then get a 400.",
    )
    image_url_max_bytes: int = _setting(
        "IMAGE_URL_MAX_BYTES", 5 * 1024 * 1024,
        "Largest image fetched from a URL; a larger one is a 400.",
    )
    image_url_timeout_seconds: float = _setting(
        "IMAGE_URL_TIMEOUT_SECONDS", 10.0,
        "Time cap for fetching one image URL (DNS, redirects and body together); a slower one is a 400.",
    )
    # Credential variables: declared for the table; values are read only by core.oci.credentials.
    oci_user: str | None = _setting("OCI_USER", None, "API-key auth: user OCID.")
    oci_fingerprint: str | None = _setting("OCI_FINGERPRINT", None, "API-key auth: fingerprint of the public key.")
    oci_tenancy: str | None = _setting("OCI_TENANCY", None, "API-key auth: tenancy OCID.")
    oci_key: Secret | None = _setting(
        "OCI_KEY", None, "API-key auth: the PEM private key itself (`\\n` escapes allowed).", secret=True
    )
    oci_key_file: str | None = _setting("OCI_KEY_FILE", None, "API-key auth: path of the PEM private key.")
    oci_key_passphrase: Secret | None = _setting(
        "OCI_KEY_PASSPHRASE", None, "API-key auth: passphrase of an encrypted private key.", secret=True
    )
    oci_config_file: str | None = _setting(
        "OCI_CONFIG_FILE", None, "Config-file auth: path of the OCI config file (default `~/.oci/config`)."
    )
    oci_config_profile: str | None = _setting(
        "OCI_CONFIG_PROFILE", None, "Config-file auth: profile name (default `DEFAULT`); `security_token_file` "
        "profiles (session tokens) are supported."
    )
    oci_resource_principal_version: str | None = _setting(
        "OCI_RESOURCE_PRINCIPAL_VERSION", None, "Set by OCI Functions (`2.2`): resource principal auth."
    )
    oci_resource_principal_rpst: Secret | None = _setting(
        "OCI_RESOURCE_PRINCIPAL_RPST", None, "Set by OCI Functions: the resource principal session token, or its path.",
        secret=True,
    )
    oci_resource_principal_private_pem: Secret | None = _setting(
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", None,
        "Set by OCI Functions: the session private key, or its path.", secret=True,
    )
    oci_resource_principal_private_pem_passphrase: Secret | None = _setting(
        "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE", None,
        "Passphrase of the session private key, or its path.", secret=True,
    )
    oci_resource_principal_region: str | None = _setting(
        "OCI_RESOURCE_PRINCIPAL_REGION", None,
        "Set by OCI Functions: the function's region. OKE workload identity: set it in the pod spec."
    )
    oci_metadata_base_url: str | None = _setting(
        "OCI_METADATA_BASE_URL", None,
        "Instance-principal auth: base URL of the instance metadata service (default "
        "`http://169.254.169.254/opc/v2`, then the IPv6 one).",
    )
    kubernetes_service_host: str | None = _setting(
        "KUBERNETES_SERVICE_HOST", None, "Set by Kubernetes: OKE workload identity exchanges tokens at "
        "`https://$KUBERNETES_SERVICE_HOST:12250`."
    )
    oci_kubernetes_service_account_token_path: str | None = _setting(
        "OCI_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH", None, "OKE workload identity: the pod's service account token "
        "file (default `/var/run/secrets/kubernetes.io/serviceaccount/token`)."
    )
    oci_kubernetes_service_account_cert_path: str | None = _setting(
        "OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", None, "OKE workload identity: CA bundle that verifies the token "
        "service (default `/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`)."
    )
    oci_region_metadata: dict[str, Any] | None = _setting(
        "OCI_REGION_METADATA", None,
        "Set by OCI Functions: JSON with `realmDomainComponent` and `regionIdentifier`; endpoints are built from it.",
    )
    # Models, aliases and embeddings.
    model_aliases_file: str | None = _setting(
        "MODEL_ALIASES_FILE", None,
        "Path of a JSON file of model aliases shipped with the function (relative paths are relative to the function "
        "directory); format in \"Models and aliases\".",
    )
    model_aliases: dict[str, Any] | None = _setting(
        "MODEL_ALIASES", None,
        "Model aliases as a JSON object, same format as the file; an entry here replaces the file's entry of the same "
        "name. OCI limits a function's whole configuration to 4 KB: keep long tables in the file.",
    )
    served_models: str | None = _setting(
        "SERVED_MODELS", None,
        "Comma-separated model ids or globs (e.g. `cohere.embed-*,meta.*`) this deployment serves and lists in "
        "`/v1/models`; unset serves the whole catalog. Aliases are always served.",
    )
    model_list_ttl_seconds: float = _setting(
        "MODEL_LIST_TTL_SECONDS", 3600.0,
        "How long a container keeps OCI's model list (read on the first `/v1/models` or `/health?deep=1` call, and "
        "alongside the first chat call) before reading it again; `0` never reads it (the built-in table only). "
        "Needs `inspect generative-ai-model`; when refused the table is used and the log says so once.",
    )
    embeddings_concurrency: int = _setting(
        "EMBEDDINGS_CONCURRENCY", 8,
        "Upstream embedText calls (at most 96 inputs each) one `/v1/embeddings` request (or one object's ingestion) "
        "has OCI working on at the same time; a call counts until its answer begins to arrive.",
    )
    embeddings_oci_base64: str = _setting(
        "EMBEDDINGS_OCI_BASE64", "auto",
        "`auto`: a model's first `encoding_format: base64` call asks OCI for base64 embeddings beside the floats, "
        "and when OCI's strings are exactly the little-endian float32 text the gateway would write, later calls ask "
        "for base64 alone and pass OCI's strings through (no numbers parsed here); otherwise, and with `off`, the "
        "gateway packs the floats itself. The log says once per model which was found.",
        choices=("auto", "off"),
    )
    embeddings_token_encoding: str = _setting(
        "EMBEDDINGS_TOKEN_ENCODING", "cl100k_base",
        "Tokenizer that turns token-id `input` arrays back into text: `cl100k_base` (what LangChain and OpenAI's "
        "embedding models use), `o200k_base`, or `none` to reject token ids with a 400.",
        choices=("cl100k_base", "o200k_base", "none"),
    )
    embeddings_truncate: str = _setting(
        "EMBEDDINGS_TRUNCATE", "END",
        "Default `truncate` for embeddings when neither the request nor its alias sets one: `END`, `START`, or "
        "`NONE` (an input over 512 tokens is then an error).",
        choices=("NONE", "START", "END"),
    )
    rerank_max_documents_per_call: int = _setting(
        "RERANK_MAX_DOCUMENTS_PER_CALL", 1000,
        "Most documents sent to OCI in one rerankText call (OCI states no limit); a longer `/v1/rerank` list, or "
        "one whose documents exceed 6 MB, is split into several calls whose results are merged by score.",
    )
    rerank_concurrency: int = _setting(
        "RERANK_CONCURRENCY", 4, "Upstream rerankText calls one split `/v1/rerank` request has OCI working on at the "
        "same time; a call counts until its answer begins to arrive.",
    )
    guardrails: str | None = _setting(
        "GUARDRAILS", None,
        "Guardrail policy for every model, e.g. `content_moderation=block,prompt_injection=inform,pii=mask` "
        "(each check `off`, `inform`, `block`, and `mask` for `pii`); aliases and API keys can only make it "
        "stricter. See docs/rerank-and-guardrails.md.",
    )
    guardrails_pii_types: str = _setting(
        "GUARDRAILS_PII_TYPES", "PERSON,EMAIL,TELEPHONE_NUMBER",
        "PII types OCI ApplyGuardrails looks for (comma-separated OCI labels).",
    )
    guardrails_max_chars_per_call: int = _setting(
        "GUARDRAILS_MAX_CHARS_PER_CALL", 5000,
        "Longest text sent in one ApplyGuardrails call; longer texts are checked in pieces cut at whitespace "
        "(OCI documents no limit; 5,000 is its Language service's per-record PII limit).",
    )
    guardrails_version: str | None = _setting(
        "GUARDRAILS_VERSION", None,
        "Pins the OCI guardrail version (e.g. `1.0.1`; `1.0` takes its latest patch); unset uses OCI's latest.",
    )
    # Responses API (`/v1/responses`).
    responses_bucket: str | None = _setting(
        "RESPONSES_BUCKET", None,
        "Bucket (`namespace/bucket`, or `bucket` for the tenancy's namespace) keeping stored responses, so "
        "`previous_response_id`, `GET` and `DELETE /v1/responses/{id}` work; unset keeps nothing (`store` is then "
        "accepted and ignored, and `previous_response_id` is a 400). See docs/responses.md.",
    )
    responses_store_default: bool = _setting(
        "RESPONSES_STORE_DEFAULT", True,
        "What a Responses request without `store` means: `true` keeps it (OpenAI's default), `false` keeps only "
        "requests that say `\"store\": true`.",
    )
    oci_genai_project_id: str | None = _setting(
        "OCI_GENAI_PROJECT_ID", None,
        "Project OCID sent as `OpenAI-Project` to OCI's own Responses API (`/openai/v1/responses`), which models "
        "whose alias says `\"responses\": \"native\"` use; OCI requires a project there.",
    )
    # Document ingestion (the `ingest` role).
    ingest_input_buckets: str | None = _setting(
        "INGEST_INPUT_BUCKETS", None,
        "Ingest: comma-separated buckets whose object events are processed, as `bucket` (any namespace) or "
        "`namespace/bucket`. Events for any other bucket are refused and logged. Required for the `ingest` role.",
    )
    ingest_output_bucket: str | None = _setting(
        "INGEST_OUTPUT_BUCKET", None,
        "Ingest: bucket (`bucket` or `namespace/bucket`; the event's namespace by default) receiving the embeddings, "
        "manifests and dead letters. Required for the `ingest` role.",
    )
    ingest_embedding_model: str = _setting(
        "INGEST_EMBEDDING_MODEL", "cohere.embed-v4.0",
        "Ingest: embedding model (an OCI model id or an alias from \"Models and aliases\"). The default makes "
        "1536-dimension vectors (Embed v3, 1024, was retired on 2026-10-21; see docs/upgrading.md).",
    )
    ingest_prefixes: str | None = _setting(
        "INGEST_PREFIXES", None,
        "Ingest: comma-separated object-name prefixes to process (others are skipped and logged); unset processes "
        "every object of the input buckets.",
    )
    ingest_chunk_tokens: int = _setting(
        "INGEST_CHUNK_TOKENS", 400,
        "Ingest: most tokens per chunk, counted with cl100k_base; at most 450 so Cohere's 512-token input limit "
        "keeps a safety margin (its own tokenizer is not available offline).",
    )
    ingest_chunk_overlap_tokens: int = _setting(
        "INGEST_CHUNK_OVERLAP_TOKENS", 50,
        "Ingest: tokens of trailing sentences repeated at the start of the next chunk (0 for none).",
    )
    ingest_part_max_bytes: int = _setting(
        "INGEST_PART_MAX_BYTES", 8 * 1024 * 1024,
        "Ingest: a `part-NNNNN.jsonl` output object is closed once it reaches this size.",
    )
    ingest_cut_process_min_bytes: int = _setting(
        "INGEST_CUT_PROCESS_MIN_BYTES", 8 * 1024 * 1024,
        "Ingest: a streamed (non-PDF) object at least this large is extracted and chunked in a child process, "
        "a CPU core of its own beside the embedding calls (it starts while the object is opened and holds about "
        "65 MB); smaller ones in a thread. `-1`: never; a function with under 512 MB of memory never does.",
    )
    ingest_embedding_format: str = _setting(
        "INGEST_EMBEDDING_FORMAT", "float",
        "Ingest: `float` (a JSON list) or `base64` (little-endian float32, about 3x smaller) for each line's "
        "`embedding`.",
        choices=("float", "base64"),
    )
    ingest_json_text_fields: str | None = _setting(
        "INGEST_JSON_TEXT_FIELDS", None,
        "Ingest: comma-separated field names (dotted paths allowed) whose values are the text of JSON and JSON "
        "Lines records; unset takes every string value.",
    )
    ingest_max_object_bytes: int = _setting(
        "INGEST_MAX_OBJECT_BYTES", 2 * 1024 * 1024 * 1024,
        "Ingest: larger objects are not read; they get a dead letter (`too_large`).",
    )
    ingest_max_whole_object_bytes: int = _setting(
        "INGEST_MAX_WHOLE_OBJECT_BYTES", 32 * 1024 * 1024,
        "Ingest: largest JSON document or PDF (these are parsed whole, in memory); larger ones get a dead letter.",
    )
    ingest_output_prefix: str = _setting(
        "INGEST_OUTPUT_PREFIX", "embeddings/",
        "Ingest: where the outputs of object `<name>` go: `<prefix><name>/part-NNNNN.jsonl` and "
        "`<prefix><name>/manifest.json`. `{bucket}` and `{namespace}` are replaced by the source's.",
    )
    ingest_failed_prefix: str = _setting(
        "INGEST_FAILED_PREFIX", "failed/",
        "Ingest: dead letters go to `<prefix><name>.json`; `{bucket}` and `{namespace}` are replaced.",
    )
    ingest_time_reserve_seconds: float = _setting(
        "INGEST_TIME_RESERVE_SECONDS", 25.0,
        "Ingest: when less than this remains before the invocation deadline, the work done so far is saved "
        "(a `partial` manifest) and the object is recorded for a resumed retry.",
    )
    ingest_pdf_page_seconds: float = _setting(
        "INGEST_PDF_PAGE_SECONDS", 60.0,
        "Ingest: most time one PDF page may take to read (pages are read in a child process that is stopped "
        "then); a slower page is skipped and listed in the manifest's `notes`.",
    )
    ingest_continuation: str = _setting(
        "INGEST_CONTINUATION", "auto",
        "Ingest: how an object that does not fit in one invocation is finished: `invoke` (the function invokes "
        "itself in detached mode, which may run up to `detached_mode_timeout_in_seconds`, 3600 s), `off` (the "
        "scheduled reconciliation finishes it), or `auto` (`invoke` when running in OCI Functions, else `off`).",
        choices=("auto", "invoke", "off"),
    )
    ingest_max_invocations: int = _setting(
        "INGEST_MAX_INVOCATIONS", 24,
        "Ingest: invocations one object version may take through continuations; past it the object keeps its "
        "`partial` manifest and retryable dead letter for the scheduled reconciliation.",
    )
    fn_fn_id: str | None = _setting(
        "FN_FN_ID", None, "Set by OCI Functions: this function's OCID (the ingest continuation invokes it).",
    )
    oci_functions_endpoint: str | None = _setting(
        "OCI_FUNCTIONS_ENDPOINT", None,
        "Overrides the Functions management host (`scheme://host[:port]`) used to look up the ingest function's "
        "invoke endpoint; used for the local emulator.",
    )
    # Vector stores (PostgreSQL with pgvector): the ingest role writes them, the gateway role searches them.
    vector_store_url: Secret | None = _setting(
        "VECTOR_STORE_URL", None,
        "Vector stores: the PostgreSQL (pgvector) connection string, `postgresql://user:password@host:5432/db` or "
        "`key=value` pairs. TLS is required outside localhost (`sslmode=require` is added when unset). Unset, with "
        "no `VECTOR_STORE_URL_SECRET_OCID` either: no vector stores (ingestion writes JSONL only).",
        secret=True,
    )
    vector_store_url_secret_ocid: str | None = _setting(
        "VECTOR_STORE_URL_SECRET_OCID", None,
        "Vector stores: OCID of a Vault secret holding the connection string (read once per container); used when "
        "`VECTOR_STORE_URL` is unset.",
    )
    vector_store_statement_timeout_ms: int = _setting(
        "VECTOR_STORE_STATEMENT_TIMEOUT_MS", 30000,
        "Vector stores: the database's `statement_timeout` for this function's connection (a search or a write "
        "that takes longer is cancelled and answered with an error).",
    )
    vector_store_rerank_model: str | None = _setting(
        "VECTOR_STORE_RERANK_MODEL", None,
        "Vector stores: an OCI rerank model (e.g. `cohere.rerank-v4.0-fast`, or an alias) that reorders a search's "
        "nearest chunks and gives their scores (vector-store search and the Responses `file_search` tool, unless "
        "`ranking_options.ranker` is `none`). Unset: results are ranked by cosine similarity.",
    )
    vector_store_rerank_candidates: int = _setting(
        "VECTOR_STORE_RERANK_CANDIDATES", 50,
        "Vector stores: nearest chunks (per query) handed to `VECTOR_STORE_RERANK_MODEL`; the best "
        "`max_num_results` of them are returned. At least `max_num_results` are always reranked.",
    )
    # API keys (the `authorizer` role). Pepper values are read only by core.keystore, like credentials.
    api_keys_secret_ocid: str | None = _setting(
        "API_KEYS_SECRET_OCID", None,
        "Authorizer: OCID of the OCI Vault secret holding the API key table (JSON, see docs/security.md). Wins over "
        "`API_KEYS`.",
    )
    api_keys: Secret | None = _setting(
        "API_KEYS", None,
        "Authorizer: the API key table as JSON in the function configuration (small setups; 4 KB config limit, "
        "about 15 keys).",
        secret=True,
    )
    api_keys_pepper_secret_ocid: str | None = _setting(
        "API_KEYS_PEPPER_SECRET_OCID", None,
        "Authorizer: OCID of the OCI Vault secret holding the pepper (HMAC key of the stored key hashes). Wins over "
        "`API_KEYS_PEPPER`.",
    )
    api_keys_pepper: Secret | None = _setting(
        "API_KEYS_PEPPER", None,
        "Authorizer: the pepper itself (at least 32 bytes). Visible to anyone who can read the function's "
        "configuration: prefer `API_KEYS_PEPPER_SECRET_OCID`.",
        secret=True,
    )
    api_keys_cache_seconds: float = _setting(
        "API_KEYS_CACHE_SECONDS", 60.0,
        "Authorizer: how long a loaded key table and pepper are reused before Vault is read again (a revoked key "
        "stops working after at most this plus `API_KEYS_AUTH_TTL_SECONDS`).",
    )
    api_keys_stale_seconds: float = _setting(
        "API_KEYS_STALE_SECONDS", 300.0,
        "Authorizer: when re-reading the key table or pepper fails (Vault down or slow), a table loaded less than "
        "this long ago keeps being used, with a WARNING log line; a revoked key then works for at most this long. "
        "0 never uses a stale table.",
    )
    api_keys_auth_ttl_seconds: int = _setting(
        "API_KEYS_AUTH_TTL_SECONDS", 60,
        "Authorizer: `expiresAt` of an accepted key is now plus this (never past the key's expiry); API Gateway "
        "caches the decision until then (it caches for at least 60 s).",
    )
    oci_secrets_endpoint: str | None = _setting(
        "OCI_SECRETS_ENDPOINT", None,
        "Overrides the Vault secrets host (`scheme://host[:port]`); used for the local emulator and private "
        "endpoints.",
    )
    oci_identity_endpoint: str | None = _setting(
        "OCI_IDENTITY_ENDPOINT", None,
        "Overrides the IAM host the doctor reads policies from (`scheme://host[:port]`); used for the local "
        "emulator.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read every setting; a malformed value is a :class:`ConfigError` naming the variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = f.metadata["env"]
            raw = env.get(key)
            if raw is None or raw == "":
                continue
            try:
                value = _PARSERS.get(f.type, str)(raw)
            except (ValueError, TypeError) as exc:
                shown = "<hidden>" if f.metadata["secret"] else repr(raw[:80])
                raise ConfigError(f"setting {key}={shown} is invalid: {exc}") from None
            choices = f.metadata["choices"]
            if choices is not None:
                value = value.strip() if isinstance(value, str) else value
                if key == "LOG_LEVEL":
                    value = value.upper()
                if value not in choices:
                    raise ConfigError(f"setting {key}={raw!r} is invalid: expected one of {', '.join(choices)}")
            values[f.name] = value
        return cls(**values)


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Settings)}
"""Each setting's default (every default is immutable: dataclass refuses a list, dict or set)."""

_PARSERS: dict[Any, Callable[[str], Any]] = {
    "str": str,
    "str | None": str,
    "Secret | None": Secret,
    "int": int,
    "float": float,
    "bool": _parse_bool,
    "dict[str, Any] | None": _parse_json_object,
}


@dataclass(frozen=True)
class SettingInfo:
    """One row of the configuration table."""

    env: str
    type: str
    default: Any
    doc: str
    secret: bool


def _type_name(annotation: str) -> str:
    return {
        "str": "string", "str | None": "string", "Secret | None": "string", "int": "integer", "float": "number", "bool": "boolean",
        "dict[str, Any] | None": "JSON object",
    }.get(annotation, annotation)


SETTINGS_TABLE: tuple[SettingInfo, ...] = tuple(
    SettingInfo(f.metadata["env"], _type_name(f.type), f.default, f.metadata["doc"], f.metadata["secret"])
    for f in fields(Settings)
)
"""Every setting's environment key, type, default and meaning, in declaration order."""


def markdown_table() -> str:
    """The configuration table of docs/configuration.md, generated so it always matches the code."""
    lines = ["| Variable | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for row in SETTINGS_TABLE:
        default = "" if row.default is None else f"`{row.default}`"
        lines.append(f"| `{row.env}` | {row.type} | {default} | {row.doc} |")
    return "\n".join(lines)


CONFIGURATION_DOC = "docs/configuration.md"


def update_docs(path: str = CONFIGURATION_DOC) -> bool:
    """Rewrite the configuration table of docs/configuration.md in place; True if it changed."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("| Variable | Type | Default | Meaning |")
    end = text.find("\n\n", start)
    end = len(text.rstrip("\n")) if end < 0 else end
    updated = text[:start] + markdown_table() + text[end:]
    if updated != text:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(updated)
    return updated != text


if __name__ == "__main__":  # pragma: no cover - `python -m core.settings [--update-docs]`
    import sys

    if {"--update-docs", "--update-readme"} & set(sys.argv):  # --update-readme: the name it had before docs/
        print(f"{CONFIGURATION_DOC} updated" if update_docs() else f"{CONFIGURATION_DOC} already up to date")
    else:
        print(markdown_table())

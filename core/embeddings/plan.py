"""From a valid request to the list of OCI ``embedText`` calls that answer it (pure).

* The model's capabilities decide what is allowed: ``dimensions`` only maps to
  ``outputDimensions`` where the catalog lists the size (never a silently different
  size), images only for multimodal models.
* Token-id inputs are decoded to text with the configured encoding.
* Texts are grouped into calls of at most 96 (OCI's limit); each image is its own call
  (OCI takes one image per request). Each call remembers the request positions of its
  inputs, so the answers are put back in order whatever order they arrive in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from core.catalog import ModelInfo
from core.embeddings.request import IMAGE, TOKENS, EmbeddingRequest
from core.embeddings.tokens import TokenTable, get_table
from core.errors import invalid_request

MAX_BATCH = 96
"""Inputs per OCI embedText call."""


@dataclass(frozen=True)
class EmbedOptions:
    """The OCI-side options every call of one request shares."""

    input_type: str
    truncate: str
    output_dimensions: int | None
    expected_dimensions: int | None
    """The size the caller asked for (checked on every returned vector), or None."""


@dataclass(frozen=True)
class Prepared:
    """One input ready for OCI: text, or an image data URI."""

    text: str
    image: bool = False


@dataclass(frozen=True)
class Batch:
    """One upstream call: the request positions it answers and its ``EmbedTextDetails`` body."""

    indices: tuple[int, ...]
    body: dict[str, Any]


def embed_options(request: EmbeddingRequest, info: ModelInfo, *, default_truncate: str, name: str) -> EmbedOptions:
    """Check the request against the model and settle the OCI options (400s name the param)."""
    _check_image_input(request, info, name)
    output_dimensions = _output_dimensions(request.dimensions, info, name)
    input_type = request.input_type or info.default_input_type or "SEARCH_DOCUMENT"
    return EmbedOptions(input_type=input_type, truncate=request.truncate or default_truncate,
                        output_dimensions=output_dimensions, expected_dimensions=request.dimensions)


def _check_image_input(request: EmbeddingRequest, info: ModelInfo, name: str) -> None:
    """A 400 naming the first image when the catalog says the model embeds text only."""
    if request.has_images and not info.image_input and info.known:
        first = next(i for i in request.inputs if i.kind == IMAGE)
        raise invalid_request(
            f"The model '{name}' embeds text only; '{first.param}' is an image. Use an image-capable model such as "
            " cohere.embed-v4.0.", param=first.param, code="image_input_not_supported",
        )


def _output_dimensions(dims: int | None, info: ModelInfo, name: str) -> int | None:
    """The ``outputDimensions`` to send for the requested ``dimensions`` (None: send none), or a 400."""
    if dims is None:
        return None
    if not info.known:  # a model the catalog does not describe: let OCI judge, then check the size
        return dims
    if info.output_dimensions:
        if dims not in info.output_dimensions:
            allowed = ", ".join(str(d) for d in info.output_dimensions)
            raise invalid_request(f"The model '{name}' supports 'dimensions' of {allowed}, not {dims}.",
                                  param="dimensions", code="unsupported_dimensions")
        return dims
    if dims != info.dimensions:
        size = f"{info.dimensions}-dimension" if info.dimensions else "fixed-size"
        raise invalid_request(
            f"The model '{name}' returns {size} embeddings and cannot honour 'dimensions': {dims}. Omit "
            "'dimensions' or use a model that supports it (cohere.embed-v4.0).",
            param="dimensions", code="unsupported_dimensions",
        )
    return None  # the model's one size is the size asked for


def decode_inputs(request: EmbeddingRequest, encoding: str,
                  table: Callable[[str], TokenTable] = get_table) -> list[Prepared]:
    """Inputs as text/images; token ids decoded (the tokenizer is loaded only if some input needs it)."""
    if request.has_tokens and encoding == "none":
        raise invalid_request("This gateway does not accept token-id inputs (EMBEDDINGS_TOKEN_ENCODING=none); "
                              "send text. LangChain: OpenAIEmbeddings(check_embedding_ctx_length=False).",
                              param="input", code="token_ids_not_supported")
    decoder = table(encoding) if request.has_tokens else None
    out: list[Prepared] = []
    for item in request.inputs:
        if item.kind == TOKENS:
            assert decoder is not None and item.tokens is not None
            text = decoder.decode(item.tokens, item.param)
            if not text.strip():
                raise invalid_request(f"'{item.param}' decodes to empty text.", param=item.param,
                                      code="invalid_value")
            out.append(Prepared(text))
        else:
            out.append(Prepared(item.text, image=item.kind == IMAGE))
    return out


def plan_batches(items: Sequence[Prepared], *, serving_mode: dict[str, str], compartment_id: str,
                 options: EmbedOptions, batch_size: int = MAX_BATCH) -> list[Batch]:
    """The OCI calls: texts by ``batch_size`` in request order, one call per image."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be within 1..{MAX_BATCH}")
    batches: list[Batch] = []
    pending: list[int] = []

    def flush() -> None:
        if pending:
            body = _body([items[i].text for i in pending], serving_mode, compartment_id, options.input_type,
                         options.truncate, options.output_dimensions)
            batches.append(Batch(tuple(pending), body))
            pending.clear()

    for index, item in enumerate(items):
        if item.image:  # texts around an image keep filling the same text call
            batches.append(Batch((index,), _body([item.text], serving_mode, compartment_id, "IMAGE", None,
                                                 options.output_dimensions)))
            continue
        pending.append(index)
        if len(pending) == batch_size:
            flush()
    flush()
    return batches


def _body(inputs: list[str], serving_mode: dict[str, str], compartment_id: str, input_type: str,
          truncate: str | None, output_dimensions: int | None) -> dict[str, Any]:
    """An ``EmbedTextDetails`` JSON body (checked against the oci SDK's model in the tests)."""
    body: dict[str, Any] = {
        "inputs": inputs,
        "servingMode": dict(serving_mode),
        "compartmentId": compartment_id,
        "inputType": input_type,
    }
    if truncate is not None:
        body["truncate"] = truncate
    if output_dimensions is not None:
        body["outputDimensions"] = output_dimensions
    return body

"""Size limits on a chat request, so one caller cannot make the function (or OCI) chew on a bomb.

The body limit (6 MB on Functions) bounds bytes; these bound what is inside: message
count, total text (everything the caller writes that reaches OCI as text: messages and their
names, tool calls and definitions, the response format's schema, stop sequences, logit bias),
image count, each image's size and all images' size together (inline ones here; fetched ones are
counted again as they arrive, :mod:`core.chat.images`). Each breach is a 400 naming the limit.
"""

from __future__ import annotations

from core.chat.request import ChatRequest, Part
from core.errors import APIError, invalid_request
from core.settings import Settings


def check_chat_limits(request: ChatRequest, settings: Settings) -> None:
    if len(request.messages) > settings.max_messages:
        raise invalid_request(f"Too many messages: {len(request.messages)}; this gateway accepts at most "
                              f"{settings.max_messages}.", param="messages", code="too_many_messages")
    sizes = text_sizes(request)
    chars = sum(sizes.values())
    if chars > settings.max_input_chars:
        largest = max(sizes, key=lambda name: sizes[name])
        raise invalid_request(f"The request holds {chars} characters of text ({largest}: {sizes[largest]}); this "
                              f"gateway accepts at most {settings.max_input_chars} (MAX_INPUT_CHARS).",
                              param=largest, code="input_too_large")
    images = _image_parts(request)
    if len(images) > settings.max_images:
        raise invalid_request(f"Too many images: {len(images)}; this gateway accepts at most {settings.max_images} "
                              "per request.", param="messages", code="too_many_images")
    total = 0
    for i, j, part in images:
        size = data_uri_size(part.url)
        if size is None:
            continue
        param = f"messages[{i}].content[{j}].image_url.url"
        if size > settings.max_image_bytes:
            raise invalid_request(f"Image is {size} bytes; the limit is {settings.max_image_bytes} bytes.",
                                  param=param, code="image_too_large")
        total += size
        if total > settings.max_total_image_bytes:
            raise images_too_large(settings.max_total_image_bytes, param)


def images_too_large(limit: int, param: str) -> APIError:
    return invalid_request(f"The images of this request add up to more than {limit} bytes (MAX_TOTAL_IMAGE_BYTES).",
                           param=param, code="images_too_large")


def text_sizes(request: ChatRequest) -> dict[str, int]:
    """Characters of caller text by request field: what ``MAX_INPUT_CHARS`` bounds."""
    return {"messages": _message_chars(request),
            "tools": sum(len(t.name) + len(str(t.parameters or "")) + len(t.description or "") for t in request.tools),
            "response_format": _response_format_chars(request),
            "stop": sum(len(s) for s in request.stop),
            "logit_bias": sum(len(k) + len(str(v)) for k, v in (request.logit_bias or {}).items())}


def _message_chars(request: ChatRequest) -> int:
    """Message text, the messages' names, and the tool calls' names and arguments."""
    chars = sum(len(p.text) for m in request.messages for p in m.parts)
    return chars + sum(len(m.name or "") + sum(len(c.arguments) + len(c.name) for c in m.tool_calls)
                       for m in request.messages)


def _response_format_chars(request: ChatRequest) -> int:
    shape = request.response_format
    if shape is None:
        return 0
    return len(shape.name or "") + len(shape.description or "") + len(str(shape.schema or ""))


def _image_parts(request: ChatRequest) -> list[tuple[int, int, Part]]:
    """Every image part as (message index, part index, part)."""
    return [(i, j, p) for i, m in enumerate(request.messages) for j, p in enumerate(m.parts) if p.type == "image"]


def data_uri_size(url: str) -> int | None:
    """Decoded size of a base64 ``data:`` URI, computed without decoding (None for other URLs)."""
    if not url.startswith("data:"):
        return None
    payload = url.partition(",")[2].rstrip()
    padding = len(payload) - len(payload.rstrip("="))
    return max(0, len(payload) * 3 // 4 - padding)

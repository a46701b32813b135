"""Size limits on a chat request, so one caller cannot make the function (or OCI) chew on a bomb.

The body limit (6 MB on Functions) bounds bytes; these bound what is inside: message
count, total text, image count and image size. Each breach is a 400 naming the limit.
"""

from __future__ import annotations

from core.chat.request import ChatRequest, Part
from core.errors import invalid_request
from core.settings import Settings


def check_chat_limits(request: ChatRequest, settings: Settings) -> None:
    if len(request.messages) > settings.max_messages:
        raise invalid_request(f"Too many messages: {len(request.messages)}; this gateway accepts at most "
                              f"{settings.max_messages}.", param="messages", code="too_many_messages")
    chars = _text_size(request)
    if chars > settings.max_input_chars:
        raise invalid_request(f"The request holds {chars} characters of text; this gateway accepts at most "
                              f"{settings.max_input_chars}.", param="messages", code="input_too_large")
    images = _image_parts(request)
    if len(images) > settings.max_images:
        raise invalid_request(f"Too many images: {len(images)}; this gateway accepts at most {settings.max_images} "
                              "per request.", param="messages", code="too_many_images")
    for i, j, part in images:
        size = data_uri_size(part.url)
        if size is not None and size > settings.max_image_bytes:
            raise invalid_request(f"Image is {size} bytes; the limit is {settings.max_image_bytes} bytes.",
                                  param=f"messages[{i}].content[{j}].image_url.url", code="image_too_large")


def _text_size(request: ChatRequest) -> int:
    """Characters of message text, tool-call arguments and tool definitions."""
    chars = sum(len(p.text) for m in request.messages for p in m.parts)
    chars += sum(len(c.arguments) for m in request.messages for c in m.tool_calls)
    chars += sum(len(str(t.parameters or "")) + len(t.description or "") for t in request.tools)
    return chars


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

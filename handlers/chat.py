"""``POST /v1/chat/completions``: an OpenAI chat completion answered by OCI Generative AI."""

from __future__ import annotations

from core import client as oci
from core.chat.generic import from_generic_chat_response, to_generic_chat_request
from core.chat.request import parse_chat_request
from core.deployment import compartment_id, genai_url
from core.errors import invalid_request
from core.settings import get_settings
from core.transport import Request, Response
from core.validation import parse_json_object

# OCI's own default output length is about 20 tokens, which truncates answers.
DEFAULT_MAX_TOKENS = 2048


async def handle(request: Request) -> Response:
    chat = parse_chat_request(parse_json_object(request.body))
    if chat.stream:
        raise invalid_request("Streaming ('stream': true) is not available in this version of the gateway.",
                              param="stream", code="unsupported_parameter")
    settings = get_settings()
    credentials = oci.get_credentials(settings)
    body = {
        "compartmentId": compartment_id(settings, credentials),
        "servingMode": {"servingType": "ON_DEMAND", "modelId": chat.model},
        "chatRequest": to_generic_chat_request(chat, default_max_tokens=DEFAULT_MAX_TOKENS),
    }
    upstream = await oci.get_client().request(
        "POST", genai_url(settings, credentials, "chat"), json_body=body, deadline=request.deadline,
        request_id=request.request_id or None, model=chat.model,
    )
    completion = from_generic_chat_response(upstream.json(), model=chat.model,
                                            response_id=f"chatcmpl-{upstream.request_id.lower()}")
    response = Response.json(completion, headers={"x-request-id": upstream.request_id})
    response.meta.update(model=chat.model, prompt_tokens=completion["usage"]["prompt_tokens"],
                         completion_tokens=completion["usage"]["completion_tokens"])
    return response

"""``POST /v1/chat/completions``: an OpenAI chat completion answered by OCI Generative AI."""

from __future__ import annotations

from core import client as oci
from core.chat.request import parse_chat_request
from core.chat.translate import Target, build_chat_details, catalog_target, completion_from_result
from core.deployment import compartment_id, genai_url
from core.errors import invalid_request
from core.settings import get_settings
from core.transport import Request, Response
from core.validation import parse_json_object


def resolve_target(model: str) -> Target:
    """The model's target: an operator alias if one matches, else the catalog."""
    return catalog_target(model)


async def handle(request: Request) -> Response:
    data = parse_json_object(request.body)
    chat = parse_chat_request(data)
    target = resolve_target(chat.model)
    if target.defaults:
        chat = parse_chat_request({**target.defaults, **data})
    if chat.stream:
        raise invalid_request("Streaming ('stream': true) is not available in this version of the gateway.",
                              param="stream", code="unsupported_parameter")
    settings = get_settings()
    credentials = oci.get_credentials(settings)
    details, fmt = build_chat_details(chat, target, compartment_id(settings, credentials),
                                      drop_unsupported=settings.drop_unsupported_params)
    upstream = await oci.get_client().request(
        "POST", genai_url(settings, credentials, "chat"), json_body=details, deadline=request.deadline,
        request_id=request.request_id or None, model=chat.model, known_model=target.info.known,
    )
    completion = completion_from_result(upstream.json(), fmt, model=chat.model,
                                        response_id=f"chatcmpl-{upstream.request_id.lower()}")
    response = Response.json(completion, headers={"x-request-id": upstream.request_id})
    usage = completion.get("usage") or {}
    response.meta.update(model=chat.model, api_format=fmt, prompt_tokens=usage.get("prompt_tokens"),
                         completion_tokens=usage.get("completion_tokens"))
    return response


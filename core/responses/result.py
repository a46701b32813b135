"""What creating a response hands the handler: the response object or its event stream, with facts for the log."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.chat.service import ChatResult


@dataclass
class ResponsesResult(ChatResult):
    """A response object (``body``) or its event stream (``stream``), and the headers that go with it.

    ``api_format`` is the OCI chat format that answered (bridge), or ``native`` (OCI's own Responses API).
    """

    headers: dict[str, str] = field(default_factory=dict)

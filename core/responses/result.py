"""What creating a response hands the handler: the response object or its event stream, with facts for the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator


@dataclass
class ResponsesResult:
    """A response object (``body``) or its event stream (``stream``), plus headers and usage for the log line."""

    request_id: str
    model: str
    api_format: str
    """The OCI chat format that answered (bridge), or ``native`` (OCI's own Responses API)."""
    body: dict[str, Any] | None = None
    stream: AsyncIterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)

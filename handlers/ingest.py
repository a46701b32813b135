"""OCI Events -> the ingestion pipeline (role ``ingest``): one object event per invocation.

The answer is the outcome as JSON (status 200 whenever the event was handled, including
refusals and dead-lettered objects: a retry would change nothing). Only failures that left
nothing recorded (Object Storage unreachable, bad configuration) are errors, so the platform's
own retry, if any, gets another chance.
"""

from __future__ import annotations

from core.ingest.config import IngestConfig
from core.ingest.events import parse_event
from core.ingest.pipeline import Pipeline
from core.settings import get_settings
from core.exchange import Request, Response
from core.validation import parse_json_object

_pipelines: dict[int, Pipeline] = {}


def pipeline() -> Pipeline:
    """One pipeline per settings object (settings are read once per process)."""
    settings = get_settings()
    found = _pipelines.get(id(settings))
    if found is None or found.settings is not settings:
        _pipelines.clear()
        found = Pipeline(IngestConfig.from_settings(settings), settings=settings)
        _pipelines[id(settings)] = found
    return found


async def handle(request: Request) -> Response:
    event = parse_event(parse_json_object(request.body))
    outcome = await pipeline().handle(event, deadline=request.deadline, request_id=request.request_id)
    response = Response.json(outcome.to_json())
    response.meta.update(ingest=outcome.status, chunks=outcome.chunks)
    return response

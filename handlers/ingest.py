"""OCI Events -> the ingestion pipeline (role ``ingest``): one object event per invocation.

The answer is the outcome as JSON (status 200 whenever the event was handled, including
refusals and dead-lettered objects: a retry would change nothing). Only failures that left
nothing recorded (not even a dead letter: the output bucket unreachable, bad configuration) are
errors, which the fdk adapter turns into a failed invocation (502) so OCI counts them.
"""

from __future__ import annotations

from core.exchange import Request, Response
from core.ingest.events import parse_event
from core.ingest.pipeline import process_event
from core.validation import parse_json_object


async def handle(request: Request) -> Response:
    event = parse_event(parse_json_object(request.body))
    outcome = await process_event(event, deadline=request.deadline, request_id=request.request_id,
                                  invoke_type=request.headers.get("fn-invoke-type") or "")
    response = Response.json(outcome.to_json())
    response.meta.update(ingest=outcome.status, chunks=outcome.chunks)
    return response

"""``python -m core.ingest.cut_worker``: a streamed object's chunks, in a process of their own.

The child side of :class:`core.ingest.cutting.ProcessCutter`: loads the token ranks first (it is spawned before
its job is known), then reads length-prefixed frames from stdin: the job (a JSON object), then the object's bytes
(an empty frame ends them). It extracts the text and cuts chunks as the bytes arrive, and writes them to stdout as
frames (the format is in :mod:`core.ingest.cutting`). It ends when its input ends or breaks.
"""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

import orjson

from core.ingest.cutting import FRAME, CutJob, TextCutter, chunk_rows
from core.ingest.extract import ExtractionError, without_lone_surrogates
from core.ingest.tokenizer import get_counter


def _write(out: BinaryIO, message: Any) -> None:
    try:
        data = orjson.dumps(message)
    except orjson.JSONEncodeError:  # a lone surrogate the extractor let through: U+FFFD, as everywhere else
        data = orjson.dumps([[*row[:3], without_lone_surrogates(row[3]), row[4]] for row in message])
    out.write(FRAME.pack(len(data)))
    out.write(data)
    out.flush()


def _frames(source: BinaryIO) -> Any:
    """The input frames' payloads until the empty frame; ``None`` when the input broke off."""
    while True:
        head = source.read(FRAME.size)
        if len(head) < FRAME.size:
            yield None
            return
        size = FRAME.unpack(head)[0]
        if not size:
            return
        data = source.read(size)
        if len(data) < size:
            yield None
            return
        yield data


def main() -> int:
    counter = get_counter()  # the slow part of starting (~0.3 s): done while the parent is still opening the object
    source, out = sys.stdin.buffer, sys.stdout.buffer
    frames = _frames(source)
    header = next(frames, None)
    if header is None:
        return 1  # closed unused
    fields = orjson.loads(header)
    cutter = TextCutter(CutJob(str(fields["kind"]), tuple(fields["json_fields"]), int(fields["chunk_tokens"]),
                               int(fields["overlap_tokens"])), counter)
    try:
        for data in frames:
            if data is None:
                return 1  # the parent stopped sending: nobody is waiting for the rest
            chunks = cutter.cut(data)
            if chunks:
                _write(out, chunk_rows(chunks))
        chunks = cutter.cut(None)
        if chunks:
            _write(out, chunk_rows(chunks))
    except ExtractionError as exc:
        _write(out, {"error": str(exc)})
        return 0
    except BrokenPipeError:
        return 1
    _write(out, {"notes": cutter.notes()})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Extraction and chunking of a streamed object: bytes in, chunks out, in this process or in a child one.

Both cutters give the same chunks (the same extractor and :class:`~core.ingest.chunking.Chunker`; chunking is
deterministic). :class:`ThreadCutter` runs in a worker thread, where tiktoken counts without holding the GIL;
:class:`ProcessCutter` runs in :mod:`core.ingest.cut_worker`, so a large object's extraction and chunking have a
CPU core of their own while this process's event loop drives the embedding calls and the part writes.

The child is spawned before the object's first bytes arrive (its interpreter and token ranks load meanwhile);
the first frame the parent sends is the job (a JSON object: kind, chunking, JSON fields), then the object's bytes.
Messages from the child are length-prefixed frames (4 bytes, big-endian): a JSON list is a batch of chunks
``[index, start, end, text, tokens]``; an object ends the stream: ``{"notes": {...}}`` after the last chunk, or
``{"error": "..."}`` when the document cannot be read (raised here as :class:`ExtractionError`). A zero-length
frame from the parent ends the input.
"""

from __future__ import annotations

import asyncio
import struct
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from core import jsonio
from core.ingest.chunking import Chunk, Chunker
from core.ingest.extract import ExtractionError, guarded, make_extractor
from core.ingest.tokenizer import Counter

FUNCTION_DIR = Path(__file__).resolve().parents[2]
FRAME = struct.Struct(">I")
MAX_FRAME_BYTES = 64 * 1024 * 1024
"""A frame larger than this from the child is a broken child, not a batch of chunks."""

Take = Callable[[list[Chunk]], Awaitable[None]]
"""Where chunks go, in order, as they are cut (the caller's embedding window)."""


@dataclass(frozen=True)
class CutJob:
    """What to cut: the streamed kind and the chunking."""

    kind: str
    json_fields: tuple[str, ...]
    chunk_tokens: int
    overlap_tokens: int


class CutterFailed(Exception):
    """The child process ended without finishing (killed, out of memory): not the document's fault."""


def chunk_rows(chunks: list[Chunk]) -> list[list[Any]]:
    return [[c.index, c.start, c.end, c.text, c.tokens] for c in chunks]


def chunks_of(rows: list[list[Any]]) -> list[Chunk]:
    return [Chunk(int(i), int(start), int(end), str(text), int(tokens)) for i, start, end, text, tokens in rows]


class TextCutter:
    """Bytes in, chunks out, synchronously: the one extractor-and-chunker both cutters run."""

    def __init__(self, job: CutJob, counter: Counter) -> None:
        self.kind = job.kind
        self.extractor = make_extractor(job.kind, json_fields=job.json_fields)
        self.chunker = Chunker(counter, job.chunk_tokens, job.overlap_tokens)

    def cut(self, data: bytes | None) -> list[Chunk]:
        """``data``'s chunks; ``None``: the end of the object (the rest)."""
        if data is None:
            texts = guarded(self.kind, self.extractor.finish)
        else:
            texts = guarded(self.kind, self.extractor.feed, data)
        chunks = [chunk for text in texts for chunk in self.chunker.feed(text)]
        return chunks + self.chunker.finish() if data is None else chunks

    def notes(self) -> dict[str, int]:
        return self.extractor.notes()


class ThreadCutter:
    """Extraction and chunking in a worker thread of this process."""

    def __init__(self, job: CutJob, counter: Counter) -> None:
        self.text = TextCutter(job, counter)

    async def run(self, first: bytes, body: AsyncIterator[bytes], take: Take) -> dict[str, int]:
        """Every chunk of ``first`` and ``body`` through ``take``; the extractor's notes at the end."""
        if first:
            await take(await asyncio.to_thread(self.text.cut, first))
        async for data in body:
            await take(await asyncio.to_thread(self.text.cut, data))
        await take(await asyncio.to_thread(self.text.cut, None))
        return self.text.notes()


class ProcessCutter:
    """Extraction and chunking in a child process (:mod:`core.ingest.cut_worker`), spawned ahead of its job."""

    def __init__(self, process: Any) -> None:
        self.process = process

    @classmethod
    async def spawn(cls) -> "ProcessCutter":
        """A child that starts loading now; :meth:`run` gives it its job, :meth:`close` ends it unused."""
        return cls(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "core.ingest.cut_worker",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            cwd=str(FUNCTION_DIR)))

    async def run(self, job: CutJob, first: bytes, body: AsyncIterator[bytes], take: Take) -> dict[str, int]:
        """Every chunk of ``first`` and ``body`` through ``take``; the extractor's notes at the end.

        The object is written to the child by a task of its own while this coroutine takes the chunks, so the
        child cuts ahead while ``take`` waits for a free call slot (the pipes' buffers bound how far)."""
        feeding = asyncio.create_task(_feed(self.process, jsonio.dumps(asdict(job)), first, body))
        finished = False
        try:
            notes = await _receive(self.process, feeding, take)
            finished = True
            return notes
        finally:
            if not feeding.done():
                feeding.cancel()
            await asyncio.gather(feeding, return_exceptions=True)
            await self.close(grace=1.0 if finished else 0.0)

    async def close(self, grace: float = 0.0) -> None:
        """Reap the child: given ``grace`` seconds to exit on its own (it has said all), then killed."""
        if self.process.returncode is None and grace > 0:
            try:
                await asyncio.wait_for(asyncio.shield(self.process.wait()), grace)
            except TimeoutError:
                pass
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()


async def _feed(process: Any, job: bytes, first: bytes, body: AsyncIterator[bytes]) -> None:
    """The job, then the object's bytes to the child as frames, then the empty frame; a failed read kills the child."""
    stdin = process.stdin
    try:
        stdin.write(FRAME.pack(len(job)) + job)
        if first:
            stdin.write(FRAME.pack(len(first)) + first)
        async for data in body:
            if data:
                stdin.write(FRAME.pack(len(data)))
                stdin.write(data)
                await stdin.drain()  # the pipe's buffer is the only read-ahead
        stdin.write(FRAME.pack(0))
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        return  # the child ended: the receiving side says why
    except BaseException:
        if process.returncode is None:
            process.kill()  # the receiving side sees the end of the child's output and raises this
        raise


async def _receive(process: Any, feeding: asyncio.Task[None], take: Take) -> dict[str, int]:
    stdout = process.stdout
    while True:
        try:
            size = FRAME.unpack(await stdout.readexactly(FRAME.size))[0]
            if size > MAX_FRAME_BYTES:
                raise CutterFailed(f"the text cutter process sent a frame of {size} bytes")
            message = jsonio.loads(await stdout.readexactly(size))
        except asyncio.IncompleteReadError:
            if feeding.done() and not feeding.cancelled() and feeding.exception() is not None:
                raise feeding.exception() from None  # reading the object failed (the child was stopped for it)
            raise CutterFailed("the text cutter process ended without finishing (out of memory?)") from None
        if isinstance(message, list):
            await take(chunks_of(message))
        elif "error" in message:
            raise ExtractionError(str(message["error"]))
        else:
            return {str(k): int(v) for k, v in (message.get("notes") or {}).items()}

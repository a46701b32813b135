"""Cut a stream of extracted text into token-bounded chunks, incrementally (pure).

Text arrives in pieces of any size (whatever the extractor produced from one network read);
the chunker keeps only the unfinished paragraph and the chunk being filled, so memory does not
grow with the document.

Rules, in order of preference:

* a chunk holds at most ``max_tokens`` tokens (sum of its sentences' counts);
* chunks end at paragraph boundaries (a blank line) when the chunk is at least half full;
  otherwise at a sentence or line boundary; a sentence longer than ``max_tokens`` is cut at
  token boundaries;
* the next chunk starts with the previous chunk's trailing sentences, up to ``overlap_tokens``;
* ``start``/``end`` are character offsets into the extracted text (the concatenation of
  everything fed), so a chunk's text is exactly ``extracted[start:end]``.

Deterministic: the same text gives the same chunks whatever the piece sizes, which is what
lets a resumed run skip the chunks an earlier invocation already embedded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.ingest.tokenizer import Counter

_PARAGRAPH_END = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?;。！？][ \t]+|\n+[ \t]*")  # only match ends are used
_SOFT_BREAK = re.compile(r"[.!?;。！？]\s+|\n|\s")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int
    end: int
    text: str
    tokens: int


@dataclass
class _Unit:
    start: int
    text: str
    tokens: int


class Chunker:
    """``feed(text) -> chunks completed so far``; ``finish() -> the rest``."""

    def __init__(self, counter: Counter, max_tokens: int, overlap_tokens: int = 0, *,
                 max_pending_chars: int = 64 * 1024, first_index: int = 0, first_offset: int = 0) -> None:
        """``first_index``/``first_offset``: where numbering starts (a PDF page chunked on its own)."""
        if max_tokens < 1 or not 0 <= overlap_tokens < max_tokens:
            raise ValueError("need max_tokens >= 1 and 0 <= overlap_tokens < max_tokens")
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.max_pending_chars = max_pending_chars
        self._pending: list[str] = []
        self._pending_len = 0
        self._pending_start = first_offset
        self._units: list[_Unit] = []
        self._tokens = 0
        self._fresh = 0  # units of the current chunk not carried over from the previous one
        self._index = first_index
        self._out: list[Chunk] = []

    @property
    def next_index(self) -> int:
        """The index the next chunk will get."""
        return self._index

    # --- input --------------------------------------------------------------------------------
    def feed(self, text: str) -> list[Chunk]:
        if text:
            self._pending.append(text)
            self._pending_len += len(text)
            if "\n" in text or self._pending_len > self.max_pending_chars:
                self._drain(final=False)
        return self._take()

    def finish(self) -> list[Chunk]:
        self._drain(final=True)
        self._emit()
        return self._take()

    def _take(self) -> list[Chunk]:
        out, self._out = self._out, []
        return out

    def _drain(self, *, final: bool) -> None:
        buffer = "".join(self._pending)
        position = 0
        for match in _PARAGRAPH_END.finditer(buffer):
            if match.end() == len(buffer) and not final:
                break  # more blank lines may follow: keep the boundary with the next paragraph
            self._paragraph(self._pending_start + position, buffer[position:match.end()])
            position = match.end()
        rest = buffer[position:]
        if final:
            if rest:
                self._paragraph(self._pending_start + position, rest)
            position += len(rest)
            rest = ""
        else:  # a paragraph with no end in sight: process its leading pieces now (same cuts as whole)
            previous = 0
            for cut in self._cuts(rest):
                self._block(self._pending_start + position + previous, rest[previous:cut])
                previous = cut
            position += previous
            rest = rest[previous:]
        self._pending_start += position
        self._pending = [rest] if rest else []
        self._pending_len = len(rest)

    def _cuts(self, text: str) -> list[int]:
        """Where an over-long paragraph is cut: depends only on the text, never on how it arrived."""
        limit = self.max_pending_chars
        window = max(2, limit // 2)
        cuts: list[int] = []
        start = 0
        while len(text) - start > limit:
            cut = start + _last_soft_break(text[start:start + window], window - 1024)
            cuts.append(cut)
            start = cut
        return cuts

    # --- chunk building -----------------------------------------------------------------------
    def _units_of(self, start: int, text: str) -> list[_Unit]:
        units: list[_Unit] = []
        position = 0
        bounds = [m.end() for m in _SENTENCE_END.finditer(text)]
        if not bounds or bounds[-1] != len(text):
            bounds.append(len(text))
        for end in bounds:
            piece = text[position:end]
            if not piece:
                continue
            if units and not piece.strip():  # whitespace rides on the previous sentence
                units[-1].text += piece
            else:
                tokens = self.counter.count(piece)
                if tokens > self.max_tokens:
                    offset = start + position
                    for part in self.counter.split(piece, self.max_tokens):
                        units.append(_Unit(offset, part, self.counter.count(part)))
                        offset += len(part)
                else:
                    units.append(_Unit(start + position, piece, tokens))
            position = end
        return units

    def _paragraph(self, start: int, text: str) -> None:
        previous = 0
        for cut in self._cuts(text):
            self._block(start + previous, text[previous:cut])
            previous = cut
        self._block(start + previous, text[previous:])

    def _block(self, start: int, text: str) -> None:
        units = self._units_of(start, text)
        total = sum(u.tokens for u in units)
        if self._tokens + total <= self.max_tokens:
            self._extend(units)
            return
        if self._fresh and self._tokens >= self.max_tokens // 2:
            self._emit()  # end the chunk where the previous paragraph ended
        for unit in units:
            if self._tokens + unit.tokens > self.max_tokens:
                self._emit()
                while self._units and self._tokens + unit.tokens > self.max_tokens:
                    self._tokens -= self._units.pop(0).tokens
            self._extend([unit])

    def _extend(self, units: list[_Unit]) -> None:
        for unit in units:
            self._units.append(unit)
            self._tokens += unit.tokens
            self._fresh += 1

    def _emit(self) -> None:
        if not self._fresh:
            return
        units = self._units
        text = "".join(u.text for u in units)
        stripped = text.strip()
        if stripped:
            lead = len(text) - len(text.lstrip())
            start = units[0].start + lead
            self._out.append(Chunk(self._index, start, start + len(stripped), stripped, self._tokens))
            self._index += 1
        carried: list[_Unit] = []
        budget = self.overlap_tokens
        for unit in reversed(units[1:]):  # a strict suffix: a chunk never repeats whole
            if unit.tokens > budget:
                break
            carried.insert(0, unit)
            budget -= unit.tokens
        self._units = carried
        self._tokens = sum(u.tokens for u in carried)
        self._fresh = 0


def _last_soft_break(text: str, floor: int) -> int:
    """Index just after the last sentence end / newline / space in ``text[floor:]``, else ``len(text)``."""
    best = -1
    for match in _SOFT_BREAK.finditer(text, max(0, floor)):
        best = match.end()
    return best if best > 0 else len(text)

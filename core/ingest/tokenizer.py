"""cl100k_base token counting for chunking, offline and fast.

``tiktoken`` does the counting (a Rust BPE, ~5 MB/s of text per core here, against a few
hundred KB/s for a pure-Python BPE: a 200 MB object must chunk within one invocation).
Its registry would download the rank file, which a function without egress cannot do, so the
:class:`tiktoken.Encoding` is built directly from the ranks :mod:`core.token_ranks` reads (the
reader token-id decoding uses too). Only ``encode_ordinary`` is used: document text is never
parsed for special tokens.

Counts are approximate for OCI: Cohere's tokenizer differs, which is why chunk sizes keep a
margin under 512 and the embed calls still ask OCI to truncate (``END``) as a backstop.
"""

from __future__ import annotations

from typing import Protocol

from core import runtime
from core.errors import ConfigError
from core.token_ranks import read_ranks

ENCODING = "cl100k_base"
# The encoding's pre-tokenizer pattern (part of the cl100k_base definition, not of the rank file).
CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


class Counter(Protocol):
    """What the chunker needs from a tokenizer (a word counter stands in for it in unit tests)."""

    def count(self, text: str) -> int: ...

    def split(self, text: str, max_tokens: int) -> list[str]:
        """``text`` cut into pieces of at most ``max_tokens`` tokens whose concatenation is ``text``."""
        ...


class TiktokenCounter:
    """cl100k_base counts with tiktoken's Rust BPE."""

    def __init__(self, encoding: object) -> None:
        self._encoding = encoding
        self._encode = encoding.encode_ordinary  # type: ignore[attr-defined]

    def count(self, text: str) -> int:
        return len(self._encode(text))

    def split(self, text: str, max_tokens: int) -> list[str]:
        ids = self._encode(text)
        if len(ids) <= max_tokens:
            return [text]
        step = max(1, max_tokens - 2)  # room for a token moved by a character-boundary fix
        data = text.encode("utf-8")
        decode_bytes = self._encoding.decode_bytes  # type: ignore[attr-defined]
        cuts: list[int] = []
        position = 0
        for start in range(0, len(ids) - step, step):
            position += len(decode_bytes(ids[start:start + step]))
            cut = position
            while 0 < cut < len(data) and (data[cut] & 0xC0) == 0x80:  # never inside a UTF-8 character
                cut -= 1
            if not cuts or cut > cuts[-1]:
                cuts.append(cut)
        pieces: list[str] = []
        previous = 0
        for cut in cuts + [len(data)]:
            if cut > previous:
                pieces.append(data[previous:cut].decode("utf-8"))
                previous = cut
        return pieces


class WordCounter:
    """Whitespace words as tokens: deterministic and obvious, for tests and for estimates."""

    def count(self, text: str) -> int:
        return len(text.split())

    def split(self, text: str, max_tokens: int) -> list[str]:
        import re

        words = [m.group(0) for m in re.finditer(r"\s*\S+\s*", text)] or [text]
        return ["".join(words[i:i + max_tokens]) for i in range(0, len(words), max_tokens)]


def load_encoding() -> object:
    """A ``tiktoken.Encoding`` for cl100k_base from the shipped rank file (no network)."""
    try:
        import tiktoken
    except ImportError:  # pragma: no cover - a packaging mistake
        raise ConfigError("the ingest role needs the 'tiktoken' package (token counting for chunking)") from None
    ranks = read_ranks(ENCODING, needed_for="the ingest role's chunking (cl100k_base token counts)")
    encoding = tiktoken.Encoding(ENCODING, pat_str=CL100K_PATTERN, mergeable_ranks=ranks, special_tokens={})
    # The Rust BPE holds its own copy of the ranks; the Encoding keeps this dict only to be pickled (~15 MB freed).
    ranks.clear()
    return encoding


def get_counter() -> TiktokenCounter:
    """The process's counter, built on first use (~0.6 s, ~60 MB) and kept while the container lives."""
    return runtime.memo(("token_counter", ENCODING), lambda: TiktokenCounter(load_encoding()))

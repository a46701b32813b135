"""Turn token-id inputs back into text, offline.

LangChain's ``OpenAIEmbeddings`` tokenizes on the client and sends token-id arrays;
Cohere on OCI only takes text. Decoding needs nothing but the encoding's rank table
(token bytes by id), read by :mod:`core.token_ranks` (the same reader chunking uses).
``tiktoken`` itself would download that file at first use, which a function without
internet egress cannot do.

The table (~100k entries) is built only when a request actually carries token ids, once
per process (:func:`core.runtime.memo`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from core import runtime
from core.errors import invalid_request
from core.token_ranks import read_ranks

SETTING = "setting EMBEDDINGS_TOKEN_ENCODING"

# Special tokens are not in the rank file; their ids are fixed by each encoding.
_SPECIAL: dict[str, dict[int, bytes]] = {
    "cl100k_base": {100257: b"<|endoftext|>", 100258: b"<|fim_prefix|>", 100259: b"<|fim_middle|>",
                    100260: b"<|fim_suffix|>", 100276: b"<|endofprompt|>"},
    "o200k_base": {199999: b"<|endoftext|>", 200018: b"<|endofprompt|>"},
}
ENCODINGS = tuple(_SPECIAL)


class TokenTable:
    """Token bytes by id for one encoding (``None`` where an id has no token)."""

    def __init__(self, name: str, tokens: list[bytes | None]) -> None:
        self.name = name
        self._tokens = tokens

    def __len__(self) -> int:
        return len(self._tokens)

    def decode(self, ids: Sequence[int], param: str = "input") -> str:
        """Text of ``ids``; an id outside the encoding is a 400 naming ``param``.

        Bytes that are not valid UTF-8 (a chunk boundary inside a character) become
        U+FFFD, as ``tiktoken.Encoding.decode`` does.
        """
        tokens = self._tokens
        size = len(tokens)
        parts: list[bytes] = []
        append = parts.append
        for position, token_id in enumerate(ids):
            piece = tokens[token_id] if type(token_id) is int and 0 <= token_id < size else None
            if piece is None:
                shown = token_id if type(token_id) is int else type(token_id).__name__
                raise invalid_request(
                    f"Invalid '{param}': token id {shown!s:.40} at position {position} is not a {self.name} token. "
                    f"Token-id inputs are decoded with {self.name} (setting EMBEDDINGS_TOKEN_ENCODING); send text "
                    "if you used another tokenizer.",
                    param=param, code="invalid_token_ids",
                )
            append(piece)
        return b"".join(parts).decode("utf-8", errors="replace")


def table_from_ranks(ranks: dict[bytes, int], name: str, special: dict[int, bytes] | None = None) -> TokenTable:
    """The decoding table (token bytes by id) of an encoding's ranks plus its special tokens."""
    by_rank = {rank: token for token, rank in ranks.items()}
    by_rank.update(special or {})
    tokens: list[bytes | None] = [None] * (max(by_rank) + 1 if by_rank else 0)
    for rank, token in by_rank.items():
        tokens[rank] = token
    return TokenTable(name, tokens)


def load_table(name: str, path: Path | None = None) -> TokenTable:
    """Read and build an encoding's table (uncached; see :func:`get_table`)."""
    needed_for = f"{SETTING}={name!r} (use {', '.join(ENCODINGS)} or none)"
    return table_from_ranks(read_ranks(name, path, needed_for=needed_for), name, _SPECIAL.get(name))


def get_table(name: str) -> TokenTable:
    """The encoding's table, built on first use and kept for the life of the process."""
    return runtime.memo(("token_table", name), lambda: load_table(name))


def is_loaded(name: str) -> bool:
    """Whether the table is already in memory (tests check that text-only requests never load it)."""
    return runtime.is_memoized(("token_table", name))

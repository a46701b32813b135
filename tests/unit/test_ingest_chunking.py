"""The chunker: token bounds, exact offsets, overlap, boundaries, and determinism whatever the feed sizes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.ingest.chunking import Chunker
from core.ingest.tokenizer import WordCounter, get_counter, load_encoding


def run(text: str, max_tokens: int = 20, overlap: int = 5, sizes=None, counter=None, **kw):
    chunker = Chunker(counter or WordCounter(), max_tokens, overlap, **kw)
    chunks, position, turn = [], 0, 0
    sizes = sizes or [len(text) or 1]
    while position < len(text):
        size = sizes[turn % len(sizes)]
        chunks += chunker.feed(text[position:position + size])
        position += size
        turn += 1
    return chunks + chunker.finish()


def test_cl100k_counts_match_known_values():
    counter = get_counter()
    assert counter.count("hello world") == 2
    assert counter._encode("hello world") == [15339, 1917]  # cl100k_base ids, as published
    assert counter.count("") == 0


def test_the_encoding_works_after_its_python_ranks_are_released():
    encoding = load_encoding()
    assert encoding._mergeable_ranks == {}  # the Rust BPE's copy is the one used; the dict's ~15 MB are freed
    ids = encoding.encode_ordinary("naïve café, 東京 tokens")
    assert encoding.decode(ids) == "naïve café, 東京 tokens"
    assert encoding.encode_ordinary("hello world") == [15339, 1917]
    assert encoding.n_vocab == 100256


def test_chunks_are_exact_slices_within_the_token_limit():
    text = "\n\n".join(" ".join(f"w{p}_{i}." if i % 7 == 6 else f"w{p}_{i}" for i in range(n))
                       for p, n in enumerate([3, 40, 12, 90, 5, 18]))
    chunks = run(text)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.tokens == len(chunk.text.split()) <= 20
    words = {w for c in chunks for w in c.text.split()}
    assert words == set(text.split())  # nothing lost


def test_paragraph_boundaries_are_preferred():
    paragraphs = [" ".join(f"p{p}w{i}" for i in range(12)) for p in range(4)]
    chunks = run("\n\n".join(paragraphs), max_tokens=20, overlap=0)
    assert [c.text for c in chunks] == paragraphs  # 12 + 12 > 20: each paragraph is its own chunk


def test_overlap_repeats_trailing_sentences():
    sentences = [f"s{i}a s{i}b s{i}c." for i in range(12)]
    chunks = run(" ".join(sentences), max_tokens=9, overlap=3)
    assert len(chunks) > 2
    for previous, current in zip(chunks, chunks[1:]):
        assert current.text.split()[:3] == previous.text.split()[-3:]
        assert current.start < previous.end


def test_overlong_sentence_is_cut_at_token_boundaries():
    counter = get_counter()
    text = "x" * 5000  # one "word" with no sentence or space boundary
    chunks = run(text, max_tokens=50, overlap=0, counter=counter)
    assert "".join(c.text for c in chunks) == text
    assert all(counter.count(c.text) <= 50 for c in chunks)


def test_multibyte_text_is_never_cut_inside_a_character():
    counter = get_counter()
    text = "東京タワー" * 400
    chunks = run(text, max_tokens=30, overlap=0, counter=counter)
    assert "".join(c.text for c in chunks) == text
    assert all(counter.count(c.text) <= 30 for c in chunks)


def test_empty_and_whitespace_only_input_gives_no_chunks():
    assert run("") == []
    assert run("   \n\n \n  ") == []


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from(["a", "bb.", "cc", "d!", "\n", "\n\n", "eee", "f?", "  "]), max_size=400),
    sizes=st.lists(st.integers(1, 50), min_size=1, max_size=5),
)
def test_same_chunks_whatever_the_feed_sizes(words, sizes):
    text = " ".join(words)
    whole = run(text, max_tokens=7, overlap=2, max_pending_chars=64)
    pieces = run(text, max_tokens=7, overlap=2, sizes=sizes, max_pending_chars=64)
    assert [(c.start, c.end, c.tokens) for c in whole] == [(c.start, c.end, c.tokens) for c in pieces]
    for chunk in whole:
        assert text[chunk.start:chunk.end] == chunk.text and chunk.tokens <= 7


def test_long_text_without_paragraphs_is_cut_at_the_same_places():
    text = " ".join(f"word{i}" + ("." if i % 11 == 10 else "") for i in range(3000))
    assert [(c.start, c.end) for c in run(text, max_pending_chars=2048)] == \
        [(c.start, c.end) for c in run(text, sizes=[1, 333, 4096], max_pending_chars=2048)]


def test_invalid_limits_are_rejected():
    with pytest.raises(ValueError):
        Chunker(WordCounter(), 10, 10)

"""Token-id decoding from the shipped rank files (core.token_ranks): offline, lazy, identical to tiktoken."""

from __future__ import annotations

import base64
import gzip
import hashlib
from pathlib import Path

import pytest

from core import runtime, token_ranks
from core.embeddings import tokens
from core.embeddings.tokens import get_table, load_table, table_from_ranks
from core.errors import APIError, ConfigError
from core.token_ranks import parse_ranks, rank_file

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def seeded_tiktoken(cache_dir: Path, monkeypatch):
    """tiktoken's cl100k_base, from a cache seeded with bpe-openai's copy (tiktoken would download it)."""
    import tiktoken

    cache_dir.mkdir(parents=True, exist_ok=True)
    blob = gzip.decompress(rank_file("cl100k_base").read_bytes())
    (cache_dir / hashlib.sha1(CL100K_URL.encode()).hexdigest()).write_bytes(blob)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir))
    return tiktoken.get_encoding("cl100k_base")


def test_rank_file_comes_from_the_installed_package_not_the_network():
    path = rank_file("cl100k_base")
    assert path.name == "cl100k_base.tiktoken.gz" and "bpe_openai" in path.parts
    # The very bytes tiktoken expects (its pinned sha256 for cl100k_base).
    digest = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
    assert digest == "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


def test_decode_matches_tiktoken_round_trip(tmp_path, monkeypatch):
    enc = seeded_tiktoken(tmp_path / "tiktoken", monkeypatch)
    table = get_table("cl100k_base")
    texts = ["Hello, world!", "OCI Generative AI serves Cohere embeddings.", "naïve café — 東京 🚀",
             "  leading spaces\n\ttabs\r\nand newlines  ", "<|endoftext|> is special"]
    for text in texts:
        ids = enc.encode(text, allowed_special="all")
        assert table.decode(ids) == text == enc.decode(ids)


def test_special_tokens_decode():
    assert get_table("cl100k_base").decode([100257]) == "<|endoftext|>"


def test_split_utf8_character_becomes_replacement_not_an_error():
    table = get_table("cl100k_base")
    ids = [i for i in range(len(table)) if table._tokens[i] == "é".encode()[:1]]  # a lone lead byte token
    assert ids, "cl100k has single-byte tokens for every byte"
    assert table.decode(ids) == "\ufffd"


@pytest.mark.parametrize("bad", [-1, 100256, 10**9, "7", 1.5, None])
def test_unknown_token_id_is_400_naming_param(bad):
    with pytest.raises(APIError) as info:
        get_table("cl100k_base").decode([9906, bad], param="input[3]")
    err = info.value
    assert err.status == 400 and err.param == "input[3]" and err.code == "invalid_token_ids"
    assert "position 1" in err.message and "cl100k_base" in err.message


def test_the_image_directory_comes_first(tmp_path, monkeypatch):
    copy = tmp_path / "cl100k_base.tiktoken.gz"
    copy.write_bytes(rank_file("cl100k_base").read_bytes())
    monkeypatch.setattr(token_ranks, "RANKS_DIR", tmp_path)
    assert rank_file("cl100k_base") == copy
    assert len(load_table("cl100k_base")) == len(get_table("cl100k_base"))


def test_ranks_build_a_dense_table():
    raw = b"\n".join(base64.b64encode(tok) + b" " + str(rank).encode()
                     for rank, tok in [(0, b"a"), (2, b"bc")])
    table = table_from_ranks(parse_ranks(raw), "tiny", {5: b"<|x|>"})
    assert len(table) == 6
    assert table.decode([0, 2, 5]) == "abc<|x|>"
    with pytest.raises(APIError):
        table.decode([1])  # a hole in the ranks


def test_missing_files_are_a_config_error_naming_the_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(token_ranks, "DATA_PACKAGE", "no_such_package_xyz")
    monkeypatch.setattr(token_ranks, "RANKS_DIR", tmp_path)
    with pytest.raises(ConfigError) as info:
        load_table("cl100k_base")
    assert "EMBEDDINGS_TOKEN_ENCODING" in str(info.value) and "bpe-openai" in str(info.value)


def test_ranks_are_read_as_tiktoken_reads_them(tmp_path):
    import gzip

    from tiktoken.load import load_tiktoken_bpe

    plain = tmp_path / "cl100k_base.tiktoken"
    plain.write_bytes(gzip.decompress(rank_file("cl100k_base").read_bytes()))
    assert parse_ranks(plain.read_bytes()) == load_tiktoken_bpe(str(plain))


@pytest.mark.parametrize("content", [b"YQ== 0\nYg==\n", b"YQ== 0\nYg== one\n", b"YQ== 0\n%%%= 1\n"])
def test_a_rank_file_out_of_format_is_config_error(tmp_path, content):
    import gzip

    bad = tmp_path / "cl100k_base.tiktoken.gz"
    bad.write_bytes(gzip.compress(content))
    with pytest.raises(ConfigError) as info:
        load_table("cl100k_base", bad)
    assert "cl100k_base.tiktoken.gz" in str(info.value)


def test_corrupt_file_is_config_error(tmp_path):
    bad = tmp_path / "cl100k_base.tiktoken.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(ConfigError) as info:
        load_table("cl100k_base", bad)
    assert "EMBEDDINGS_TOKEN_ENCODING" in str(info.value)


def test_unknown_encoding_is_config_error():
    with pytest.raises(ConfigError):
        load_table("p50k_base")


def test_table_is_loaded_once(monkeypatch):
    first = get_table("cl100k_base")
    monkeypatch.setattr(tokens, "load_table", lambda name: pytest.fail("reloaded"))
    assert get_table("cl100k_base") is first and tokens.is_loaded("cl100k_base")
    runtime.reset()
    assert not tokens.is_loaded("cl100k_base")

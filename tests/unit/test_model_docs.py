"""``docs/models.md`` is generated from the catalog: it must say what the code says."""

from __future__ import annotations

from core import model_docs
from core.catalog import CATALOG, FORMER_IDS


def test_docs_models_md_is_what_the_catalog_generates():
    on_disk = model_docs.DOCS_PATH.read_text(encoding="utf-8")
    assert on_disk == model_docs.markdown(), "docs/models.md is stale: run `python -m core.model_docs`"


def test_every_model_and_former_id_is_in_the_docs():
    text = model_docs.markdown()
    for model_id in (*CATALOG, *FORMER_IDS):
        assert f"| `{model_id}` |" in text, model_id

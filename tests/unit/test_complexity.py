"""No function of the shipped code is above cyclomatic complexity 15, as radon counts it."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 15
SHIPPED = [p for top in ("core", "handlers", "adapters") for p in (ROOT / top).rglob("*.py")] + [ROOT / "func.py"]


def _blocks(path: Path):
    for block in cc_visit(path.read_text(encoding="utf-8")):
        yield block
        yield from getattr(block, "methods", ())  # a class's methods are listed inside the class block


def test_no_function_is_above_the_limit():
    over = sorted(f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname} ({block.complexity})"
                  for path in SHIPPED for block in _blocks(path)
                  if block.complexity > LIMIT and not _is_class(block))
    assert over == []


def _is_class(block) -> bool:
    return hasattr(block, "methods")

"""docs/emulator.md names every control endpoint the emulator has, with the method it takes."""

from __future__ import annotations

from pathlib import Path

from local.emulator.control import CONTROL_ROUTES

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def test_every_control_route_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [f"{method} {path}" for method, path in CONTROL_ROUTES if f"| `{method} {path}` |" not in text]
    assert missing == []

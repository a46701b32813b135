"""Reading the gateway's JSON log lines back in tests."""

from __future__ import annotations

import json


def events_in(text: str, name: str) -> list[dict]:
    """Every JSON line of ``text`` whose ``event`` is ``name`` (other lines, e.g. the fdk's, are skipped)."""
    found = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == name:
            found.append(record)
    return found

"""Replace the PII spans OCI reported with ``[LABEL]`` (pure).

OCI returns each span as ``offset``/``length`` plus the detected ``text``; its documentation does
not say whether offsets count Unicode code points (Python's ``str`` indices) or UTF-16 code units
(Java's ``String``, which OCI's services are written in). They differ as soon as a character
outside the Basic Multilingual Plane (an emoji, some CJK) comes before or inside the span. So each
span is placed by the reading under which the text at that place equals the reported text, code
points first, then UTF-16; failing both, at the occurrence of the reported text nearest the offset;
failing that, at the UTF-16 reading clipped to the text, since masking too much beats leaking.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """One PII detection as OCI reports it."""

    offset: int
    length: int
    text: str
    label: str
    score: float = 1.0


def utf16_index(text: str, units: int) -> int:
    """The code-point index at ``units`` UTF-16 code units into ``text`` (clipped to the text)."""
    count = 0
    for index, char in enumerate(text):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def locate(text: str, span: Span) -> tuple[int, int]:
    """``(start, end)`` code-point indices of ``span`` in ``text``."""
    start, end = span.offset, span.offset + span.length
    if span.text and text[start:end] == span.text:
        return start, end
    u16_start, u16_end = utf16_index(text, span.offset), utf16_index(text, span.offset + span.length)
    if not span.text or text[u16_start:u16_end] == span.text:
        return u16_start, u16_end
    found = _nearest(text, span.text, u16_start)
    if found is not None:
        return found, found + len(span.text)
    return u16_start, max(u16_start, u16_end)


def _nearest(text: str, needle: str, near: int) -> int | None:
    best: int | None = None
    at = text.find(needle)
    while at != -1:
        if best is None or abs(at - near) < abs(best - near):
            best = at
        at = text.find(needle, at + 1)
    return best


def mask(text: str, spans: list[Span]) -> str:
    """``text`` with every span replaced by ``[LABEL]``; overlapping spans merge under the first label."""
    placed = sorted((locate(text, span) + (span.label,) for span in spans), key=lambda item: (item[0], -item[1]))
    out: list[str] = []
    cursor = 0
    for start, end, label in placed:
        if start == end:
            continue
        if start < cursor:  # overlaps the span masked before it
            cursor = max(cursor, end)
            continue
        out.append(text[cursor:start])
        out.append(f"[{label}]")
        cursor = end
    out.append(text[cursor:])
    return "".join(out)

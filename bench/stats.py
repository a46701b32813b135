"""Pure helpers for the benchmark: percentiles, formatting, and the results table."""

from __future__ import annotations

import math
import statistics
from typing import Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample; no interpolation, so p99 of
    200 samples is the 198th value, a value that was really observed."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99 of a sample of durations in seconds, as milliseconds."""
    return {f"p{q}": percentile(seconds, q) * 1000 for q in (50, 90, 99)}


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"


def fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f} s"


def fmt_mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MiB"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (also readable as plain text on a terminal)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)

"""Markdown tables, number formatting and percentiles shared by every benchmark."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """One result table: its section heading, title, columns, rows and footnotes."""

    section: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        """Append one row."""
        self.rows.append(list(cells))

    def markdown(self) -> str:
        """Return the table as GitHub markdown with its title and notes."""
        numeric = [i > 0 and all(_is_number(r[i]) for r in self.rows if i < len(r)) for i in range(len(self.columns))]
        lines = [f"#### {self.title}", "", "| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
        for row in self.rows:
            cells = [fmt(c) for c in row] + [""] * (len(self.columns) - len(row))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines.extend(f"- {n}" for n in self.notes)
        if self.notes:
            lines.append("")
        return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def fmt(value: Any) -> str:
    """Format a cell: floats to 3 significant-ish digits, None as an en dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.0f}"
        if magnitude >= 10:
            return f"{value:.1f}"
        if magnitude >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return " ".join(str(value).split()).replace("|", "\\|")


def percentile(samples: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0–100) with linear interpolation; NaN for no samples."""
    if not samples:
        return float("nan")
    data = sorted(samples)
    if len(data) == 1:
        return float(data[0])
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return float(data[lo] + (data[hi] - data[lo]) * (pos - lo))


def ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds * 1000.0


def human_bytes(n: float | None) -> str:
    """Return a byte count as B/KiB/MiB text."""
    if n is None:
        return "–"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"

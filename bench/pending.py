"""Benchmarks of parts that do not exist yet: they print a "not available yet" row.

To add one, write ``bench/http_api.py`` (or ``bench/inbox_page.py``) with
``run(ctx: Context) -> list[Table]``; :mod:`bench.run` picks the module up by name and
stops printing the placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.report import Table

SECTION = "Not available yet"


@dataclass(frozen=True)
class Pending:
    """A benchmark whose subject is still being built."""

    name: str
    module: str
    measures: str
    waits_for: str


PENDING = [
    Pending("http", "bench.http_api", "requests/s and p50/p95 of start/complete/inbox through /api/v1 (gunicorn)",
            "the HTTP API (web/api) is being built"),
    Pending("inbox_page", "bench.inbox_page", "render time of the web inbox page at 10k/100k open tasks",
            "the web inbox page is being built"),
]


def placeholder_table(items: list[Pending]) -> Table:
    """Return one table with a "not available yet" row per pending benchmark."""
    table = Table(SECTION, "Benchmarks waiting for their subject", ["benchmark", "status", "will measure", "waiting for"])
    for item in items:
        table.add(item.name, "not available yet", item.measures, f"{item.waits_for}; then add {item.module.replace('.', '/')}.py")
    return table

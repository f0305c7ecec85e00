"""The scale-out goals of issue #19, each against what this run measured (a second Targets table).

Ratios are taken within the run (engine ÷ raw SpiffWorkflow, HTTP ÷ engine, N processes ÷ 1), so they compare
across machines better than absolute rates. Nothing here fails the run: the numbers are reported, not asserted.
"""

from __future__ import annotations

from typing import Any

from bench.context import Context
from bench.report import Table

SECTION = "Targets"
Row = tuple[str, str, str, Any]


def scale_goals_table(ctx: Context) -> Table:
    """Return one row per goal: the goal, the backend, the measured value, met or not (– when not measured)."""
    m = ctx.metrics
    table = Table(SECTION, "Scale-out goals (issue #19)", ["goal", "backend", "measured", "met"])
    for key, name, goal in (("sqlite", "SQLite", 0.15), ("postgresql", "PostgreSQL", 0.06)):
        raw = m.get(f"raw_alongside_per_s_{key}", m.get("raw_in_memory_per_s"))
        engine = m.get(f"engine_per_s_{key}")
        ratio = engine / raw if raw and engine else None
        table.add(*_at_least(f"whole instances/s, engine in process ÷ raw SpiffWorkflow in memory ≥ {goal}×", name,
                                    ratio, goal, "{:.3f}×"))
    for key, name, goal in (("sqlite", "SQLite", 2.0), ("postgresql", "PostgreSQL", 5.0)):
        table.add(*_at_most(f"complete p50 in process ≤ {goal:g} ms", name, m.get(f"complete_p50_ms_{key}"), goal,
                                   "{:.2f} ms"))
    one, two, four = (m.get(f"concurrency_{n}") for n in (1, 2, 4))
    scaled = four / one if four and one else None
    ceiling = m.get("concurrency_ceiling")
    row = _at_least("completes/s, 4 client processes ÷ 1 process ≥ 2.5×", "PostgreSQL", scaled, 2.5, "{:.2f}×")
    if scaled is not None and ceiling:
        row = (row[0], row[1], f"{row[2]} (the cores allow {ceiling:.2f}×)", row[3])
    table.add(*row)
    table.add(*("completes/s, 4 processes ≥ 2 processes", "PostgreSQL",
                       "not measured" if not (two and four) else f"{four:.0f} vs {two:.0f}/s",
                       None if not (two and four) else four >= two))
    errors = m.get("concurrency_shared_errors")
    table.add(*("4 processes racing on shared instances: every loser gets a Conflict (no other error)", "PostgreSQL",
                       "not measured" if errors is None else f"{errors} other errors",
                       None if errors is None else errors == 0))
    for workers in (1, 2):
        table.add(*_at_most(f"timer lag p99 at {ctx.settings.lag_rate:.0f} due/s, {workers} worker(s) ≤ 0.2 s",
                                   "PostgreSQL", m.get(f"lag_p99_s_postgresql_w{workers}"), 0.2, "{:.3f} s"))
    table.add(*_at_least("timer fires/s per worker ≥ 250", "PostgreSQL", m.get("fires_per_s_postgresql"), 250,
                                "{:.0f}/s"))
    for clients, goal in ((max(ctx.settings.http_clients), 0.9), (min(ctx.settings.http_clients), 0.6)):
        http = m.get(f"http_per_s_postgresql_{clients}")
        engine_pg = m.get(f"http_engine_alongside_per_s_postgresql_{clients}", m.get("engine_per_s_postgresql"))
        ratio = http / engine_pg if http and engine_pg else None
        row = _at_least(f"HTTP whole instances ÷ engine in process, {clients} client(s) ≥ {goal}×", "PostgreSQL",
                        ratio, goal, "{:.2f}×")
        bound = m.get(f"http_token_bound_postgresql_{clients}")
        if ratio is not None and bound:
            row = (row[0], row[1], f"{row[2]} (a token check allows {bound:.2f}×)", row[3])
        table.add(*row)
    table.notes.append("This machine's cores are shared by the client processes and the PostgreSQL server: once one "
                       "client process keeps them busy, more processes cannot add throughput (see the concurrency "
                       "table's CPU and lock-wait columns). 'The cores allow': the machine's cores ÷ the share of them "
                       "one process keeps busy, the most N processes can reach at one process's CPU cost per complete.")
    table.notes.append("'A token check allows': the engine's time for an instance ÷ (that time + its requests × the p50 "
                       "of an API request that runs no command, GET /api/v1/me), the most one client can reach while "
                       "every request checks its bearer token in the database (see the HTTP API section).")
    return table


def _at_least(goal: str, backend: str, value: float | None, limit: float, form: str) -> Row:
    return goal, backend, "not measured" if value is None else form.format(value), None if value is None else value >= limit


def _at_most(goal: str, backend: str, value: float | None, limit: float, form: str) -> Row:
    return goal, backend, "not measured" if value is None else form.format(value), None if value is None else value <= limit

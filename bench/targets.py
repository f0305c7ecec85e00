"""The Targets section: each goal of the Benchmarks issue against what this run measured."""

from __future__ import annotations

from typing import Any

from bench.context import Context
from bench.report import Table
from engine import EngineConfig

SECTION = "Targets"
FLAT_GROWTH = 1.5   # "flat": the completion at the last growth point costs at most 1.5× the one at iteration 10
FLAT_RSS = 1.10     # and the worker's RSS after the last memory point is at most 1.10× the first


def targets_table(ctx: Context) -> Table:
    """Return one row per target and backend: goal, measured value, met or not."""
    rows: list[tuple[int, int, list[Any]]] = []
    for b, backend in enumerate(ctx.backends):
        for t, (label, measured, met) in enumerate(_targets(ctx, backend.name.lower())):
            rows.append((t, b, [label, backend.name, measured, met]))
    table = Table(SECTION, "Targets", ["target", "backend", "measured", "met"])
    table.rows = [cells for _, _, cells in sorted(rows, key=lambda r: (r[0], r[1]))]
    table.notes.append(f"'flat growth' is read as: ≤ {FLAT_GROWTH}× for the completion cost and ≤ {FLAT_RSS}× for the "
                       "worker's RSS between the first and last reading.")
    return table


def _targets(ctx: Context, key: str) -> list[tuple[str, str, bool | None]]:
    m, s = ctx.metrics, ctx.settings
    out: list[tuple[str, str, bool | None]] = []
    raw = m.get(f"raw_alongside_per_s_{key}", m.get("raw_in_memory_per_s"))
    engine = m.get(f"engine_per_s_{key}")
    ratio = engine / raw if raw and engine else None
    out.append(("engine ≥ 0.25× raw SpiffWorkflow in memory (whole instances/s)",
                "not measured" if ratio is None else f"{ratio:.3f}× ({engine:.1f} vs {raw:.0f} instances/s)",
                None if ratio is None else ratio >= 0.25))
    out.append(_limit("complete p50 ≤ 5 ms in process", m.get(f"complete_p50_ms_{key}"), 5.0, "{:.2f} ms"))
    clients = m.get("http_latency_clients", min(s.http_clients))
    out.append(_limit(f"complete p50 ≤ 15 ms over HTTP ({clients} client{'s' if clients != 1 else ''})",
                      m.get(f"http_complete_p50_ms_{key}"), 15.0, "{:.2f} ms"))
    size = max(s.inbox_sizes)
    at_size = "" if size >= 100_000 else f" (quick run: measured at {size:,})"
    out.append(_limit("inbox p95 ≤ 50 ms at 100k open tasks" + at_size, m.get(f"inbox_p95_ms_{key}_{size}"), 50.0, "{:.1f} ms"))
    out.append(_limit("inbox page p95 ≤ 50 ms at 100k open tasks" + at_size, m.get(f"inbox_page_p95_ms_{key}_{size}"), 50.0,
                      "{:.1f} ms"))
    fires = m.get(f"fires_per_s_{key}")
    out.append(("≥ 200 timer fires/s", _fmt(fires, "{:.0f} fires/s"), None if fires is None else fires >= 200))
    interval = m.get("worker_interval_s", EngineConfig().worker_interval_s)
    out.append(_limit(f"lag p99 ≤ 1 s at {s.lag_rate:.0f} timers/s (worker interval {interval} s)",
                      m.get(f"lag_p99_s_{key}"), 1.0, "{:.2f} s"))
    growth, last = m.get(f"growth_{key}"), m.get(f"growth_last_{key}")
    measured = _fmt(growth, "{:.1f}×")
    if growth is not None and last is not None and last < s.growth_points[-1]:
        measured += f" at iteration {last}; the instance stalls after it (iteration {s.growth_points[-1]:,} unreachable)"
    stalled = bool(m.get(f"growth_stalled_{key}"))
    out.append((f"flat growth: complete at iteration {s.growth_points[-1]:,} vs iteration {s.growth_points[0]}",
                measured, None if growth is None else (growth <= FLAT_GROWTH and not stalled)))
    rss: list[Any] | None = m.get(f"worker_rss_{key}")
    if rss and len(rss) >= 3:
        (n1, r1), (n2, r2) = rss[1], rss[-1]
        out.append((f"flat growth: worker RSS after {n2:,} vs {n1:,} fired instances",
                    f"{r1 / 2**20:.1f} → {r2 / 2**20:.1f} MiB ({r2 / r1:.2f}×)", r2 / r1 <= FLAT_RSS))
    return out


def _limit(label: str, value: float | None, limit: float, form: str) -> tuple[str, str, bool | None]:
    return label, _fmt(value, form), None if value is None else value <= limit


def _fmt(value: float | None, form: str) -> str:
    return "not measured" if value is None else form.format(value)

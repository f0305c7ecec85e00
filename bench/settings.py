"""How big each benchmark runs: the full run (``make bench``) and the quick one (``--quick``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Sizes of every benchmark; see FULL and QUICK."""

    name: str
    instances: int                 # whole bench_flow instances through the Engine, per backend
    baseline_instances: int        # raw SpiffWorkflow instances per baseline
    inbox_sizes: tuple[int, ...]   # open human_task rows
    inbox_queries: int             # list_tasks calls per size
    timers: int                    # instances waiting on a timer, fired in one go
    memory_points: tuple[int, ...] # fired instances after which the worker's RSS is read
    lag_seconds: float             # steady-rate lag test duration
    lag_rate: float                # timers due per second in the lag test
    loops: int                     # growth: iterations of the looping user task
    growth_points: tuple[int, ...] # iterations whose completion cost is reported
    concurrency_instances: int     # bench_flow instances per process count (split across processes)
    concurrency_rounds: int        # rounds of 1, 2, 4 processes in turn, each on its share of those instances
    profile_completes: int         # completions under cProfile (bench.profile_complete)
    http_instances: int            # HTTP API: whole bench_flow instances per client count and backend
    http_clients: tuple[int, ...]  # HTTP API: concurrent client threads, one run each
    http_workers: int              # gunicorn (gthread) workers serving the HTTP API and the inbox page
    inbox_page_requests: int       # inbox page: timed GETs per size (and as many API listings)


FULL = Settings(
    name="full", instances=1000, baseline_instances=2000, inbox_sizes=(10_000, 100_000), inbox_queries=200,
    timers=10_000, memory_points=(1_000, 10_000), lag_seconds=20.0, lag_rate=50.0, loops=1000,
    growth_points=(10, 100, 1000), concurrency_instances=480, concurrency_rounds=4,
    profile_completes=600,
    http_instances=300, http_clients=(1, 4), http_workers=2, inbox_page_requests=200,
)

QUICK = Settings(
    name="quick", instances=60, baseline_instances=200, inbox_sizes=(10_000,), inbox_queries=100,
    timers=500, memory_points=(100, 500), lag_seconds=3.0, lag_rate=50.0, loops=200,
    growth_points=(10, 100, 200), concurrency_instances=24, concurrency_rounds=1,
    profile_completes=150,
    http_instances=20, http_clients=(1, 4), http_workers=2, inbox_page_requests=60,
)

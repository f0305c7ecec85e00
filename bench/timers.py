"""Timers: how fast a worker fires a backlog of due timers, its memory after 1,000/10,000 fires,
and the lag (fired_at − due_at) at a steady 50 timers/s with the worker polling on a real clock."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from multiprocessing import get_context
from typing import Any

import sqlalchemy as sa

from bench.backends import Backend
from bench.context import Context
from bench.harness import build_engine, deploy, rss_bytes
from bench.report import Table, human_bytes, percentile
from engine import Engine, EngineConfig, ManualClock
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS
from engine.scheduling.worker import Worker

SECTION = "Timers"
MEMORY_SECTION = "Growth"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def run(ctx: Context) -> list[Table]:
    """Fire a backlog of due timers, then measure lag at a steady rate, on every backend."""
    s = ctx.settings
    fires = Table(SECTION, f"Firing {s.timers:,} timers due within one minute (Engine.fire_due_timers in a worker process)", [
        "backend", "timers", "starts/s (setup)", "fired", "fires/s", "outcomes"])
    memory = Table(MEMORY_SECTION, "Worker memory (RSS from /proc/self/statm) while firing timers of distinct instances", [
        "backend", "fired instances", "RSS", "growth since first fire"])
    lag = Table(SECTION, f"Lag at a steady {s.lag_rate:.0f} timers/s for {s.lag_seconds:.0f} s (worker processes, real clock)", [
        "backend", "workers", "worker interval s", "due", "fired", "lag p50 s", "lag p95 s", "lag p99 s", "lag max s",
        "setup note"])
    default_interval = EngineConfig().worker_interval_s
    for backend in ctx.backends:
        start_rate = _backlog(ctx, backend, fires, memory)
        runs = [(1, default_interval)]
        if backend.is_postgres:
            runs.append((2, default_interval))  # workers share the due timers through SKIP LOCKED leases
        if s.name == "full":
            runs.append((1, 0.25))
        for workers, interval in runs:
            _lag(ctx, backend, lag, interval, start_rate, workers)
    fires.notes += [
        "Setup: bench_timer instances (start → PT1M intermediate timer → end) started on a ManualClock that advances "
        "60 s / N between starts, so every due_at falls within one minute; the clock is then moved past them all.",
        "A separate (spawned) worker process calls Engine.fire_due_timers(limit=100) until nothing is due: one acquisition "
        "pass of 100 rows, then one transaction per timer (load, refresh timers, save, audit).",
    ]
    memory.notes.append("Same worker process as the fires/s row; the first reading is after engine start-up, before any fire.")
    lag.notes += [
        "Instances are started ahead with the engine clock overridden (Engine.clock.at), so their timers fall due at the "
        "steady rate while 1 or 2 spawned worker processes each run Worker(engine).fire_timers_forever() on the real "
        "clock (as `bpm worker` does: fire what is due, sleep until the next due time; on PostgreSQL a notification "
        "wakes it when a timer is written, on SQLite it polls every interval for new ones); 2 workers only on PostgreSQL, whose SKIP LOCKED leases let them "
        "share the work.",
        "Lag is the lag_s the engine records in each timer_fired audit event (fired_at − due_at).",
    ]
    return [fires, lag, memory]


def _backlog(ctx: Context, backend: Backend, fires: Table, memory: Table) -> float:
    n = ctx.settings.timers
    with backend.fresh("timers") as url:
        clock = ManualClock(T0)
        engine = build_engine(url, clock=clock)
        try:
            deploy(engine, "bench_timer.bpmn")
            ctx.log(f"{backend.name}: starting {n:,} timer instances")
            step = timedelta(seconds=60 / n)
            start = time.perf_counter()
            for _ in range(n):
                engine.start("bench_timer", {}, "rep")
                clock.advance(step)
            start_rate = n / (time.perf_counter() - start)
            waiting = _count(engine, "SELECT COUNT(*) FROM timer WHERE status = 'waiting'")
            fire_at = T0 + timedelta(seconds=125)
            ctx.log(f"{backend.name}: firing {waiting:,} due timers in a worker process")
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                result = pool.submit(fire_backlog, url, fire_at.isoformat(), ctx.settings.memory_points).result()
            fired_events = _count(engine, "SELECT COUNT(*) FROM audit_event WHERE type = 'timer_fired'")
        finally:
            engine.close()
    per_s = result["fired"] / result["seconds"]
    ctx.metrics[f"fires_per_s_{backend.name.lower()}"] = per_s
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(result["outcomes"].items()))
    fires.add(backend.name, waiting, start_rate, fired_events, per_s, outcomes)
    first = result["rss"][0][1]
    for fired, rss in result["rss"]:
        memory.add(backend.name, fired, human_bytes(rss), human_bytes(rss - first))
    ctx.metrics[f"worker_rss_{backend.name.lower()}"] = result["rss"]
    return start_rate


def fire_backlog(url: str, now_iso: str, points: tuple[int, ...]) -> dict[str, Any]:
    """In a fresh process: fire every due timer in passes of 100; report time, outcomes and RSS at ``points``."""
    config = EngineConfig(database_url=url, forms_dir=SHIPPED_FORMS, calendars_dir=SHIPPED_CALENDARS)
    engine = Engine(config=config, clock=ManualClock(datetime.fromisoformat(now_iso)))
    rss = [(0, rss_bytes())]
    outcomes: Counter[str] = Counter()
    fired, pending = 0, sorted(points)
    start = time.perf_counter()
    while True:
        batch = engine.fire_due_timers(limit=config.timer_batch_size, owner="bench-worker")
        outcomes.update(r.outcome for r in batch)
        fired += len(batch)
        while pending and fired >= pending[0]:
            rss.append((pending.pop(0), rss_bytes()))
        if not batch:
            break
    seconds = time.perf_counter() - start
    engine.close()
    return {"fired": outcomes.get("fired", 0), "seconds": seconds, "outcomes": dict(outcomes), "rss": rss}


def _lag(ctx: Context, backend: Backend, table: Table, interval: float, start_rate: float, workers: int) -> None:
    s = ctx.settings
    count = int(s.lag_rate * s.lag_seconds)
    with backend.fresh("lag") as url:
        engine = build_engine(url)  # real clock
        try:
            deploy(engine, "bench_timer.bpmn")
            with engine.clock.at(datetime.now(timezone.utc) + timedelta(days=365)):
                engine.start("bench_timer", {}, "rep")  # warm the spec cache; its timer is due in a year
            lead = count / start_rate * 1.5 + 2.0
            first_due = datetime.now(timezone.utc) + timedelta(seconds=lead)
            ctx.log(f"{backend.name}: lag test, {count} timers due from {lead:.1f} s ahead, {workers} worker(s) every {interval} s")
            for i in range(count):
                with engine.clock.at(first_due - timedelta(seconds=60) + timedelta(seconds=i / s.lag_rate)):
                    engine.start("bench_timer", {}, "rep")
            slack = (first_due - datetime.now(timezone.utc)).total_seconds()
            note = "" if slack > 0 else f"setup overran the first due time by {-slack:.1f} s"
            run_for = slack + s.lag_seconds + 10
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(lag_worker, url, interval, f"bench-lag-{k}", count, run_for) for k in range(workers)]
                for future in futures:
                    future.result()
            with engine.db.connect() as conn:
                rows = conn.execute(sa.text("SELECT data FROM audit_event WHERE type = 'timer_fired'")).scalars().all()
        finally:
            engine.close()
    lags = [float((r if isinstance(r, dict) else json.loads(r))["lag_s"]) for r in rows]
    key = backend.name.lower()
    if interval == EngineConfig().worker_interval_s:
        ctx.metrics[f"lag_p99_s_{key}_w{workers}"] = percentile(lags, 99)
    if interval == EngineConfig().worker_interval_s and workers == 1:
        ctx.metrics[f"lag_p99_s_{key}"] = percentile(lags, 99)
        ctx.metrics["worker_interval_s"] = interval
    table.add(backend.name, workers, interval, count, len(lags), percentile(lags, 50), percentile(lags, 95),
              percentile(lags, 99), max(lags) if lags else None, note or "–")


def lag_worker(url: str, interval: float, owner: str, count: int, run_for: float) -> int:
    """In a fresh process: run the worker's timer loop (as `bpm worker` does) until ``count`` timers have fired."""
    config = EngineConfig(database_url=url, forms_dir=SHIPPED_FORMS, calendars_dir=SHIPPED_CALENDARS)
    engine = Engine(config=config)
    worker = Worker(engine, interval_s=interval, owner=owner)
    loop = threading.Thread(target=worker.fire_timers_forever, name="bench-timers")
    loop.start()
    deadline = time.monotonic() + run_for
    try:
        while time.monotonic() < deadline and _count(engine, "SELECT COUNT(*) FROM audit_event WHERE type = 'timer_fired'") < count:
            time.sleep(0.5)  # the benchmark's own check of progress, not the worker's wait
    finally:
        worker.stopping.set()
        worker.wakeup.wake()
        loop.join()
        engine.close()
    return worker.fired


def _count(engine: Engine, sql: str) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar() or 0)

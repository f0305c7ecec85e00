"""Concurrency (PostgreSQL only): 1, 2 and 4 client processes completing tasks of distinct instances,
then 4 processes racing on the same instances.

The same number of bench_flow instances is split across the processes each time; every
process walks its instances to the end (lookup → claim → complete per task). A Conflict
(the optimistic lock, or a task someone else completed first) is counted and the task
looked up again. In the shared run every process walks every instance, in the same order,
so they collide on every task: conflicts belong there, and each task is still completed once.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import sqlalchemy as sa

from bench.context import Context
from bench.harness import ACTOR_OF_GROUP, TASK_DATA, build_engine, deploy, flow_data
from bench.report import Table, ms, percentile
from engine import Engine, EngineConfig
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS
from engine.errors import Conflict, EngineError

SECTION = "Concurrency (PostgreSQL)"
PROCESS_COUNTS = (1, 2, 4)


def run(ctx: Context) -> list[Table]:
    """Run the client processes against a fresh PostgreSQL database."""
    table = Table(SECTION, "Client processes completing tasks of distinct instances (and of shared ones)", [
        "processes", "instances", "completes", "completes/s", "instances/s", "× 1 process", "complete p50 ms",
        "complete p95 ms", "conflicts", "other errors", "CPU busy", "backends waiting on a lock"])
    backend = ctx.backend("PostgreSQL")
    if backend is None:
        table.add("skipped", None, None, None, None, None, None, None, None,
                  "PostgreSQL only: set BPM_BENCH_POSTGRES_URL or DATABASE_URL")
        return [table]
    total = ctx.settings.concurrency_instances
    base_rate = None
    with backend.fresh("concurrency") as url:
        engine = build_engine(url)
        try:
            deploy(engine, "bench_flow.bpmn")
            for count, shared in [*((c, False) for c in PROCESS_COUNTS), (max(PROCESS_COUNTS), True)]:
                ctx.log(f"PostgreSQL: {count} client process(es), {total} {'shared' if shared else 'distinct'} instances")
                ids = [engine.start("bench_flow", flow_data(i), "rep").id for i in range(total)]
                warm_ups = [engine.start("bench_flow", flow_data(i), "rep").id for i in range(count)]
                with Sampler(url) as sampled:
                    results = _clients(url, [ids if shared else ids[k::count] for k in range(count)], warm_ups, shared)
                wall = max(r["end"] for r in results) - min(r["begin"] for r in results)
                completes = sum(r["completes"] for r in results)
                rate = completes / wall
                base_rate = base_rate or rate
                latencies = [x for r in results for x in r["latencies"]]
                table.add(f"{count} (shared instances)" if shared else count, total, completes, rate, total / wall,
                          rate / base_rate, ms(percentile(latencies, 50)), ms(percentile(latencies, 95)),
                          sum(r["conflicts"] for r in results), sum(r["errors"] for r in results),
                          f"{sampled.cpu_busy:.0%}", f"{sampled.lock_share:.0%}")
                if not shared:
                    ctx.metrics[f"concurrency_{count}"] = rate
                else:
                    ctx.metrics["concurrency_shared_errors"] = sum(r["errors"] for r in results)
        finally:
            engine.close()
    table.notes += [
        f"This machine has {os.cpu_count()} CPU cores, shared by the client processes and the PostgreSQL server.",
        "Each client process first walks one instance of its own to its end, before the clock starts (not counted): "
        "what a fresh process does once (connecting, loading the spec and forms, compiling its statements) is left out.",
        "Shared instances: every process walks all instances in the same order; 'completes' must equal 3 per instance "
        "(each task completed exactly once), the losers of each race count as conflicts.",
        "Every command appends to its instance's audit chain under a row lock on that chain's head only "
        "(audit_chain_head, docs/audit.md), so commits on distinct instances do not queue on one lock.",
        "CPU busy: the whole machine's, from /proc/stat over the run (clients, PostgreSQL and everything else). "
        "Backends waiting on a lock: of the benchmark database's server processes seen running a statement "
        f"(pg_stat_activity sampled every {SAMPLE_S * 1000:.0f} ms), the share waiting on a heavyweight lock. Near 100% CPU "
        "and few lock waits mean the cores, not a lock, cap the throughput.",
    ]
    return [table]


SAMPLE_S = 0.02


class Sampler:
    """While the block runs: the machine's CPU busy share (/proc/stat) and how often the benchmark database's active
    server processes wait on a lock (pg_stat_activity, sampled from a thread)."""

    def __init__(self, url: str):
        self.url = url
        self.cpu_busy = 0.0
        self.lock_share = 0.0
        self._stop = threading.Event()
        self._active = self._locked = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Sampler:
        self._cpu = _cpu_times()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        idle, total = (b - a for a, b in zip(self._cpu, _cpu_times(), strict=True))
        self.cpu_busy = 1 - idle / total if total else 0.0
        self.lock_share = self._locked / self._active if self._active else 0.0

    def _sample(self) -> None:
        probe = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with probe.connect() as conn:
                while not self._stop.wait(SAMPLE_S):
                    for kind, in conn.exec_driver_sql(
                            "SELECT wait_event_type FROM pg_stat_activity WHERE datname = current_database() "
                            "AND state = 'active' AND pid <> pg_backend_pid()"):
                        self._active += 1
                        self._locked += kind == "Lock"
                    conn.rollback()
        finally:
            probe.dispose()


def _cpu_times() -> tuple[int, int]:
    """Return (idle + iowait, total) jiffies of all CPUs."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def _clients(url: str, shares: list[list[int]], warm_ups: list[int], shared: bool) -> list[dict[str, Any]]:
    """Run one spawned client process per share of instance ids (each with its own warm-up instance), started
    together; return their results."""
    spawn = get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(max_workers=len(shares), mp_context=spawn) as pool:
        barrier = manager.Barrier(len(shares))
        futures = [pool.submit(client, url, share, barrier, shared, warm_up)
                   for share, warm_up in zip(shares, warm_ups, strict=True)]
        return [f.result() for f in futures]


def client(url: str, instance_ids: list[int], barrier: Any, shared: bool = False,
           warm_up: int | None = None) -> dict[str, Any]:
    """In a fresh process: walk each instance to its end; count completes, conflicts and other errors.

    ``warm_up``: an instance of this process's own, walked to its end before the clock starts, so what a fresh
    process does once (connecting, loading the spec and forms, compiling its statements) is not counted; every
    process count measures the steady state. With ``shared``, other processes walk the same instances: finishing
    one without completing any of its tasks is then no error.
    """
    config = EngineConfig(database_url=url, forms_dir=SHIPPED_FORMS, calendars_dir=SHIPPED_CALENDARS)
    engine = Engine(config=config)
    if warm_up is not None:
        _walk(engine, warm_up, [], shared=False)
    else:
        engine.instance(instance_ids[0])  # connect and load the spec before the clock starts
    barrier.wait()  # all processes start together
    begin = time.time()
    totals = {"completes": 0, "conflicts": 0, "errors": 0}
    latencies: list[float] = []
    for instance_id in instance_ids:
        for key, value in _walk(engine, instance_id, latencies, shared).items():
            totals[key] += value
    end = time.time()
    engine.close()
    return {"begin": begin, "end": end, **totals, "latencies": latencies}


def _walk(engine: Engine, instance_id: int, latencies: list[float], shared: bool) -> dict[str, int]:
    """Walk one instance to its end (lookup → claim → complete per task); return its completes, conflicts, errors."""
    completes = conflicts = errors = 0
    for _attempt in range(50):
        open_tasks = engine.tasks(instance_id=instance_id)
        if not open_tasks:
            break
        for task in open_tasks:
            try:
                completes += _work(engine, task, latencies)
            except Conflict:
                conflicts += 1
            except EngineError:
                errors += 1
            except Exception:  # noqa: BLE001 - a database error is a result here, not a crash
                errors += 1
    if completes == 0 and not shared:
        errors += 1
    return {"completes": completes, "conflicts": conflicts, "errors": errors}


def _work(engine: Engine, task: Any, latencies: list[float]) -> int:
    actor = ACTOR_OF_GROUP.get(task.group, "rep")
    engine.claim(task.id, actor)
    start = time.perf_counter()
    engine.complete(task.id, TASK_DATA.get(task.element_id, {}), actor)
    latencies.append(time.perf_counter() - start)
    return 1

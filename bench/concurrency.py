"""Concurrency (PostgreSQL only): 1, 2 and 4 client processes completing tasks of distinct instances, taking
turns round after round, then 4 processes racing on the same instances.

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
        "complete p95 ms", "conflicts", "other errors", "CPU busy", "CPU ms per complete",
        "backends waiting on a lock"])
    backend = ctx.backend("PostgreSQL")
    if backend is None:
        table.add("skipped", None, None, None, None, None, None, None, None,
                  "PostgreSQL only: set BPM_BENCH_POSTGRES_URL or DATABASE_URL")
        return [table]
    s = ctx.settings
    per_round = max(s.concurrency_instances // s.concurrency_rounds, max(PROCESS_COUNTS))
    runs = {count: Run() for count in PROCESS_COUNTS}
    with backend.fresh("concurrency") as url:
        engine = build_engine(url)
        try:
            deploy(engine, "bench_flow.bpmn")
            # The process counts take turns, round after round: this machine's speed drifts within minutes, and a
            # ratio of two runs made minutes apart would measure that drift (bench/README.md).
            for r in range(s.concurrency_rounds):
                for count in PROCESS_COUNTS:
                    ctx.log(f"PostgreSQL: round {r + 1}/{s.concurrency_rounds}, {count} client process(es), "
                            f"{per_round} distinct instances")
                    runs[count].add(*_timed(engine, url, count, per_round, shared=False))
            ctx.log(f"PostgreSQL: {max(PROCESS_COUNTS)} client processes, {per_round} shared instances")
            shared = Run()
            shared.add(*_timed(engine, url, max(PROCESS_COUNTS), per_round, shared=True))
        finally:
            engine.close()
    base_rate = runs[1].rate
    for count, one in [*runs.items(), (max(PROCESS_COUNTS), shared)]:
        table.add(f"{count} (shared instances)" if one is shared else count, one.instances, one.completes, one.rate,
                  one.instances / one.wall, one.rate / base_rate, ms(percentile(one.latencies, 50)),
                  ms(percentile(one.latencies, 95)), one.conflicts, one.errors, f"{one.cpu_busy:.0%}",
                  one.cpu_ms_per_complete, f"{one.lock_share:.0%}")
    for count, one in runs.items():
        ctx.metrics[f"concurrency_{count}"] = one.rate
    ctx.metrics["concurrency_shared_errors"] = shared.errors
    # Once the cores are busy, completes/s can grow no further than this from one process's rate (at its CPU cost).
    ctx.metrics["concurrency_ceiling"] = 1 / runs[1].cpu_busy if runs[1].cpu_busy else None
    table.notes += [
        f"This machine has {os.cpu_count()} CPU cores, shared by the client processes and the PostgreSQL server.",
        f"The process counts take turns: {s.concurrency_rounds} round(s) of 1, 2 and 4 processes, each on "
        f"{per_round} instances of its own; a row adds up its rounds (completes ÷ the sum of their wall times).",
        "Each client process first walks one instance of its own to its end, before the clock starts (not counted): "
        "what a fresh process does once (connecting, loading the spec and forms, compiling its statements) is left out.",
        "Shared instances: every process walks all instances in the same order; 'completes' must equal 3 per instance "
        "(each task completed exactly once), the losers of each race count as conflicts.",
        "Every command appends to its instance's audit chain under a row lock on that chain's head only "
        "(audit_chain_head, docs/audit.md), so commits on distinct instances do not queue on one lock.",
        "CPU busy: the whole machine's, from /proc/stat over the timed runs (clients, PostgreSQL and everything else; "
        f"read every {SAMPLE_S * 1000:.0f} ms, the readings around each run's start and end). CPU ms "
        "per complete: the machine's busy CPU time over the runs ÷ completes (the lookups and claims between them "
        "included). Backends waiting on a lock: of the benchmark database's server processes seen running a statement "
        f"(pg_stat_activity sampled every {SAMPLE_S * 1000:.0f} ms), the share waiting on a heavyweight lock. Near 100% CPU "
        "and few lock waits mean the cores, not a lock, cap the throughput.",
        f"One process keeps the machine {runs[1].cpu_busy:.0%} busy: its client and its server process take turns, so "
        f"it already keeps {runs[1].cpu_busy * (os.cpu_count() or 1):.2f} of the {os.cpu_count()} cores busy. At its CPU "
        f"cost per complete, all cores busy give at most {ctx.metrics['concurrency_ceiling'] or 0:.2f}× its rate, "
        "whatever the number of processes (the most 'the cores allow' in the goals table).",
    ]
    return [table]


class Run:
    """One process count's runs added up: completes, wall time, latencies, errors, CPU and lock samples."""

    def __init__(self) -> None:
        self.instances = self.completes = self.conflicts = self.errors = 0
        self.wall = 0.0
        self.latencies: list[float] = []
        self.idle = self.total = self.active = self.locked = 0

    def add(self, instances: int, results: list[dict[str, Any]], sampled: Sampler) -> None:
        """Add one run: its clients' results and what the sampler saw while they were timed."""
        begin, end = min(r["begin"] for r in results), max(r["end"] for r in results)
        idle, total, active, locked = sampled.window(begin, end)
        self.instances += instances
        self.wall += end - begin
        self.completes += sum(r["completes"] for r in results)
        self.conflicts += sum(r["conflicts"] for r in results)
        self.errors += sum(r["errors"] for r in results)
        self.latencies += [x for r in results for x in r["latencies"]]
        self.idle, self.total = self.idle + idle, self.total + total
        self.active, self.locked = self.active + active, self.locked + locked

    @property
    def rate(self) -> float:
        return self.completes / self.wall

    @property
    def cpu_busy(self) -> float:
        return 1 - self.idle / self.total if self.total else 0.0

    @property
    def cpu_ms_per_complete(self) -> float:
        return self.cpu_busy * (os.cpu_count() or 1) * self.wall * 1000 / self.completes if self.completes else 0.0

    @property
    def lock_share(self) -> float:
        return self.locked / self.active if self.active else 0.0


def _timed(engine: Engine, url: str, count: int, instances: int, shared: bool) -> tuple[int, list[dict[str, Any]], Sampler]:
    """Start ``instances`` bench_flow instances and run ``count`` client processes on them (each on its share, or all
    on all when ``shared``); return the instance count, the clients' results and the sampler."""
    ids = [engine.start("bench_flow", flow_data(i), "rep").id for i in range(instances)]
    warm_ups = [engine.start("bench_flow", flow_data(i), "rep").id for i in range(count)]
    with Sampler(url) as sampled:
        results = _clients(url, [ids if shared else ids[k::count] for k in range(count)], warm_ups, shared)
    return instances, results, sampled


SAMPLE_S = 0.02


class Sampler:
    """While the block runs, every SAMPLE_S from a thread: the machine's idle and total CPU jiffies (/proc/stat), and
    how many of the benchmark database's server processes run a statement, and how many of them wait on a lock
    (pg_stat_activity). :meth:`window` adds up what was seen between two moments (the clients' timed run)."""

    def __init__(self, url: str):
        self.url = url
        self.ticks: list[tuple[float, int, int, int, int]] = []  # (time, idle, total, active, locked)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def window(self, begin: float, end: float) -> tuple[int, int, int, int]:
        """Return (idle, total) CPU jiffies from the last tick before ``begin`` to the first after ``end``, and the
        (active, locked) backends seen by the ticks in between."""
        before = [t for t in self.ticks if t[0] <= begin] or self.ticks[:1]
        after = [t for t in self.ticks if t[0] >= end] or self.ticks[-1:]
        first, last = before[-1], after[0]
        inside = [t for t in self.ticks if begin <= t[0] <= end]
        return (last[1] - first[1], last[2] - first[2], sum(t[3] for t in inside), sum(t[4] for t in inside))

    def _sample(self) -> None:
        probe = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with probe.connect() as conn:
                while True:
                    at, (idle, total) = time.time(), _cpu_times()
                    kinds = [kind for kind, in conn.exec_driver_sql(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state = 'active' AND pid <> pg_backend_pid()")]
                    conn.rollback()
                    self.ticks.append((at, idle, total, len(kinds), kinds.count("Lock")))
                    if self._stop.wait(SAMPLE_S):
                        at, (idle, total) = time.time(), _cpu_times()
                        self.ticks.append((at, idle, total, 0, 0))
                        return
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

"""Concurrency (PostgreSQL only): 1, 2 and 4 client processes completing tasks of distinct instances.

The same number of bench_flow instances is split across the processes each time; every
process walks its instances to the end (lookup → claim → complete per task). A Conflict
(the optimistic lock) is counted and the task looked up again.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from bench.context import Context
from bench.harness import ACTOR_OF_GROUP, TASK_DATA, build_engine, deploy, flow_data
from bench.report import Table, ms, percentile
from engine import Engine, EngineConfig
from engine.config import PROJECT_ROOT
from engine.errors import Conflict, EngineError

SECTION = "Concurrency (PostgreSQL)"
PROCESS_COUNTS = (1, 2, 4)


def run(ctx: Context) -> list[Table]:
    """Run the client processes against a fresh PostgreSQL database."""
    table = Table(SECTION, "Client processes completing tasks of distinct instances", [
        "processes", "instances", "completes", "completes/s", "instances/s", "× 1 process", "complete p50 ms",
        "complete p95 ms", "conflicts", "other errors"])
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
            for count in PROCESS_COUNTS:
                ctx.log(f"PostgreSQL: {count} client process(es), {total} instances")
                ids = [engine.start("bench_flow", flow_data(i), "rep").id for i in range(total)]
                spawn = get_context("spawn")
                with spawn.Manager() as manager, ProcessPoolExecutor(max_workers=count, mp_context=spawn) as pool:
                    barrier = manager.Barrier(count)
                    futures = [pool.submit(client, url, ids[k::count], barrier) for k in range(count)]
                    results = [f.result() for f in futures]
                wall = max(r["end"] for r in results) - min(r["begin"] for r in results)
                completes = sum(r["completes"] for r in results)
                rate = completes / wall
                base_rate = base_rate or rate
                latencies = [x for r in results for x in r["latencies"]]
                table.add(count, total, completes, rate, total / wall, rate / base_rate, ms(percentile(latencies, 50)),
                          ms(percentile(latencies, 95)), sum(r["conflicts"] for r in results),
                          sum(r["errors"] for r in results))
                ctx.metrics[f"concurrency_{count}"] = rate
        finally:
            engine.close()
    table.notes += [
        f"This machine has {os.cpu_count()} CPU cores, shared by the client processes and the PostgreSQL server.",
        "Every command also appends to the audit hash chain under a row lock on its single head row "
        "(SELECT … FOR UPDATE on audit_head), so commits of all processes queue on that lock.",
    ]
    return [table]


def client(url: str, instance_ids: list[int], barrier: Any) -> dict[str, Any]:
    """In a fresh process: walk each instance to its end; count completes, conflicts and other errors."""
    config = EngineConfig(database_url=url, forms_dir=PROJECT_ROOT / "forms", calendars_dir=PROJECT_ROOT / "calendars")
    engine = Engine(config=config)
    engine.instance(instance_ids[0])  # connect and load the spec before the clock starts
    barrier.wait()  # all processes start together
    begin = time.time()
    completes = conflicts = errors = 0
    latencies: list[float] = []
    for instance_id in instance_ids:
        completes_before = completes
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
        if completes == completes_before:
            errors += 1
    end = time.time()
    engine.close()
    return {"begin": begin, "end": end, "completes": completes, "conflicts": conflicts, "errors": errors,
            "latencies": latencies}


def _work(engine: Engine, task: Any, latencies: list[float]) -> int:
    actor = ACTOR_OF_GROUP.get(task.group, "rep")
    engine.claim(task.id, actor)
    start = time.perf_counter()
    engine.complete(task.id, TASK_DATA.get(task.element_id, {}), actor)
    latencies.append(time.perf_counter() - start)
    return 1

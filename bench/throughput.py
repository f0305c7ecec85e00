"""Engine in process: whole bench_flow instances per second against the raw baselines, command
latencies, SQL statements per command, and database rows/bytes written per instance."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from bench.backends import Backend, table_row_counts
from bench.baseline import BaselineResult, parse_spec, run_baselines, run_instance
from bench.context import Context
from bench.harness import SqlCounter, build_engine, deploy, flow_data, run_flow_instance
from bench.report import Table, human_bytes, ms, percentile

SECTION = "Throughput and latency (engine in process)"
COMMANDS = ("start", "lookup", "claim", "complete")
RAW_CHUNKS = 10  # the engine's timed instances run in this many chunks, each followed by raw instances


def run(ctx: Context) -> list[Table]:
    """Run the baselines, then the engine on every backend."""
    n = ctx.settings.instances
    ctx.log(f"baselines: {ctx.settings.baseline_instances} raw SpiffWorkflow instances each")
    baselines = run_baselines(ctx.settings.baseline_instances)
    ctx.metrics["raw_in_memory_per_s"] = baselines[0].per_second
    ctx.metrics["raw_json_per_s"] = baselines[1].per_second

    throughput = Table(SECTION, "Whole bench_flow instances per second", [
        "runner", "instances", "instances/s", "ms/instance", "× raw in memory", "× raw + JSON"])
    for b in baselines:
        throughput.add(b.name, b.instances, b.per_second, ms(1 / b.per_second),
                       b.per_second / baselines[0].per_second, b.per_second / baselines[1].per_second)
    latency = Table(SECTION, "Latency per engine command (ms; each command is one transaction)", [
        "backend", "command", "calls", "mean", "p50", "p95", "p99", "SQL statements/call", "server waits/call", "statements by kind (per call)"])
    writes = Table(SECTION, "Database writes per instance", [
        "backend", "table", "rows added (net)", "rows written (insert+update+delete)"])
    sizes = Table(SECTION, "Bytes per instance", ["backend", "database growth", "WAL written", "instance document (lean JSON)",
                                                  "raw SpiffWorkflow full JSON"])
    for backend in ctx.backends:
        ctx.log(f"{backend.name}: {n} bench_flow instances through the Engine")
        _engine_run(ctx, backend, n, baselines, throughput, latency, writes, sizes)
    throughput.notes += [
        "One instance: start → (lookup open tasks → claim → complete) × 3 user tasks; half the instances take the "
        "head-approval branch. The engine column includes the 4 lookups (Engine.tasks) a client needs to find the next task.",
        "Raw + JSON: BpmnWorkflowSerializer(CAMUNDA_CONFIG).serialize_json + deserialize_json after each of the 3 user tasks.",
        "Raw baselines use SpiffWorkflow's default script engine; the engine uses its RestrictedPython sandbox.",
        f"'Alongside': the engine's timed instances run in {RAW_CHUNKS} chunks, each followed by twice as many raw "
        "in-memory instances, timed apart; the engine's × raw in memory is against that raw rate, measured at the same "
        "moments (this machine's speed drifts by a third within minutes). Its own × column compares it with the "
        "baseline run first. The goals use the ratio against the raw rate alongside.",
        "The engine's instances are timed with no listener on its connections; the statement counts and rows written "
        "below come from a second, untimed pass over a fifth as many further instances (at least 20).",
    ]
    latency.notes += [
        "Latencies are from the timed pass. Statements counted (in the untimed pass) with a before_cursor_execute "
        "listener on engine.db (BEGIN counted too; psycopg sends BEGIN "
        "implicitly, so PostgreSQL rows show one fewer). On PostgreSQL some writes go out in psycopg pipelines: a "
        "completion's instance UPDATE, new task rows and task UPDATE; at commit, the notification and audit INSERTs, "
        "the chain head UPDATE and the COMMIT. They are counted one by one as statements, but a pipeline is one wait.",
        "Server waits (PostgreSQL): how often a command waits for the server's answer: each statement sent on its own, "
        "each pipeline, psycopg's BEGIN and a COMMIT sent on its own (counted with SQLAlchemy's cursor, begin and commit "
        "events; not measured on SQLite, which runs in the process).",
        "The engine keeps each committed workflow in memory (per instance version), so these in-process commands skip "
        "deserialization; 'run cache off' repeats a fifth of the instances with that cache size set to 0, as a process "
        "sees it when another process handled the instance last.",
    ]
    writes.notes.append("Rows written counts cursor rowcounts of INSERT/UPDATE/DELETE per table (executemany: one per "
                        "parameter set); audit_chain_head is the tip row of the instance's audit chain, inserted (with its final "
                        "position) by the start and updated by every later command.")
    return [throughput, latency, writes, sizes]


def _engine_run(ctx: Context, backend: Backend, n: int, baselines: list[BaselineResult], throughput: Table,
                latency: Table, writes: Table, sizes: Table) -> None:
    with backend.fresh("flow") as url:
        engine = build_engine(url)
        try:
            deploy(engine, "bench_flow.bpmn")
            for i in range(10):  # warm the spec cache and connection pool
                run_flow_instance(engine, 10_000_000 + i)
            rows_before, size_before = table_row_counts(engine), backend.size_bytes(engine)
            wal_before = backend.wal_position(engine)
            # Timed with no listener on the connection: the statement counter's own work per statement would be
            # counted as the engine's. Its counts come from a second, untimed pass over further instances.
            samples: dict[str, list[float]] = {}
            elapsed, alongside = _timed_with_raw_alongside(engine, n, samples)
            counted = max(n // 5, 20)
            counter = SqlCounter(engine)
            for i in range(n, n + counted):
                run_flow_instance(engine, i, None, counter)
            counter.close()
            wal_after = backend.wal_position(engine)
            rows_after, size_after = table_row_counts(engine), backend.size_bytes(engine)
            document = _mean_document_bytes(engine)
            cold, cold_statements = _cold_completes(engine, n // 5)
        finally:
            engine.close()
    per_s = n / elapsed
    key = backend.name.lower()
    ctx.metrics[f"engine_per_s_{key}"] = per_s
    ctx.metrics[f"raw_alongside_per_s_{key}"] = alongside.per_second
    throughput.add(f"{alongside.name}, alongside the {backend.name} run", alongside.instances, alongside.per_second,
                   ms(1 / alongside.per_second), alongside.per_second / baselines[0].per_second, None)
    throughput.add(f"Engine on {backend.name}", n, per_s, ms(elapsed / n), per_s / alongside.per_second,
                   per_s / baselines[1].per_second)
    for command in COMMANDS:
        data = samples.get(command, [])
        mean_statements, kinds = counter.per_call(command)
        calls = counter.calls[command] or 1
        by_kind = ", ".join(f"{k} {v / calls:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
        latency.add(backend.name, command, len(data), ms(sum(data) / len(data)), ms(percentile(data, 50)),
                    ms(percentile(data, 95)), ms(percentile(data, 99)), mean_statements, counter.waits_per_call(command),
                    by_kind)
        ctx.metrics[f"{command}_p50_ms_{key}"] = ms(percentile(data, 50))
        ctx.metrics[f"{command}_p99_ms_{key}"] = ms(percentile(data, 99))
    if cold:
        latency.add(backend.name, "complete, run cache off", len(cold), ms(sum(cold) / len(cold)), ms(percentile(cold, 50)),
                    ms(percentile(cold, 95)), ms(percentile(cold, 99)), cold_statements, None,
                    "workflow restored from its JSON document")
    tables = sorted(set(rows_after) | set(counter.rows_written))
    total_net = total_written = 0.0
    for table in tables:
        net = (rows_after.get(table, 0) - rows_before.get(table, 0)) / (n + counted)
        written = counter.rows_written.get(table, 0) / counted
        if net or written:
            writes.add(backend.name, table, net, written)
            total_net += net
            total_written += written
    writes.add(backend.name, "**all tables**", total_net, total_written)
    wal = None if wal_before is None or wal_after is None else (wal_after - wal_before) / (n + counted)
    sizes.add(backend.name, human_bytes((size_after - size_before) / (n + counted)), human_bytes(wal), human_bytes(document),
              human_bytes(baselines[1].document_bytes))


def _timed_with_raw_alongside(engine: Any, n: int, samples: dict[str, list[float]]) -> tuple[float, BaselineResult]:
    """Time ``n`` engine instances in chunks, each followed by twice as many raw in-memory instances, timed apart.

    On a machine whose speed drifts from minute to minute (shared cores), a baseline measured before the engine
    runs can differ from the engine's moment by a third; raw instances run between the engine's chunks see the
    same moments, so their ratio does not move with the drift. Returns the engine's seconds and the raw result.
    """
    spec, subprocess_specs = parse_spec()
    for i in range(20):
        run_instance(spec, subprocess_specs, flow_data(i))
    chunk = max(n // RAW_CHUNKS, 1)
    engine_s = raw_s = 0.0
    raw_n = done = 0
    while done < n:
        size = min(chunk, n - done)
        start = time.perf_counter()
        for i in range(done, done + size):
            run_flow_instance(engine, i, samples)
        engine_s += time.perf_counter() - start
        done += size
        start = time.perf_counter()
        for i in range(raw_n, raw_n + 2 * size):
            run_instance(spec, subprocess_specs, flow_data(i))
        raw_s += time.perf_counter() - start
        raw_n += 2 * size
    return engine_s, BaselineResult("raw SpiffWorkflow, in memory", raw_n, raw_s)


def _cold_completes(engine: Any, instances: int) -> tuple[list[float], float | None]:
    """Complete tasks with the runtime's committed-workflow cache switched off (every command deserializes).

    The engine keeps committed workflows in memory per instance version, so in-process commands
    skip deserialization; a deployment with several processes misses that cache whenever
    another process touched the instance last. Returns no samples if the runtime has no such cache.
    """
    runtime = engine.runtime
    if not hasattr(runtime, "run_cache_size"):
        return [], None
    size = runtime.run_cache_size
    runtime.run_cache_size = 0
    counter = SqlCounter(engine)
    try:
        samples: dict[str, list[float]] = {}
        for i in range(instances):
            run_flow_instance(engine, 20_000_000 + i, samples, counter)
        return samples.get("complete", []), counter.per_call("complete")[0]
    finally:
        counter.close()
        runtime.run_cache_size = size


def _mean_document_bytes(engine: Any) -> float:
    with engine.db.connect() as conn:
        return float(conn.execute(sa.text("SELECT AVG(LENGTH(state)) FROM process_instance")).scalar() or 0)

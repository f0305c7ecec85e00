"""HTTP API: whole bench_flow instances through ``/api/v1`` on a real gunicorn, driven by a bounded client.

Each client thread has its own connection and runs instances one after another, like
``bench.harness.run_flow_instance`` does in process: start → (list the instance's open tasks
→ claim → complete) for each user task, until the list comes back empty. The lane decides
who works on a task (cs_rep → ``rep``, cs_head → ``head``); every other instance is a large
claim that the gateway sends to head approval.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.backends import Backend
from bench.baseline import run_baselines
from bench.context import Context
from bench.harness import ACTOR_OF_GROUP, TASK_DATA, build_engine, deploy, flow_data, run_flow_instance
from bench.report import Table, ms, percentile
from bench.server import HttpClient, HttpError, Server, gunicorn
from engine.services.tokens import create_token

SECTION = "HTTP API"
KINDS = ("start", "list tasks", "claim", "complete")
# What a request costs without a command, timed on one connection after the instances: the HTTP server, Flask and the
# client with no database access; then an API request that only looks up its bearer token and says who called.
FLOORS = (("GET /healthz (no database)", "/healthz"), ("GET /api/v1/me (token look-up, no command)", "/api/v1/me"))
FLOOR_WARM_UP = 20  # untimed requests before each floor's timed ones
# Without a start form only admins may give a process start data (web/api/instances.py), and bench_flow has none:
# instances are started, and their tasks listed, by an admin; the lanes' people claim and complete.
STARTER = "bench_api"
REQUESTS_PER_INSTANCE = 11  # start, 4 task listings, 3 claims, 3 completes
WORKERS = ("rep", "head")
WARM_UP_PER_WORKER = 2


@dataclass
class ClientStats:
    """What one client thread saw: request times per kind, responses outside 2xx, and 409s it retried."""

    samples: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    non_2xx: int = 0
    conflicts: int = 0

    def call(self, client: HttpClient, kind: str, method: str, path: str, token: str, payload: Any, status: int,
             conflict_ok: bool = False) -> Any:
        """Send one timed API request; return its JSON, or None for a 409 the caller retries; raise on anything else."""
        start = time.perf_counter()
        reply = client.api(method, path, token, payload)
        self.samples[kind].append(time.perf_counter() - start)
        if reply.status == status:
            return reply.json()
        self.non_2xx += 1
        if reply.status == 409 and conflict_ok:
            self.conflicts += 1
            return None
        raise HttpError(f"{kind} {method} {path}: expected {status}, got {reply.status}: "
                        f"{reply.body[:1000].decode('utf-8', 'replace')}")

    def merge(self, other: ClientStats) -> None:
        """Add another thread's numbers to these."""
        for kind, data in other.samples.items():
            self.samples[kind].extend(data)
        self.non_2xx += other.non_2xx
        self.conflicts += other.conflicts


def run(ctx: Context) -> list[Table]:
    """Serve each backend's database with gunicorn and drive whole instances through the API."""
    raw = _raw_per_second(ctx)
    s = ctx.settings
    throughput = Table(SECTION, "Whole bench_flow instances per second through /api/v1 (gunicorn on 127.0.0.1)", [
        "backend", "clients", "gunicorn workers", "instances", "requests", "instances/s", "requests/s",
        "× raw in memory", "engine in process, alongside (instances/s)", "× engine in process", "non-2xx", "409 retried"])
    latency = Table(SECTION, "Latency per API request (ms, measured by the client)", [
        "backend", "clients", "request", "requests", "mean", "p50", "p95", "p99"])
    server_label = ""
    for backend in ctx.backends:
        ctx.log(f"{backend.name}: HTTP API, {s.http_instances} instances per client count {list(s.http_clients)}")
        server_label = _backend_run(ctx, backend, raw, throughput, latency)
    throughput.notes += [
        f"Server: {server_label} (as `bpm serve` runs it, no access log), a subprocess serving a fresh database; "
        "its gthread workers keep each client's connection open between requests (keep-alive).",
        "One instance is 11 requests: POST /api/v1/instances, 4 × GET /api/v1/tasks?instance_id=…, 3 × "
        "POST /api/v1/tasks/{id}/claim and 3 × POST /api/v1/tasks/{id}/complete; half take the head-approval branch.",
        f"Clients are threads in the benchmark process (one connection each), running instances back to back; "
        f"{WARM_UP_PER_WORKER * s.http_workers} instances on {s.http_workers} clients warm the server up first. Bearer tokens from "
        "engine.services.tokens.create_token.",
        f"Instances are started (and their tasks listed) by {STARTER!r}, an admin: bench_flow has no start form, and "
        "only admins may give such a process start data. rep/head claim and complete, as in process.",
        "A 409 on claim/complete would be counted and the instance's tasks listed again; any other non-2xx fails the run.",
        "× raw in memory compares with raw SpiffWorkflow in memory (the throughput benchmark's baseline). × engine in "
        "process compares with the Engine facade in this process on a database of its own on the same server, run "
        f"for {s.http_instances // 2} instances right before and {s.http_instances // 2} right after each client "
        "count's run (this machine's speed drifts by a third within minutes; see bench/README.md).",
    ]
    latency.notes.append("Each gunicorn worker keeps its own workflow cache: a request served by the other worker "
                         "than the instance's previous one restores the workflow from its JSON document.")
    return [throughput, latency]


def _raw_per_second(ctx: Context) -> float:
    """Return raw SpiffWorkflow instances/s in memory: the throughput benchmark's number, or a run of the baselines."""
    if "raw_in_memory_per_s" not in ctx.metrics:
        ctx.log(f"baselines: {ctx.settings.baseline_instances} raw SpiffWorkflow instances each")
        baselines = run_baselines(ctx.settings.baseline_instances)
        ctx.metrics["raw_in_memory_per_s"] = baselines[0].per_second
        ctx.metrics["raw_json_per_s"] = baselines[1].per_second
    return float(ctx.metrics["raw_in_memory_per_s"])


def _backend_run(ctx: Context, backend: Backend, raw: float, throughput: Table, latency: Table) -> str:
    """Prepare a fresh database, serve it, warm up, then run each client count; return the server's label."""
    s, key = ctx.settings, backend.name.lower()
    with backend.fresh("http") as url, backend.fresh("http-in-process") as in_process_url:
        tokens = _prepare(url)
        in_process = build_engine(in_process_url)
        try:
            deploy(in_process, "bench_flow.bpmn")
            for i in range(10):  # warm its caches and pool
                run_flow_instance(in_process, 80_000_000 + i)
            with gunicorn(url, s.http_workers) as server:
                _drive(server, tokens, s.http_workers, WARM_UP_PER_WORKER * s.http_workers, first=90_000_000)
                for clients in s.http_clients:
                    before = _in_process_seconds(in_process, s.http_instances // 2, first=clients * 1_000_000)
                    elapsed, stats = _drive(server, tokens, clients, s.http_instances, first=clients * 1_000_000)
                    after = _in_process_seconds(in_process, s.http_instances // 2, first=clients * 1_000_000 + 500_000)
                    engine = 2 * (s.http_instances // 2) / (before + after)
                    ctx.metrics[f"http_engine_alongside_per_s_{key}_{clients}"] = engine
                    _add_rows(ctx, backend, server, clients, raw, engine, elapsed, stats, throughput, latency)
                _add_floors(ctx, backend, server, tokens, latency)
                return server.label
        finally:
            in_process.close()


def _in_process_seconds(engine: Any, instances: int, first: int) -> float:
    """Seconds the Engine facade takes in this process for ``instances`` whole instances (on its own database)."""
    start = time.perf_counter()
    for i in range(first, first + instances):
        run_flow_instance(engine, i)
    return time.perf_counter() - start


def _add_rows(ctx: Context, backend: Backend, server: Server, clients: int, raw: float, engine: float, elapsed: float,
              stats: ClientStats, throughput: Table, latency: Table) -> None:
    """Report one client count's run: its throughput row, its latency rows, its metrics."""
    s, key = ctx.settings, backend.name.lower()
    requests = sum(len(v) for v in stats.samples.values())
    per_s = s.http_instances / elapsed
    throughput.add(backend.name, clients, server.workers, s.http_instances, requests, per_s, requests / elapsed,
                   per_s / raw, engine, per_s / engine, stats.non_2xx, stats.conflicts)
    for kind in KINDS:
        data = stats.samples[kind]
        latency.add(backend.name, clients, kind, len(data), ms(sum(data) / len(data)), ms(percentile(data, 50)),
                    ms(percentile(data, 95)), ms(percentile(data, 99)))
    _record(ctx, key, clients, per_s, stats)


def _add_floors(ctx: Context, backend: Backend, server: Server, tokens: dict[str, str], latency: Table) -> None:
    """Time the requests that run no command (FLOORS) on one connection; say what a request adds at one client."""
    client = HttpClient(server.port)
    key, floors = backend.name.lower(), {}
    try:
        for label, path in FLOORS:
            samples = []
            for i in range(-FLOOR_WARM_UP, ctx.settings.http_instances):
                start = time.perf_counter()
                reply = client.api("GET", path, tokens["rep"])
                if i >= 0:
                    samples.append(time.perf_counter() - start)
                if reply.status != 200:
                    raise HttpError(f"GET {path}: expected 200, got {reply.status}")
            floors[path] = percentile(samples, 50)
            latency.add(backend.name, 1, label, len(samples), ms(sum(samples) / len(samples)),
                        ms(percentile(samples, 50)), ms(percentile(samples, 95)), ms(percentile(samples, 99)))
    finally:
        client.close()
    clients = min(ctx.settings.http_clients)
    http, engine = ctx.metrics.get(f"http_per_s_{key}_{clients}"), ctx.metrics.get(f"http_engine_alongside_per_s_{key}_{clients}")
    if engine:
        # A request costs at least its command plus what a request that runs no command costs (it checks its token
        # too): at best, an instance takes the engine's time plus REQUESTS_PER_INSTANCE such requests. That is the most
        # HTTP ÷ engine one client can reach while every request checks its bearer token in the database.
        command_s = 1 / engine
        ctx.metrics[f"http_token_bound_{key}_{clients}"] = command_s / (
            command_s + REQUESTS_PER_INSTANCE * floors["/api/v1/me"])
    if http and engine:
        added = (1000 / http - 1000 / engine) / REQUESTS_PER_INSTANCE
        latency.notes.append(
            f"{backend.name}, {clients} client: an instance took {1000 / http:.1f} ms over HTTP and {1000 / engine:.1f} ms "
            f"through the Engine facade in process, so each of its {REQUESTS_PER_INSTANCE} requests added {added:.2f} ms "
            f"to its command. Of that, a request that runs no command costs {ms(floors['/healthz']):.2f} ms (p50: the "
            f"HTTP server, Flask and the client) and an API request that only looks up its token and says who called "
            f"{ms(floors['/api/v1/me']):.2f} ms. Were every request to cost its command plus only that, HTTP ÷ engine "
            f"would be {ctx.metrics[f'http_token_bound_{key}_{clients}']:.2f}× (the most 'a token check allows').")


def _record(ctx: Context, key: str, clients: int, per_s: float, stats: ClientStats) -> None:
    """Put the headline numbers in ctx.metrics: instances/s (best client count), complete p50/p95 (fewest clients)."""
    m = ctx.metrics
    m[f"http_per_s_{key}_{clients}"] = per_s
    m[f"http_per_s_{key}"] = max(per_s, m.get(f"http_per_s_{key}", 0.0))
    m[f"http_non_2xx_{key}"] = m.get(f"http_non_2xx_{key}", 0) + stats.non_2xx
    if clients == min(ctx.settings.http_clients):
        complete = stats.samples["complete"]
        m[f"http_complete_p50_ms_{key}"] = ms(percentile(complete, 50))
        m[f"http_complete_p95_ms_{key}"] = ms(percentile(complete, 95))
        m["http_latency_clients"] = clients


def _prepare(url: str) -> dict[str, str]:
    """Create the schema, users and bench_flow on ``url``; return a bearer token per user who calls the API."""
    engine = build_engine(url)
    try:
        deploy(engine, "bench_flow.bpmn")
        engine.add_user(STARTER, ["admin"])
        with engine.transaction() as session:
            return {user: create_token(session, user, "system", name="bench").secret for user in (STARTER, *WORKERS)}
    finally:
        engine.close()


def _drive(server: Server, tokens: dict[str, str], clients: int, instances: int, first: int) -> tuple[float, ClientStats]:
    """Run ``instances`` instances on ``clients`` threads; return the wall time and everyone's numbers."""
    stats = [ClientStats() for _ in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="bench-http") as pool:
        futures = [pool.submit(_client, server.port, tokens, range(first + t, first + instances, clients), stats[t])
                   for t in range(clients)]
        for future in futures:
            future.result()  # re-raises a client's failure
    elapsed = time.perf_counter() - start
    total = ClientStats()
    for one in stats:
        total.merge(one)
    return elapsed, total


def _client(port: int, tokens: dict[str, str], indices: Iterable[int], stats: ClientStats) -> None:
    """One client: its own connection, whole instances one after another."""
    client = HttpClient(port)
    try:
        for i in indices:
            _run_instance(client, tokens, i, stats)
    finally:
        client.close()


def _run_instance(client: HttpClient, tokens: dict[str, str], i: int, stats: ClientStats) -> None:
    """Drive instance ``i`` to its end over HTTP, as run_flow_instance does through the facade."""
    body = {"process_key": "bench_flow", "business_key": f"HTTP-{i}", "data": flow_data(i)}
    instance = stats.call(client, "start", "POST", "/api/v1/instances", tokens[STARTER], body, 201)
    while True:
        page = stats.call(client, "list tasks", "GET", f"/api/v1/tasks?instance_id={instance['id']}", tokens[STARTER], None, 200)
        if not page["items"]:
            return
        for task in page["items"]:
            token = tokens[ACTOR_OF_GROUP.get(task["group"], "rep")]
            path = f"/api/v1/tasks/{task['id']}"
            if stats.call(client, "claim", "POST", f"{path}/claim", token, None, 200, conflict_ok=True) is None:
                break
            data = {"data": TASK_DATA.get(task["element_id"], {})}
            if stats.call(client, "complete", "POST", f"{path}/complete", token, data, 200, conflict_ok=True) is None:
                break

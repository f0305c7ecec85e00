"""Inbox query: ``list_tasks(session, user=…, limit=50)`` over 10,000 and 100,000 open human tasks.

The rows are bulk-inserted with SQLAlchemy Core straight into ``process_instance`` and
``human_task`` (one running instance per open task; its workflow document is left empty,
because the inbox never reads it). Driving 100,000 instances through the engine would
take most of the run for rows the query cannot tell apart from these.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from bench.backends import Backend
from bench.context import Context
from bench.harness import SqlCounter, build_engine, deploy
from bench.report import Table, ms, percentile
from engine import Engine
from engine.persistence import HumanTask, ProcessInstance
from engine.services.tasks import list_tasks
from engine.services.users import DOMAIN_GROUPS

SECTION = "Inbox query"
GROUPS = sorted(DOMAIN_GROUPS)
USERS = {f"user{k:02d}": [GROUPS[k % len(GROUPS)], GROUPS[(k + 3) % len(GROUPS)]] for k in range(1, 21)}
ELEMENTS = [("register", "Register claim"), ("head_approval", "Head approval"), ("rep_review", "Rep review"),
            ("close", "Close claim")]
BATCH = 5_000


def run(ctx: Context) -> list[Table]:
    """Fill the inbox to each size and time the query on every backend."""
    table = Table(SECTION, "list_tasks(session, user=…, limit=50) over open human_task rows", [
        "backend", "open tasks", "queries", "p50 ms", "p95 ms", "max ms", "rows returned (mean)", "SQL statements/query"])
    plans = []
    for backend in ctx.backends:
        with backend.fresh("inbox") as url:
            engine = build_engine(url)
            try:
                plans += _measure(ctx, backend, engine, table)
            finally:
                engine.close()
    table.notes += [
        f"{len(USERS)} users, each in 2 of the {len(GROUPS)} groups; tasks spread over all groups, 25% assigned to a "
        "member of their group, 70% with a due date; one query per user in turn (after 10 warm-up queries).",
        "Rows bulk-inserted with SQLAlchemy Core into process_instance/human_task (documented in bench/inbox.py); "
        "timed: the list_tasks call inside an open session (it reads the user's groups, then one inbox query).",
        "PostgreSQL gets VACUUM ANALYZE after the bulk insert (autovacuum would do it on a live system); SQLite gets none, as the "
        "engine never runs it.",
    ] + plans
    return [table]


def prepare(engine: Engine, password_hash: str | None = None) -> int:
    """Deploy bench_flow and add the inbox users (with ``password_hash``, if given); return bench_flow's definition id."""
    deploy(engine, "bench_flow.bpmn")
    for name, groups in USERS.items():
        engine.add_user(name, groups, password_hash=password_hash)
    with engine.db.connect() as conn:
        return int(conn.execute(sa.text("SELECT id FROM process_definition WHERE process_key = 'bench_flow'")).scalar_one())


def analyze(engine: Engine, backend: Backend) -> None:
    """VACUUM ANALYZE PostgreSQL after a bulk insert, as autovacuum would on a live system; SQLite gets none.

    The vacuum sets the visibility map, without which the inbox's index-only counts read the heap.
    """
    if backend.is_postgres:
        with engine.db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def _measure(ctx: Context, backend: Backend, engine: Engine, table: Table) -> list[str]:
    definition_id = prepare(engine)
    rng = random.Random(42)  # noqa: S311 - reproducible test data, not security
    filled, plans = 0, []
    for size in ctx.settings.inbox_sizes:
        ctx.log(f"{backend.name}: inbox filling to {size:,} open tasks")
        bulk_insert(engine, definition_id, filled, size - filled, rng)
        filled = size
        analyze(engine, backend)
        samples, returned = [], []
        counter = SqlCounter(engine)
        users = list(USERS)
        with engine.session() as session:
            for q in range(10 + ctx.settings.inbox_queries):
                user = users[q % len(users)]
                with session.begin():
                    start = time.perf_counter()
                    with counter.measure("inbox"):
                        rows = list_tasks(session, user=user, limit=50)
                    if q >= 10:
                        samples.append(time.perf_counter() - start)
                        returned.append(len(rows))
                session.expunge_all()
        counter.close()
        statements = counter.per_call("inbox")[0]
        table.add(backend.name, size, len(samples), ms(percentile(samples, 50)), ms(percentile(samples, 95)),
                  ms(max(samples)), sum(returned) / len(returned), statements)
        ctx.metrics[f"inbox_p95_ms_{backend.name.lower()}_{size}"] = ms(percentile(samples, 95))
        plans.append(f"{backend.name} plan at {size:,}: {_plan(engine, backend)}")
    return plans


def bulk_insert(engine: Engine, definition_id: int, offset: int, count: int, rng: random.Random) -> None:
    """Insert ``count`` running instances with one open task each (numbered from ``offset``), over all groups."""
    base = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    members = {g: [u for u, gs in USERS.items() if g in gs] for g in GROUPS}
    instance_table, task_table = ProcessInstance.__table__, HumanTask.__table__
    with engine.db.begin() as conn:
        first_id = (conn.execute(sa.select(sa.func.max(instance_table.c.id))).scalar() or 0) + 1
        for chunk in range(0, count, BATCH):
            size = min(BATCH, count - chunk)
            instances: list[dict[str, Any]] = []
            tasks: list[dict[str, Any]] = []
            for j in range(size):
                n = offset + chunk + j
                instance_id = first_id + chunk + j
                created = base - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
                instances.append({
                    "id": instance_id, "definition_id": definition_id, "process_key": "bench_flow", "definition_version": 1,
                    "business_key": f"INBOX-{n}", "status": "running", "state": "", "summary": {}, "version": 1,
                    "parent_instance_id": None, "started_by": "rep", "started_at": created, "updated_at": created,
                    "ended_at": None})
                group = GROUPS[rng.randrange(len(GROUPS))]
                element, title = ELEMENTS[rng.randrange(len(ELEMENTS))]
                assignee = rng.choice(members[group]) if members[group] and rng.random() < 0.25 else None
                due = created + timedelta(hours=rng.randint(-48, 240)) if rng.random() < 0.7 else None
                tasks.append({
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "instance_id": instance_id,
                    "process_key": "bench_flow", "element_id": element, "title": title, "candidate_group": group,
                    "assignee": assignee, "form_key": None, "status": "open", "priority": rng.choice((30, 50, 50, 70)),
                    "business_key": f"INBOX-{n}", "customer": f"customer-{n % 997}", "created_at": created,
                    "due_at": due, "completed_at": None, "completed_by": None, "draft": None})
            conn.execute(instance_table.insert(), instances)
            conn.execute(task_table.insert(), tasks)
        if engine.db.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('process_instance', 'id'), "
                                 "(SELECT MAX(id) FROM process_instance))")


def _plan(engine: Engine, backend: Backend) -> str:
    """Return a one-line query plan of the inbox query for one user."""
    with engine.session() as session, session.begin():
        captured: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
            if "FROM human_task" in statement:
                captured.append((statement, parameters))

        sa.event.listen(engine.db, "before_cursor_execute", capture)
        try:
            list_tasks(session, user="user01", limit=50)
        finally:
            sa.event.remove(engine.db, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        conn = session.connection()
        if backend.is_postgres:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters).fetchall()
            lines = [r[0].strip().lstrip("->").strip() for r in rows]
            keep = [line.split(" (actual")[0] for line in lines if " Scan " in line or line.startswith("Sort Method")]
            timing = [line for line in lines if line.startswith("Execution Time")]
            return "; ".join(keep + timing)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        return "; ".join(str(r[-1]) for r in rows)[:400]

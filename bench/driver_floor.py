"""What the persistence layer costs: a claim through the Engine vs the same statements on the raw database driver.

A claim is the engine's smallest write command. The replica here sends what ``Engine.claim`` sends, in the same
order and transaction, straight to the DB-API connection (``sqlite3`` / ``psycopg``): the task read with the actor's
standing (the engine's own compiled statement), the version-checked claim UPDATE, the audit chain head read (locked
on PostgreSQL), the event INSERT and head UPDATE (pipelined with the COMMIT on PostgreSQL, as the engine does), and
the chain hash computed by the engine's own ``chain_digest``. Afterwards the engine verifies the replica's chains:
a replica that wrote anything the engine would not have written fails the run.

The ratio says how much of a command's time is SQLAlchemy (session, statement execution, result rows) and the
engine's glue around the database work: what a leaner path could still remove (the writes and the reads already go
on the cursor, see engine/persistence/driver.py; the session and its transaction do not).
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone
from typing import Any

from bench.backends import Backend
from bench.context import Context
from bench.harness import build_engine, deploy, flow_data
from bench.report import Table
from engine.services import audit_chain
from engine.services.audit import chain_digest
from engine.services.tasks import _TASK_FOR_ACTOR

SECTION = "Throughput and latency (engine in process)"
WARM_UP = 10
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
ACTOR = "rep"
_UPDATE = "UPDATE human_task SET assignee = {p} WHERE id = {p} AND status = 'open' AND assignee IS NULL"
_HEAD = "SELECT last_seq, last_hash FROM audit_chain_head WHERE chain_key = {p}"
_EVENT = ("INSERT INTO audit_event (at, actor, type, process_key, instance_id, task_id, data, chain_key, chain_seq, "
          "prev_hash, hash) VALUES ({ps})")
_ADVANCE = "UPDATE audit_chain_head SET last_seq = {p}, last_hash = {p} WHERE chain_key = {p}"


def run(ctx: Context) -> list[Table]:
    """Time claims through the Engine and through the replica, on every configured backend."""
    table = Table(SECTION, "A claim through the Engine vs the same statements on the raw driver", [
        "backend", "claims", "Engine ms/claim", "raw driver ms/claim", "Engine ÷ raw", "chains verified"])
    n = ctx.settings.instances
    for backend in ctx.backends:
        ctx.log(f"{backend.name}: {n} claims through the Engine and {n} on the raw driver")
        engine_ms, raw_ms, verified = _measure(backend, n)
        table.add(backend.name, n, engine_ms, raw_ms, engine_ms / raw_ms, verified)
        ctx.metrics[f"claim_engine_ms_{backend.name.lower()}"] = engine_ms
        ctx.metrics[f"claim_raw_ms_{backend.name.lower()}"] = raw_ms
    table.notes += [
        "Both claim the first task of distinct bench_flow instances, one transaction each, after "
        f"{WARM_UP} warm-up claims. The raw driver: sqlite3 (WAL, synchronous=NORMAL, BEGIN IMMEDIATE, as the engine "
        "sets them) or psycopg (the INSERT, the head UPDATE and the COMMIT in one pipeline, as the engine sends them).",
        "'Chains verified': the engine's verify_chain over every instance the replica claimed; a replica that wrote "
        "anything the engine would not have written fails the run.",
        "Engine ÷ raw is what SQLAlchemy and the engine's glue add to the same database work.",
    ]
    return [table]


def _measure(backend: Backend, n: int) -> tuple[float, float, int]:
    with backend.fresh("floor") as url:
        engine = build_engine(url)
        try:
            deploy(engine, "bench_flow.bpmn")
            total = 2 * (n + WARM_UP)
            tasks = [engine.tasks(instance_id=engine.start("bench_flow", flow_data(i), ACTOR).id)[0] for i in range(total)]
            via_engine, via_raw = tasks[:n + WARM_UP], tasks[n + WARM_UP:]
            for task in via_engine[:WARM_UP]:
                engine.claim(task.id, ACTOR)
            start = time.perf_counter()
            for task in via_engine[WARM_UP:]:
                engine.claim(task.id, ACTOR)
            engine_ms = (time.perf_counter() - start) / n * 1000
            replica = Replica(engine)
            try:
                for task in via_raw[:WARM_UP]:
                    replica.claim(task.id)
                start = time.perf_counter()
                for task in via_raw[WARM_UP:]:
                    replica.claim(task.id)
                raw_ms = (time.perf_counter() - start) / n * 1000
            finally:
                replica.close()
            verified = _verify(engine, [t.instance_id for t in via_raw])
        finally:
            engine.close()
    return engine_ms, raw_ms, verified


def _verify(engine: Any, instance_ids: list[int]) -> int:
    """Verify the replica's chains with the engine's own check; raise on the first break."""
    with engine.reading() as session:
        for instance_id in instance_ids:
            report = audit_chain.verify_chain(session, chain_key=instance_id)
            if not report.ok:
                raise RuntimeError(f"the raw-driver replica broke instance {instance_id}'s audit chain: {report}")
    return len(instance_ids)


class Replica:
    """``Engine.claim`` as the statements it sends, on a DB-API connection of its own."""

    def __init__(self, engine: Any):
        self.postgres = engine.db.dialect.name == "postgresql"
        compiled = _TASK_FOR_ACTOR.compile(dialect=engine.db.dialect)
        url = engine.db.url
        if self.postgres:
            import psycopg

            self.read_task = compiled.string
            self.conn: Any = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
            self.p = "%s"
        else:
            self.read_task, self.order = compiled.string, list(compiled.positiontup or [])
            self.conn = sqlite3.connect(url.database, isolation_level=None, timeout=30)
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.p = "?"
        self.update = _UPDATE.format(p=self.p)
        self.head = _HEAD.format(p=self.p) + (" FOR UPDATE" if self.postgres else "")
        self.event = _EVENT.format(ps=", ".join([self.p] * 11))
        self.advance = _ADVANCE.format(p=self.p)

    def claim(self, task_id: str) -> None:
        """Claim ``task_id`` for ACTOR in one transaction, with its audit event chained as the engine chains it."""
        if self.postgres:
            self._claim_postgres(task_id)
        else:
            self._claim_sqlite(task_id)

    def _claim_sqlite(self, task_id: str) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            values = {"task_id": task_id, "actor": ACTOR}
            instance_id = self._check(conn.execute(self.read_task, [values[k] for k in self.order]))
            if conn.execute(self.update, (ACTOR, task_id)).rowcount != 1:
                raise RuntimeError(f"task {task_id} was claimed by someone else")
            seq, prev = conn.execute(self.head, (instance_id,)).fetchone()
            event, digest = self._event(instance_id, task_id, seq, prev)
            at = event["at"].strftime(SQLITE_DATETIME)  # how SQLAlchemy's SQLite DATETIME stores it
            conn.execute(self.event, (at, *self._rest(event, instance_id, seq, prev, digest)))
            conn.execute(self.advance, (seq + 1, digest, instance_id))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _claim_postgres(self, task_id: str) -> None:
        conn = self.conn
        with conn.transaction():
            instance_id = self._check(conn.execute(self.read_task, {"task_id": task_id, "actor": ACTOR}))
            if conn.execute(self.update, (ACTOR, task_id)).rowcount != 1:
                raise RuntimeError(f"task {task_id} was claimed by someone else")
            seq, prev = conn.execute(self.head, (instance_id,)).fetchone()
            event, digest = self._event(instance_id, task_id, seq, prev)
            with conn.pipeline():
                conn.execute(self.event, (event["at"], *self._rest(event, instance_id, seq, prev, digest)))
                conn.execute(self.advance, (seq + 1, digest, instance_id))

    @staticmethod
    def _check(cursor: Any) -> int:
        """The claim's own checks on the row read: open, unclaimed, and the actor active in the task's group."""
        row = cursor.fetchone()
        if row is None:
            raise RuntimeError("task not found")
        task = dict(zip((c[0] for c in cursor.description), row, strict=True))
        groups = set((task["actor_groups"] or "").split(","))
        if task["status"] != "open" or task["assignee"] is not None or not task["actor_active"] \
                or task["candidate_group"] not in groups:
            raise RuntimeError(f"task {task['id']} may not be claimed by {ACTOR}")
        return int(task["instance_id"])

    @staticmethod
    def _event(instance_id: int, task_id: str, seq: int, prev: str) -> tuple[dict[str, Any], str]:
        event = {"at": datetime.now(timezone.utc), "actor": ACTOR, "type": "task_claimed", "instance_id": instance_id,
                 "task_id": task_id, "process_key": "bench_flow", "data": {}}
        return event, chain_digest(prev, instance_id, seq + 1, event)

    @staticmethod
    def _rest(event: dict[str, Any], instance_id: int, seq: int, prev: str, digest: str) -> tuple[Any, ...]:
        return (event["actor"], event["type"], event["process_key"], instance_id, event["task_id"],
                json.dumps(event["data"]), instance_id, seq + 1, prev, digest)

    def close(self) -> None:
        """Close the replica's connection."""
        self.conn.close()

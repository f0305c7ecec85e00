"""The calendar notice's counts of provisional due dates read a partial index, not every task (it is on the pages
of every admin and cs_head; at 100,000 open tasks the scan took 105 ms of a 120 ms inbox page on SQLite)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from engine import Engine
from engine.persistence import HumanTask, Timer


def _plan(engine: Engine, stmt: object) -> str:
    with engine.db.connect() as conn:
        compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
        return " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


def test_the_provisional_counts_use_their_partial_indexes(tmp_path: Path) -> None:
    engine = Engine(f"sqlite:///{tmp_path / 'p.sqlite3'}")
    engine.init()  # the migrations, as a real database gets them
    try:
        tasks = select(func.count(HumanTask.id)).where(HumanTask.status == "open", HumanTask.due_at_provisional.is_(True))
        timers = select(func.count(Timer.id)).where(Timer.status == "waiting", Timer.due_at_provisional.is_(True))
        assert "ix_task_provisional" in _plan(engine, tasks)
        assert "ix_timer_provisional" in _plan(engine, timers)
    finally:
        engine.close()

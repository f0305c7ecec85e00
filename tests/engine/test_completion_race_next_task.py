"""Two completions of one task in flight at once, on PostgreSQL, where completing it creates the next task: the
loser meets the instance's version check (Conflict), not a duplicate key on the next task's row — both commands
create the same next task id, so the new task rows are inserted only after the instance UPDATE won
(engine/services/loading.py: save_instance, projections.NewTasks)."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from engine import Conflict, Engine
from engine.services import tasks
from tests.conftest import deploy_fixture

WAIT_S = 30.0


def _waiting_on_a_lock(url: str) -> bool:
    probe = sa.create_engine(url)
    try:
        with probe.connect() as conn:
            return bool(conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'").scalar())
    finally:
        probe.dispose()


def test_the_loser_of_a_race_that_creates_the_next_task_gets_a_conflict(pg_engine: Engine, pg_url: str) -> None:
    engine = pg_engine
    deploy_fixture(engine, "send_back.bpmn")
    instance = engine.start("send_back", {"entries": 0, "claim": "破损 2 箱"}, actor="rep")
    enter = next(t for t in engine.tasks(instance_id=instance.id) if t.element_id == "enter")
    engine.claim(enter.id, "rep")

    written, release = threading.Event(), threading.Event()
    first: list[object] = []
    second: list[object] = []

    def hold_open() -> None:  # completes, then keeps its transaction open until told to commit
        with engine.transaction() as session:
            first.append(tasks.complete_task(session, enter.id, {"amount": 300}, "rep"))
            written.set()
            release.wait(WAIT_S)

    def race() -> None:
        try:
            second.append(engine.complete(enter.id, {"amount": 999}, "rep"))
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test reads
            second.append(exc)

    holder = threading.Thread(target=hold_open)
    holder.start()
    assert written.wait(WAIT_S)
    racer = threading.Thread(target=race)
    racer.start()
    deadline = time.monotonic() + WAIT_S
    while not _waiting_on_a_lock(pg_url):  # the racer read the old state and now waits on the holder's row lock
        assert time.monotonic() < deadline, "the second completion never waited on the first one's lock"
        time.sleep(0.01)
    release.set()
    holder.join(WAIT_S)
    racer.join(WAIT_S)

    assert first and first[0].status == "completed"  # type: ignore[attr-defined]
    assert len(second) == 1 and isinstance(second[0], Conflict), second
    open_now = [t.element_id for t in engine.tasks(instance_id=instance.id)]
    assert open_now == ["review"]
    assert engine.instance(instance.id).data["amount"] == 300
    assert [e.type for e in engine.history(instance.id)].count("task_completed") == 1
    assert engine.verify_audit().ok

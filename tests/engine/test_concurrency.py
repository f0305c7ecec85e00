"""Two completions of one instance at the same time: exactly one wins, the other gets a clear conflict."""

from __future__ import annotations

import threading

import pytest

from engine import Conflict, Engine, EngineError
from tests.conftest import deploy_fixture


def _race(engine: Engine, jobs: list[tuple[str, str]]) -> list[object]:
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def work(i: int, task_id: str, actor: str) -> None:
        barrier.wait()
        try:
            results[i] = engine.complete(task_id, {"by": actor}, actor)
        except EngineError as exc:
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i, t, a)) for i, (t, a) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _check_race(engine: Engine) -> None:
    deploy_fixture(engine, "multi.bpmn")
    for _ in range(5):
        inst = engine.start("multi", {"routes": ["A", "B"]})
        tasks = engine.tasks(instance_id=inst.id)
        # The same task completed twice, and two sibling tasks of one instance at once.
        results = _race(engine, [(tasks[0].id, "ops"), (tasks[0].id, "ops")])
        wins = [r for r in results if not isinstance(r, Exception)]
        losses = [r for r in results if isinstance(r, Exception)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert isinstance(losses[0], Conflict), losses
        remaining = engine.tasks(instance_id=inst.id)
        assert [t.id for t in remaining] == [tasks[1].id]
        completed = [e for e in engine.history(inst.id) if e.type == "task_completed"]
        assert len(completed) == 1

        inst2 = engine.start("multi", {"routes": ["A", "B"]})
        t1, t2 = engine.tasks(instance_id=inst2.id)
        results = _race(engine, [(t1.id, "ops"), (t2.id, "ops")])
        outcomes = sorted(type(r).__name__ for r in results)
        # Either both serialised (SQLite's single writer) or one lost the optimistic lock.
        assert outcomes in (["TaskView", "TaskView"], ["Conflict", "TaskView"]), results
        done = sum(not isinstance(r, Exception) for r in results)
        assert len(engine.tasks(instance_id=inst2.id)) == 2 - done
        view = engine.instance(inst2.id)
        assert view.status == ("completed" if done == 2 else "running")
        assert engine.verify_audit().ok


def test_concurrent_completions_sqlite(engine: Engine) -> None:
    _check_race(engine)


@pytest.mark.postgres
def test_concurrent_completions_postgres(pg_engine: Engine) -> None:
    _check_race(pg_engine)

"""Long loops keep a small task tree: finished passes are cut out (engine.runtime.pruning), and an
instance behaves exactly as it would with its whole history kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from lxml import etree

from engine.clock import ManualClock
from engine.runtime import Runtime, SourceDocument, parse_documents, pruning
from engine.runtime.calendar import BusinessCalendar
from engine.runtime.instance import InstanceRun
from tests.conftest import BPMN_DIR, MONDAY_9AM


def _runtime(process: str, file: str) -> tuple[Runtime, Any]:
    text = (BPMN_DIR / file).read_text()
    parsed = parse_documents([SourceDocument(file, text, etree.fromstring(text.encode()), "bpmn")])
    runtime = Runtime(ManualClock(MONDAY_9AM), "Asia/Shanghai", BusinessCalendar())
    return runtime, runtime.spec_bundle(process, runtime.dump_spec(parsed[process]))


def _tasks_in(run: InstanceRun) -> int:
    return len(run.workflow.tasks) + sum(len(sp.tasks) for sp in run.workflow.subprocesses.values())


def _mixed_loop(passes: int) -> list[tuple[Any, ...]]:
    """Drive loop_mixed through ``passes`` passes, saving and restoring after every step; return what was seen.

    Every seventh pass lets task_b's 2-hour timer fire instead of completing it.
    """
    runtime, bundle = _runtime("loop_mixed", "loop_mixed.bpmn")
    clock = runtime.clock
    assert isinstance(clock, ManualClock)
    run = runtime.new_run(bundle, {"loops": passes, "n": 0, "total": 0, "late_count": 0})
    run.advance()
    seen: list[tuple[Any, ...]] = []

    def step(action: Any) -> None:
        nonlocal run
        action()
        run = runtime.restore(bundle, runtime.dump(run))
        data = run.data()
        seen.append((sorted(t.element_id for t in run.ready_tasks()), sorted(t.element_id for t in run.waiting_timers()),
                     {k: data.get(k) for k in ("n", "total", "late_count", "a_val", "b_val")}, run.completed, _tasks_in(run)))

    def ready(element: str) -> str:
        return next(t.id for t in run.ready_tasks() if t.element_id == element)

    for i in range(passes):
        step(lambda: run.complete(ready("inner"), {}))
        step(lambda i=i: run.complete(ready("task_a"), {"a_val": i}))
        if i % 7 == 3:
            clock.advance(timedelta(hours=3))
            step(run.fire_timers)
        else:
            step(lambda i=i: run.complete(ready("task_b"), {"b_val": 10 * i}))
    return seen


def test_a_pruned_loop_behaves_exactly_like_the_whole_history(monkeypatch: pytest.MonkeyPatch) -> None:
    pruned = _mixed_loop(30)
    with monkeypatch.context() as m:
        m.setattr(pruning, "_prune_tree", lambda top, tree: 0)
        whole = _mixed_loop(30)
    assert [s[:4] for s in pruned] == [s[:4] for s in whole]  # same tasks, timers, data, end
    last = pruned[-1]
    assert last[3] is True and last[2]["n"] == 30 and last[2]["late_count"] == 4
    # each pass adds what both branches wrote in that pass (engine.runtime.joins keeps task_a's a_val)
    assert last[2]["total"] == sum(i + (0 if i % 7 == 3 else 10 * i) for i in range(30))
    assert max(s[4] for s in pruned) < 40 < whole[-2][4]  # the whole history keeps growing


def test_a_thousand_passes_keep_the_document_small() -> None:
    runtime, bundle = _runtime("bench_loop", "loop.bpmn")
    run = runtime.new_run(bundle, {"loops": 1000, "n": 0})
    run.advance()
    sizes = {}
    for i in range(1, 1001):
        run.complete(run.ready_tasks()[0].id, {"note": f"pass {i}"})
        document = runtime.dump(run)
        if i in (10, 1000):
            sizes[i] = len(document)
        if i % 250 == 0:
            run = runtime.restore(bundle, document)
    assert run.completed and run.data()["n"] == 1000 and run.data()["note"] == "pass 1000"
    assert sizes[1000] < 1.2 * sizes[10]


def test_nothing_is_cut_while_a_branch_is_open() -> None:
    runtime, bundle = _runtime("loop_mixed", "loop_mixed.bpmn")
    run = runtime.new_run(bundle, {"loops": 3, "n": 0, "total": 0, "late_count": 0})
    run.advance()
    run.complete(run.ready_tasks()[0].id, {})  # inner: now task_a and task_b are open in parallel
    before = set(run.workflow.tasks)
    assert pruning.prune_history(run.workflow) == 0
    assert set(run.workflow.tasks) == before

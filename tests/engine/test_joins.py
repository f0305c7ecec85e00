"""A parallel join keeps what every branch wrote (engine.runtime.joins), as process variables would."""

from __future__ import annotations

from lxml import etree

from engine.clock import ManualClock
from engine.runtime import Runtime, SourceDocument, parse_documents
from engine.runtime.calendar import BusinessCalendar
from engine.runtime.joins import EngineParallelGateway
from tests.conftest import BPMN_DIR, MONDAY_9AM


def _bundle() -> tuple[Runtime, object]:
    text = (BPMN_DIR / "loop_mixed.bpmn").read_text()
    parsed = parse_documents([SourceDocument("loop_mixed.bpmn", text, etree.fromstring(text.encode()), "bpmn")])
    runtime = Runtime(ManualClock(MONDAY_9AM), "Asia/Shanghai", BusinessCalendar())
    return runtime, runtime.spec_bundle("loop_mixed", runtime.dump_spec(parsed["loop_mixed"]))


def test_a_variable_changed_in_one_branch_survives_the_join_and_the_stored_spec_keeps_our_gateway() -> None:
    runtime, bundle = _bundle()
    assert type(bundle.spec.task_specs["join"]) is EngineParallelGateway  # type: ignore[attr-defined]
    assert runtime.serializer.dump_spec(bundle.spec)["task_specs"]["join"]["typename"] == "ParallelGateway"  # type: ignore[attr-defined]
    run = runtime.new_run(bundle, {"loops": 2, "n": 0, "total": 0, "late_count": 0, "a_val": 100, "b_val": 200,  # type: ignore[arg-type]
                                   "note": "start"})
    run.advance()

    def complete(element: str, data: dict[str, object]) -> None:
        run.complete(next(t.id for t in run.ready_tasks() if t.element_id == element), data)

    complete("inner", {})
    complete("task_a", {"a_val": 1, "note": "from a"})   # a_val existed before the split: must not revert to 100
    complete("task_b", {"b_val": 2})                      # b arrives last; it carried a_val=100 and note="start"
    data = run.data()
    assert (data["a_val"], data["b_val"], data["note"], data["total"]) == (1, 2, "from a", 3)
    complete("inner", {})
    complete("task_b", {"b_val": 20, "note": "from b"})  # second pass, b first this time
    complete("task_a", {"a_val": 10})
    data = run.data()
    assert run.completed and (data["a_val"], data["b_val"], data["note"], data["total"]) == (10, 20, "from b", 33)


def test_when_both_branches_change_a_variable_the_last_to_arrive_wins() -> None:
    runtime, bundle = _bundle()
    run = runtime.new_run(bundle, {"loops": 1, "n": 0, "total": 0, "late_count": 0, "note": "start"})  # type: ignore[arg-type]
    run.advance()
    run.complete(next(t.id for t in run.ready_tasks() if t.element_id == "inner"), {})
    run.complete(next(t.id for t in run.ready_tasks() if t.element_id == "task_a"), {"a_val": 1, "note": "a"})
    run.complete(next(t.id for t in run.ready_tasks() if t.element_id == "task_b"), {"b_val": 2, "note": "b"})
    assert run.completed and run.data()["note"] == "b"

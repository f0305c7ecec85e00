"""A loop of hundreds of passes keeps working (SpiffWorkflow's task-iterator depth cap is lifted)."""

from __future__ import annotations

from lxml import etree

from engine.clock import ManualClock
from engine.runtime import Runtime, SourceDocument, parse_documents
from engine.runtime.calendar import BusinessCalendar
from tests.conftest import BPMN_DIR, MONDAY_9AM


def test_a_300_pass_loop_reaches_its_end_after_save_and_restore() -> None:
    text = (BPMN_DIR / "loop.bpmn").read_text()
    parsed = parse_documents([SourceDocument("loop.bpmn", text, etree.fromstring(text.encode()), "bpmn")])
    runtime = Runtime(ManualClock(MONDAY_9AM), "Asia/Shanghai", BusinessCalendar())
    bundle = runtime.spec_bundle("loop", runtime.dump_spec(parsed["bench_loop"]))
    run = runtime.new_run(bundle, {"loops": 300, "n": 0})
    run.advance()
    passes = 0
    while run.ready_tasks():
        run.complete(run.ready_tasks()[0].id, {})
        passes += 1
        if passes % 100 == 0:
            run = runtime.restore(bundle, runtime.dump(run))  # the persisted path, mid-loop
    assert passes == 300 and run.completed

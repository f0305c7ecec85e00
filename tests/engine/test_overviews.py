"""Instance lists name the current step without loading workflows: open tasks, else timers, else awaited messages."""

from __future__ import annotations

from pathlib import Path

from engine import Engine
from engine.services.overviews import instance_overviews

WAIT_FOR_PAYMENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://bpm.test">
  <bpmn:message id="m_paid" name="paid"/>
  <bpmn:process id="wait_paid" name="等待付款" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="paid_event"/>
    <bpmn:intermediateCatchEvent id="paid_event" name="收到付款"><bpmn:messageEventDefinition messageRef="m_paid"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="paid_event" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_case_waiting_only_for_a_message_names_the_message_event(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "wait_paid.bpmn"
    path.write_text(WAIT_FOR_PAYMENT, "utf-8")
    engine.deploy([path], actor="designer")
    waiting = engine.start("wait_paid", actor="rep")
    with engine.transaction() as session:
        overview = instance_overviews(session, [waiting.id])[waiting.id]
    assert overview.open_tasks == [] and overview.waiting_on == ["paid_event"]
    engine.message("paid", {"instance_id": waiting.id}, actor="system")
    with engine.transaction() as session:
        assert instance_overviews(session, [waiting.id])[waiting.id].waiting_on == []

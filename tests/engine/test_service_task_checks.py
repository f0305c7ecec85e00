"""Service tasks at deploy: external tasks with a topic deploy; Java, JUEL, connectors and nothing are refused in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import Engine
from engine.errors import DefinitionError
from tests.conftest import BPMN_DIR

HEAD = (BPMN_DIR / "camunda5_external_task.bpmn").read_text().split("\n", 2)[:2]


def one_task(tmp_path: Path, task: str, name: str = "one_task.bpmn") -> Path:
    """A Camunda Modeler 5 file with one task between start and end."""
    body = "\n".join(HEAD) + f"""
  <bpmn:process id="one_task" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    {task}
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_1" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_1" targetRef="EndEvent_1" />
  </bpmn:process>
</bpmn:definitions>
"""
    path = tmp_path / name
    path.write_text(body)
    return path


def refusal(engine: Engine, path: Path, lang: str = "en") -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        engine.deploy([path], actor="designer")
    return [p.render(lang) for p in caught.value.problems]


def test_java_juel_connector_and_empty_service_tasks_are_refused_with_what_to_use(engine: Engine) -> None:
    lines = refusal(engine, BPMN_DIR / "camunda5_java_service_tasks.bpmn")
    assert [re.match(r"[\w.]+:(\d+): (\w+)", line).groups() for line in lines] == [  # type: ignore[union-attr]
        ("7", "Activity_credit_check"), ("11", "Activity_fee"), ("15", "Activity_notify"), ("21", "Activity_tms_call"),
        ("32", "Activity_archive")]
    assert "Activity_fee (Compute fee): service task evaluates the Java/JUEL expression '${feeService.compute(order)}'" in lines[1]
    assert "'com.example.erp.CreditCheckDelegate' (camunda:class), and this engine runs no Java" in lines[0]
    assert "camunda:delegateExpression" in lines[2] and "connector 'http-connector'" in lines[3]
    assert "has no implementation" in lines[4]
    for line in lines:
        assert 'make it an external task (camunda:type="external" camunda:topic="' in line
        assert not re.search(r"0x|Error:|Traceback|line 0", line)
    assert "本引擎不运行 Java" in refusal(engine, BPMN_DIR / "camunda5_java_service_tasks.bpmn", "zh")[0]
    assert engine.instances() == []


def test_an_external_task_needs_a_plain_topic(engine: Engine, tmp_path: Path) -> None:
    [line] = refusal(engine, one_task(tmp_path, '<bpmn:serviceTask id="Activity_1" name="Sync" camunda:type="external">'
                                                '<bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>'
                                                '</bpmn:serviceTask>'))
    assert line.startswith("one_task.bpmn:5: Activity_1 (Sync): external service task has no camunda:topic")
    [line] = refusal(engine, one_task(tmp_path, '<bpmn:serviceTask id="Activity_1" camunda:type="external" '
                                                'camunda:topic="${topicName}"><bpmn:incoming>Flow_1</bpmn:incoming>'
                                                '<bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:serviceTask>'))
    assert "has the topic '${topicName}', an expression" in line


def test_listeners_and_mappings_inside_a_service_task_are_refused(engine: Engine, tmp_path: Path) -> None:
    lines = refusal(engine, one_task(tmp_path, """<bpmn:serviceTask id="Activity_1" camunda:type="external" camunda:topic="erp">
      <bpmn:extensionElements>
        <camunda:inputOutput><camunda:inputParameter name="order">${order}</camunda:inputParameter></camunda:inputOutput>
        <camunda:executionListener class="com.example.Audit" event="start" />
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:serviceTask>"""))
    assert len(lines) == 2
    assert "camunda:inputOutput mappings" in lines[0] and "execution/task listener" in lines[1]


def test_an_external_business_rule_task_deploys_and_waits_for_a_worker(engine: Engine, tmp_path: Path) -> None:
    from engine.services.external_tasks import list_external_tasks

    path = one_task(tmp_path, '<bpmn:businessRuleTask id="Activity_1" name="Score in the ERP" camunda:type="external" '
                              'camunda:topic="erp_scoring"><bpmn:incoming>Flow_1</bpmn:incoming>'
                              '<bpmn:outgoing>Flow_2</bpmn:outgoing></bpmn:businessRuleTask>')
    engine.deploy([path], actor="designer")
    instance = engine.start("one_task", {"customer": "ACME"})
    with engine.transaction() as session:
        [task] = list_external_tasks(session, instance_id=instance.id)
    assert (task.topic, task.element_id, task.title) == ("erp_scoring", "Activity_1", "Score in the ERP")

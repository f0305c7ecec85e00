"""Deploy checks for service tasks: only external tasks (``camunda:type="external" camunda:topic="…"``) run here.

Camunda 7 files implement service tasks with Java (``camunda:class``, ``camunda:delegateExpression``),
JUEL (``camunda:expression``) or connectors; this engine runs no Java, so each is refused by name,
with the external-task form to use instead (a worker does the work through the external-task API).
"""

from __future__ import annotations

from typing import Any

from engine.definitions.messages import clean_name, local_name, problem
from engine.definitions.support import foreign_expression
from engine.errors import Problem
from engine.runtime import SourceDocument

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
_USE = ('make it an external task (camunda:type="external" camunda:topic="{topic}") and let a worker do the work '
        "through the external-task API (docs/external-tasks.md)")
_USE_ZH = ('请改为外部任务（camunda:type="external" camunda:topic="{topic}"），由外部工作者通过外部任务 API 完成'
           "（见 docs/external-tasks.md）")
# id: (English, 中文); every message says why (no Java here) and what to use instead.
MESSAGES: dict[str, tuple[str, str]] = {
    "class": ("{kind} calls the Java class '{value}' (camunda:class), and this engine runs no Java; " + _USE,
              "{kind}调用 Java 类 '{value}'（camunda:class），本引擎不运行 Java；" + _USE_ZH),
    "expression": ("{kind} evaluates the Java/JUEL expression '{value}' (camunda:expression), and this engine runs no "
                   "Java; " + _USE, "{kind}计算 Java/JUEL 表达式 '{value}'（camunda:expression），本引擎不运行 Java；" + _USE_ZH),
    "delegateExpression": ("{kind} delegates to the Java bean '{value}' (camunda:delegateExpression), and this engine "
                           "runs no Java; " + _USE,
                           "{kind}委托给 Java bean '{value}'（camunda:delegateExpression），本引擎不运行 Java；" + _USE_ZH),
    "connector": ("{kind} uses the Camunda connector '{value}', which runs in Java, and this engine runs no Java; " + _USE,
                  "{kind}使用 Camunda 连接器 '{value}'（在 Java 中运行），本引擎不运行 Java；" + _USE_ZH),
    "none": ("{kind} has no implementation, so nothing would ever do its work; " + _USE,
             "{kind}没有实现方式，没有任何东西会完成它；" + _USE_ZH),
    "type": ("{kind} has camunda:type=\"{value}\", which this engine does not run; " + _USE,
             "{kind}的 camunda:type=\"{value}\" 不受本引擎支持；" + _USE_ZH),
    "no_topic": ("external {kind} has no camunda:topic, so no worker could fetch it; name the topic its workers "
                 "fetch, e.g. camunda:topic=\"{topic}\"", "外部{kind}没有 camunda:topic，任何工作者都无法获取它；请填写工作者"
                 "获取的主题，例如 camunda:topic=\"{topic}\""),
    "topic_expression": ("external {kind} has the topic '{value}', an expression; a topic is a plain name workers fetch, "
                         "e.g. camunda:topic=\"{topic}\"", "外部{kind}的主题 '{value}' 是表达式；主题应为工作者获取的固定名称，"
                         "例如 camunda:topic=\"{topic}\""),
}
_KINDS = {"serviceTask": ("service task", "服务任务"), "sendTask": ("send task", "发送任务"),
          "businessRuleTask": ("business rule task", "业务规则任务")}


def service_task_problems(doc: SourceDocument, process: Any) -> list[Problem]:
    """Refuse every service task that is not an external task with a topic, and external tasks without one."""
    problems = []
    for node in process.iter(*(f"{{{BPMN}}}{kind}" for kind in _KINDS)):
        kind = local_name(node)
        implementation = (node.get(f"{{{CAMUNDA}}}type") or "").strip()
        if implementation == "external":
            topic = (node.get(f"{{{CAMUNDA}}}topic") or "").strip()
            if not topic:
                problems.append(_problem(doc, node, "no_topic"))
            elif foreign_expression(topic) or any(c in topic for c in "{}$#"):
                problems.append(_problem(doc, node, "topic_expression", topic))
        elif kind == "serviceTask":
            problems += _java_problems(doc, node, implementation)
        if kind == "serviceTask":
            problems += _extension_problems(doc, node)
    return problems


def _java_problems(doc: SourceDocument, node: Any, implementation: str) -> list[Problem]:
    for attribute in ("class", "delegateExpression", "expression"):
        value = (node.get(f"{{{CAMUNDA}}}{attribute}") or "").strip()
        if value:
            return [_problem(doc, node, attribute, value)]
    connector = node.find(f"{{{BPMN}}}extensionElements/{{{CAMUNDA}}}connector")
    if connector is not None:
        connector_id = connector.find(f"{{{CAMUNDA}}}connectorId")
        name = " ".join((connector_id.text or "").split()) if connector_id is not None else ""
        return [_problem(doc, connector, "connector", name or "?", owner=node)]
    if implementation:
        return [_problem(doc, node, "type", implementation)]
    return [_problem(doc, node, "none")]


def _extension_problems(doc: SourceDocument, node: Any) -> list[Problem]:
    """Listeners and input/output mappings inside a service task (the general checks leave service tasks to this one)."""
    problems = []
    codes = {"executionListener": "camunda_listener", "inputOutput": "camunda_io"}
    for child in node.iterfind(f"{{{BPMN}}}extensionElements/*"):
        if isinstance(child.tag, str) and child.tag.startswith(f"{{{CAMUNDA}}}") and local_name(child) in codes:
            problems.append(problem(doc.filename, child, node, codes[local_name(child)], element=node.get("id")))
    return problems


def _problem(doc: SourceDocument, node: Any, code: str, value: str = "", *, owner: Any = None) -> Problem:
    owner = node if owner is None else owner
    kind = local_name(owner)
    en_kind, zh_kind = _KINDS[kind]
    topic = _topic_hint(owner)
    en, zh = MESSAGES[code]
    english = en.format(kind=en_kind, value=value, topic=topic)
    chinese = zh.format(kind=zh_kind, value=value, topic=topic)
    line = node.sourceline or owner.sourceline or None
    return Problem(doc.filename, line, owner.get("id"), english, clean_name(owner), (("zh", chinese),))


def _topic_hint(node: Any) -> str:
    """Suggest a topic from the task's id (e.g. ``Activity_sync_erp`` → ``sync_erp``)."""
    element_id = str(node.get("id") or "my_topic")
    return element_id.removeprefix("Activity_").removeprefix("Task_").lower() or "my_topic"

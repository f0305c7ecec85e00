"""Facts about BPMN elements the engine needs beside SpiffWorkflow's spec: due dates, priorities, SLAs."""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.definitions.people import GroupNames, camunda, lanes_by_node, resolve_group, task_people
from engine.runtime import SourceDocument

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}


# A plain or manual task's property: the variables whose values the history records when the task passes (its
# task_passed event), e.g. an exception's type and responsible department for the dashboard (DOMAIN.md measures).
RECORD_FIELDS = "recordFields"


def record_fields(node: Any) -> list[str]:
    """Return the variable names of a task's ``recordFields`` property (comma-separated), in order."""
    value = _properties(node).get(RECORD_FIELDS, "")
    return [name.strip() for name in value.split(",") if name.strip()]


def _properties(node: Any) -> dict[str, str]:
    props = {}
    for prop in node.xpath("./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def element_info(doc: SourceDocument, process_id: str, groups: GroupNames | None = None) -> dict[str, dict[str, Any]]:
    """Return per-element facts of one process: who may work on each user task, its dates, priority, form and properties;
    SLA markers on timers. ``groups`` resolves lanes named by a group's display name (see engine.definitions.people)."""
    info: dict[str, dict[str, Any]] = {}
    processes = doc.tree.xpath("//bpmn:process[@id=$pid]", namespaces=NS, pid=process_id)
    if not processes:
        return info
    process = processes[0]
    lanes = lanes_by_node(process)
    for node in process.xpath(".//bpmn:userTask", namespaces=NS):
        entry: dict[str, Any] = {}
        if groups is not None:
            people = task_people(node, lanes, groups)
            entry.update({"groups": list(people.groups), "users": list(people.users), "assignee": people.assignee})
        for attribute, key in (("dueDate", "due"), ("followUpDate", "follow_up"), ("formKey", "form_key")):
            if camunda(node, attribute):
                entry[key] = camunda(node, attribute)
        if camunda(node, "priority"):
            try:
                entry["priority"] = int(camunda(node, "priority") or "")
            except ValueError:
                pass  # refused at deploy (engine.definitions.people)
        if _properties(node):
            entry["properties"] = _properties(node)
        if entry:
            info[node.get("id")] = entry
    for node in process.xpath(".//bpmn:task | .//bpmn:manualTask", namespaces=NS):
        # They pass straight through (engine.runtime.dialect); the history still shows each pass.
        info[node.get("id")] = {"pass_through": etree.QName(node).localname, "title": " ".join((node.get("name") or "").split())}
        if record_fields(node):
            info[node.get("id")]["record"] = record_fields(node)
    for node in process.xpath(".//bpmn:boundaryEvent[bpmn:timerEventDefinition]", namespaces=NS):
        props = _properties(node)
        if "sla" in props:
            attached = node.get("attachedToRef")
            lane = lanes.get(attached or "")
            lane_name = lane.get("name") or lane.get("id") if lane is not None else None
            group = props.get("group") or (resolve_group(lane_name, groups) if groups is not None else None) or lane_name
            info[node.get("id")] = {"sla": props["sla"] or attached, "attached_to": attached, "group": group}
    for node in process.xpath(".//bpmn:intermediateCatchEvent[bpmn:timerEventDefinition]", namespaces=NS):
        # A deadline that is not a task's: the timer itself says when it is missed (its lane is who missed it).
        props = _properties(node)
        if "sla" in props:
            lane = lanes.get(node.get("id") or "")
            lane_name = lane.get("name") or lane.get("id") if lane is not None else None
            group = props.get("group") or (resolve_group(lane_name, groups) if groups is not None else None) or lane_name
            info[node.get("id")] = {"sla": props["sla"] or node.get("id"), "attached_to": None, "group": group}
    return info


def start_timer_expression(doc: SourceDocument, process_id: str) -> str | None:
    """Return the timer expression of the process's top-level timer start event, if it has one."""
    nodes = doc.tree.xpath(
        "//bpmn:process[@id=$pid]/bpmn:startEvent/bpmn:timerEventDefinition/*", namespaces=NS, pid=process_id)
    for node in nodes:
        if node.text and node.text.strip():
            kind = {"timeCycle": "cycle", "timeDate": "date", "timeDuration": "duration"}.get(node.tag.split("}")[1])
            if kind:
                return f"{kind}:{node.text.strip()}"
    return None

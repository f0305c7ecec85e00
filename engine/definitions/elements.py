"""Facts about BPMN elements the engine needs beside SpiffWorkflow's spec: due dates, priorities, SLAs."""

from __future__ import annotations

from typing import Any

from engine.runtime import SourceDocument

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}


def _properties(node: Any) -> dict[str, str]:
    props = {}
    for prop in node.xpath("./bpmn:extensionElements/camunda:properties/camunda:property", namespaces=NS):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def element_info(doc: SourceDocument, process_id: str) -> dict[str, dict[str, Any]]:
    """Return per-element facts of one process: task priority/due expression, SLA markers on timers."""
    info: dict[str, dict[str, Any]] = {}
    processes = doc.tree.xpath("//bpmn:process[@id=$pid]", namespaces=NS, pid=process_id)
    if not processes:
        return info
    process = processes[0]
    lanes: dict[str, str] = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    for node in process.xpath(".//bpmn:userTask | .//bpmn:manualTask", namespaces=NS):
        entry: dict[str, Any] = {}
        if node.get(f"{{{CAMUNDA}}}dueDate"):
            entry["due"] = node.get(f"{{{CAMUNDA}}}dueDate")
        if node.get(f"{{{CAMUNDA}}}priority"):
            try:
                entry["priority"] = int(node.get(f"{{{CAMUNDA}}}priority"))
            except ValueError:
                pass
        if entry:
            info[node.get("id")] = entry
    for node in process.xpath(".//bpmn:boundaryEvent[bpmn:timerEventDefinition]", namespaces=NS):
        props = _properties(node)
        if "sla" in props:
            attached = node.get("attachedToRef")
            info[node.get("id")] = {"sla": props["sla"] or attached, "attached_to": attached,
                                    "group": props.get("group") or lanes.get(attached or "")}
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

"""A process's plain start event as people start it: the lane group that may start it and its start form.

Rule: members of the group named by the lane holding the process's (plain) start event may start
it; admins may start any. The start form is the start event's ``camunda:formKey``.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN}


def start_event_facts(xml: str, process_key: str) -> tuple[str | None, str | None, bool]:
    """Return (lane group, form key, has a plain start event) of a process's start event."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, encoding="utf-8")
    try:
        root = etree.fromstring(xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return None, None, False
    process = next((p for p in root.iterfind("bpmn:process", NS) if p.get("id") == process_key), None)
    if process is None:
        return None, None, False
    starts = list(process.iterfind("bpmn:startEvent", NS))
    plain = [s for s in starts if not any(str(c.tag).endswith("EventDefinition") for c in s if isinstance(c.tag, str))]
    if not plain:
        return None, None, False
    start = plain[0]
    return _lane_of(process, start.get("id")), start.get(f"{{{CAMUNDA}}}formKey") or None, True


def _lane_of(process: Any, element_id: str | None) -> str | None:
    """Return the name of the innermost lane listing ``element_id``."""
    best, depth = None, -1
    for lane in process.iter(f"{{{BPMN}}}lane"):
        refs = {(r.text or "").strip() for r in lane.iterfind("bpmn:flowNodeRef", NS)}
        if element_id in refs:
            level = sum(1 for _ in lane.iterancestors(f"{{{BPMN}}}lane"))
            if level > depth:
                best, depth = (lane.get("name") or lane.get("id")), level
    return best

"""What changed between two versions of a process: elements added, removed and changed, with the changed facts.

Elements are compared by id. Of each element the comparison reads what the engine acts on: its kind, name,
the Camunda attributes (candidate groups, assignee, form key, priority, due date, topic …), the Camunda
properties (SLA …), gateway conditions, scripts, timers, and where a sequence flow leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.definitions.support import BPMN, CAMUNDA
from engine.errors import InvalidInput, NotFound
from engine.persistence import ProcessDefinition

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_SKIPPED = {"incoming", "outgoing", "extensionElements", "documentation", "conditionExpression", "script",
            "timerEventDefinition", "laneSet", "flowNodeRef", "property", "dataInputAssociation",
            "dataOutputAssociation", "multiInstanceLoopCharacteristics", "ioSpecification"}
_TIMERS = ("timeDate", "timeDuration", "timeCycle")


@dataclass(frozen=True)
class ElementChange:
    """One element that differs: its id, kind, name (in the newer version if it has one) and the facts that changed."""

    element_id: str
    kind: str
    name: str
    fields: tuple[str, ...] = ()
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"id": self.element_id, "kind": self.kind, "name": self.name, "fields": list(self.fields),
                "before": self.before, "after": self.after}


@dataclass(frozen=True)
class VersionDiff:
    """Elements only in the newer version, only in the older one, and in both but different."""

    added: list[ElementChange]
    removed: list[ElementChange]
    changed: list[ElementChange]

    @property
    def empty(self) -> bool:
        """Return True when the two versions run the same elements the same way."""
        return not (self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"added": [c.to_json() for c in self.added], "removed": [c.to_json() for c in self.removed],
                "changed": [c.to_json() for c in self.changed]}


def _text(node: Any) -> str:
    return " ".join((node.text or "").split()) if node is not None else ""


def _facts(node: Any) -> dict[str, str]:
    """Return what the engine reads of one element, as field → text."""
    facts = {"name": " ".join((node.get("name") or "").split())}
    for attribute, value in node.attrib.items():
        qname = etree.QName(attribute)
        if qname.namespace == CAMUNDA:
            facts[qname.localname] = value.strip()
        elif qname.namespace is None and attribute not in ("id", "name"):
            facts[attribute] = value.strip()
    for prop in node.iterfind(f"{{{BPMN}}}extensionElements/{{{CAMUNDA}}}properties/{{{CAMUNDA}}}property"):
        if prop.get("name"):
            facts[f"property:{prop.get('name')}"] = (prop.get("value") or "").strip()
    members = sorted(_text(ref) for ref in node.iterfind(f"{{{BPMN}}}flowNodeRef"))
    if members:
        facts["members"] = ", ".join(members)
    condition = node.find(f"{{{BPMN}}}conditionExpression")
    if condition is not None:
        facts["condition"] = _text(condition)
    script = node.find(f"{{{BPMN}}}script")
    if script is not None:
        facts["script"] = (script.text or "").strip()
    for timer in node.iterfind(f"{{{BPMN}}}timerEventDefinition"):
        for kind in _TIMERS:
            value = timer.find(f"{{{BPMN}}}{kind}")
            if value is not None:
                facts[f"timer:{kind}"] = _text(value)
    kinds = [etree.QName(c).localname for c in node if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN]
    facts["event"] = ", ".join(k for k in kinds if k.endswith("EventDefinition"))
    return {k: v for k, v in facts.items() if v != ""}


def _elements(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Return every flow element and sequence flow of the file's processes by id: (kind, facts)."""
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(f"not well-formed XML: {exc}") from exc
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for process in root.iterfind(f"{{{BPMN}}}process"):
        for node in process.iter(etree.Element):
            qname = etree.QName(node)
            if node is process or qname.namespace != BPMN or qname.localname in _SKIPPED or not node.get("id"):
                continue
            found[str(node.get("id"))] = (qname.localname, _facts(node))
    return found


def diff_sources(old: str, new: str) -> VersionDiff:
    """Compare two BPMN texts element by element."""
    before, after = _elements(old), _elements(new)
    added = [ElementChange(i, after[i][0], after[i][1].get("name", ""), after=after[i][1]) for i in after if i not in before]
    removed = [ElementChange(i, before[i][0], before[i][1].get("name", ""), before=before[i][1])
               for i in before if i not in after]
    changed = []
    for element_id, (kind, facts) in after.items():
        if element_id not in before:
            continue
        old_kind, old_facts = before[element_id]
        fields = sorted(k for k in set(facts) | set(old_facts) if facts.get(k) != old_facts.get(k))
        if old_kind != kind:
            fields.insert(0, "kind")
        if fields:
            changed.append(ElementChange(element_id, kind, facts.get("name") or old_facts.get("name", ""), tuple(fields),
                                         {k: old_facts.get(k, "") for k in fields if k != "kind"},
                                         {k: facts.get(k, "") for k in fields if k != "kind"}))
    return VersionDiff(added, removed, changed)


def version_source(session: Session, process_key: str, version: int) -> str:
    """Return the BPMN text of one deployed version of a process."""
    source = session.scalar(select(ProcessDefinition.source)
                            .where(ProcessDefinition.process_key == process_key, ProcessDefinition.version == version))
    if source is None:
        raise NotFound(f"process {process_key!r} has no version {version}")
    return source


def diff_versions(session: Session, process_key: str, old_version: int, new_version: int) -> VersionDiff:
    """Compare two deployed versions of a process."""
    return diff_sources(version_source(session, process_key, old_version), version_source(session, process_key, new_version))

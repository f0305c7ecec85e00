"""The path one instance took through its diagram: every element it passed and every sequence flow it took.

The workflow document says what ran in its task tree (tasks, automated steps, gateways, events) and from which
element to which the token moved: those steps are the flows taken. A long loop's history is pruned from that tree
(engine.runtime.pruning), so the audit trail fills in what the tree no longer holds: human tasks completed,
pass-through steps and timers fired, and a flow from such an element counts as taken when its target was reached
after its source finished. When the trail shows an element ran more often than the tree remembers (a pruned loop),
the automated steps and gateways between passed elements are inferred as passed too, and so are the flows between
them. This loads one workflow: use it for one instance's page, never for lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import ProcessDefinition
from engine.runtime.trail import Trail, walk_trail
from engine.services.audit import HistoryEntry, instance_history
from engine.services.loading import load_instance

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Audit events that say an element of the instance finished (once per event).
_PASS_EVENTS = {"task_completed", "task_passed", "timer_fired", "message_correlated", "external_task_completed"}
# What only the tree remembers (nobody audits them), so a pruned loop may leave them out.
_INFERRED = {"scriptTask", "serviceTask", "businessRuleTask", "sendTask", "task", "manualTask", "exclusiveGateway",
             "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway", "intermediateThrowEvent",
             "intermediateCatchEvent", "endEvent"}


@dataclass(frozen=True)
class InstancePath:
    """Element ids an instance passed, flow ids it took, and the catch events it now waits at."""

    passed: frozenset[str]
    flows: frozenset[str]
    waiting: frozenset[str]


@dataclass(frozen=True)
class _Flow:
    id: str
    source: str
    target: str


def _model(source: str) -> tuple[list[_Flow], dict[str, str]]:
    """Return a BPMN file's sequence flows and its elements' kinds (never resolving entities or fetching)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        root = etree.fromstring(source.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return [], {}
    kinds = {str(e.get("id")): str(etree.QName(e).localname) for e in root.iter()
             if isinstance(e.tag, str) and e.get("id")}
    flows = [_Flow(str(f.get("id")), str(f.get("sourceRef")), str(f.get("targetRef")))
             for f in root.iter(f"{{{BPMN}}}sequenceFlow") if f.get("id")]
    return flows, kinds


def _seen(history: list[HistoryEntry], kinds: dict[str, str], types: set[str]) -> dict[str, list[datetime]]:
    """Return when the audit trail saw each element of the file in an event of ``types``."""
    seen: dict[str, list[datetime]] = {}
    for entry in history:
        element = entry.data.get("element_id") if entry.type in types else None
        if isinstance(element, str) and element in kinds:
            seen.setdefault(element, []).append(entry.at)
    return seen


def _infer_pruned(flows: list[_Flow], kinds: dict[str, str], passed: set[str], reached: set[str],
                  taken: set[str]) -> None:
    """Add the automated elements and flows between passed elements that a pruned loop cut out of the tree."""
    changed = True
    while changed:
        changed = False
        for node, kind in kinds.items():
            if node in passed or kind not in _INFERRED:
                continue
            entered = any(f.target == node and f.source in passed for f in flows)
            left = any(f.source == node and (f.target in passed or f.target in reached) for f in flows)
            if entered and left:
                passed.add(node)
                changed = True
    taken.update(f.id for f in flows if f.source in passed and (f.target in passed or f.target in reached))


def _pruned(trail: Trail, finished_at: dict[str, list[datetime]]) -> bool:
    """Return True if the audit trail saw an element finish more often than the workflow's tree still shows."""
    return any(len(times) > trail.finished_count.get(element, 0) for element, times in finished_at.items())


def instance_path(session: Session, instance_id: int, history: list[HistoryEntry] | None = None) -> InstancePath:
    """Return the elements ``instance_id`` passed and the flows it took (loads its workflow once, read-only)."""
    instance, _info, run = load_instance(session, instance_id, for_update=False)
    source = session.scalar(select(ProcessDefinition.source).where(ProcessDefinition.id == instance.definition_id))
    flows, kinds = _model(source or "")
    trail = walk_trail(run.workflow)
    history = instance_history(session, instance_id) if history is None else history
    finished_at = _seen(history, kinds, _PASS_EVENTS)
    reached_at = _seen(history, kinds, _PASS_EVENTS | {"task_created"})
    passed = {e for e in trail.finished if e in kinds} | set(finished_at)
    taken: set[str] = set()
    for flow in flows:
        if (flow.source, flow.target) in trail.steps:
            taken.add(flow.id)
        elif flow.source in finished_at:
            # Only the audit trail remembers this step: its target must have been reached after its source finished.
            first_done = min(finished_at[flow.source])
            if any(at >= first_done for at in reached_at.get(flow.target, [])):
                taken.add(flow.id)
    if _pruned(trail, finished_at):
        _infer_pruned(flows, kinds, passed, set(trail.reached), taken)
    return InstancePath(frozenset(passed), frozenset(taken), trail.waiting_events)

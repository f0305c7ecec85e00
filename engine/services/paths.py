"""The path one instance took through its diagram: every element it passed and every sequence flow it took.

The workflow document says what ran in the current tree (tasks, automated steps, gateways, events, and from which
element to which the token moved). The audit trail adds what a long loop's history pruning cut out of that tree:
the human tasks completed, pass-through steps and timers fired. A flow counts as taken when the token moved from its
source to its target (the document's steps), or, for steps the document no longer holds, when its source was passed
and its target was reached after it. This loads one workflow: use it for one instance's page, never for lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import ProcessDefinition
from engine.runtime.trail import walk_trail
from engine.services.audit import HistoryEntry, instance_history
from engine.services.loading import load_instance

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Audit events that say an element of the instance's own file finished.
_PASS_EVENTS = {"task_completed", "task_passed", "timer_fired", "message_correlated", "external_task_completed"}


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


def _flows(source: str) -> tuple[list[_Flow], set[str]]:
    """Return the sequence flows and the flow-node ids of a BPMN file (never resolving entities or fetching)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
    try:
        root = etree.fromstring(source.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return [], set()
    flows = [_Flow(str(f.get("id")), str(f.get("sourceRef")), str(f.get("targetRef")))
             for f in root.iter(f"{{{BPMN}}}sequenceFlow") if f.get("id")]
    ends = {f.source for f in flows} | {f.target for f in flows}
    return flows, ends


def _times(history: list[HistoryEntry], nodes: set[str]) -> dict[str, list[datetime]]:
    """Return when the audit trail saw each element of the file finish."""
    seen: dict[str, list[datetime]] = {}
    for entry in history:
        element = entry.data.get("element_id") if entry.type in _PASS_EVENTS else None
        if isinstance(element, str) and element in nodes:
            seen.setdefault(element, []).append(entry.at)
    return seen


def _reached_after(history: list[HistoryEntry], nodes: set[str]) -> dict[str, list[datetime]]:
    """Return when the audit trail saw each element reached (a task created, or finished)."""
    seen = _times(history, nodes)
    for entry in history:
        element = entry.data.get("element_id") if entry.type == "task_created" else None
        if isinstance(element, str) and element in nodes:
            seen.setdefault(element, []).append(entry.at)
    return seen


def instance_path(session: Session, instance_id: int, history: list[HistoryEntry] | None = None) -> InstancePath:
    """Return the elements ``instance_id`` passed and the flows it took (loads its workflow once, read-only)."""
    instance, _info, run = load_instance(session, instance_id, for_update=False)
    source = session.scalar(select(ProcessDefinition.source).where(ProcessDefinition.id == instance.definition_id))
    flows, nodes = _flows(source or "")
    trail = walk_trail(run.workflow)
    history = instance_history(session, instance_id) if history is None else history
    finished_at = _times(history, nodes)
    passed = set(trail.finished) | set(finished_at)
    reached_at = _reached_after(history, nodes)
    taken: set[str] = set()
    for flow in flows:
        if (flow.source, flow.target) in trail.steps:
            taken.add(flow.id)
        elif flow.source in finished_at:
            # Only the audit trail remembers this step: its target must have been reached after its source finished.
            first_done = min(finished_at[flow.source])
            if any(at >= first_done for at in reached_at.get(flow.target, [])):
                taken.add(flow.id)
    return InstancePath(frozenset(passed), frozenset(taken), trail.waiting_events)

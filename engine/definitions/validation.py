"""Validation of BPMN/DMN documents before deploy (XSD, references, conditions, lanes, form keys).

Every problem is reported, not just the first. A problem names the file, the line of the XML
node at fault (the ``conditionExpression``, ``script`` or ``timeDate`` node itself when the
text is what is wrong) and the id of the BPMN/DMN element that owns it.

Lane and form-key rules (only when ``known_groups`` / ``form_keys`` are given):

- a user or manual task in a lane must be in a lane whose ``name`` is a known group id; in a
  process that has lanes, a task in no lane is a problem; processes without lanes are not
  checked (small test and example processes);
- a user task's ``camunda:formKey`` must name a form; a user task without a form key is a
  problem only in a process that has lanes (the shipped processes, which people work in).

A task inside a sub-process takes the lane of its outermost enclosing element that is in a
lane, as SpiffWorkflow does when it assigns lanes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from engine.definitions.xsd import owner_id, xsd_problems
from engine.errors import Problem
from engine.runtime import SourceDocument
from engine.runtime.sandbox import SandboxViolation, compile_expression, compile_script
from engine.runtime.timers import check_iso, is_bare_iso

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
TIMER_ZONE = ZoneInfo("Asia/Shanghai")
TIMER_KINDS = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}
HUMAN_TASKS = {f"{{{BPMN}}}userTask": "user task", f"{{{BPMN}}}manualTask": "manual task"}
# A DMN input entry may use "?" for the input value; SpiffWorkflow substitutes it outside quotes.
_DMN_PLACEHOLDER = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def validate_documents(
    documents: list[SourceDocument], *, known_groups: set[str] | None = None, form_keys: set[str] | None = None,
) -> list[Problem]:
    """Return every problem found in the documents (empty when they are deployable)."""
    messages = {m.get("id") for doc in documents if doc.kind == "bpmn" for m in doc.tree.iter(f"{{{BPMN}}}message")}
    problems: list[Problem] = []
    for doc in documents:
        if doc.kind == "bpmn":
            found = xsd_problems(doc) + _bpmn_problems(doc, messages, known_groups, form_keys)
        elif doc.kind == "dmn":
            found = _dmn_problems(doc)
        else:
            found = [Problem(doc.filename, None, None, f"unknown document kind {doc.kind!r}")]
        problems.extend(sorted(_unique(found), key=lambda p: p.line or 0))
    return problems


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    """Drop exact repeats (the XSD and a reference check may word a missing attribute alike)."""
    return list(dict.fromkeys(problems))


def _bpmn_problems(
    doc: SourceDocument, messages: set[str | None], known_groups: set[str] | None, form_keys: set[str] | None,
) -> list[Problem]:
    problems = _sequence_flow_problems(doc) + _script_problems(doc) + _timer_problems(doc)
    problems += _message_and_call_problems(doc, messages)
    for process in doc.tree.iter(f"{{{BPMN}}}process"):
        lanes = _lanes_by_node(process)
        for task in process.iter(*HUMAN_TASKS):
            if known_groups is not None:
                problems += _lane_problems(doc, task, lanes, known_groups)
            if form_keys is not None and task.tag == f"{{{BPMN}}}userTask":
                problems += _form_key_problems(doc, task, bool(lanes), form_keys)
    return problems


def _problem(doc: SourceDocument, node: Any, element_id: str | None, message: str) -> Problem:
    line = node.sourceline if node is not None else None
    return Problem(doc.filename, line, element_id, message)


def _kind(node: Any) -> str:
    return str(etree.QName(node).localname)


def _text(node: Any) -> str:
    return (node.text or "").strip() if node is not None else ""


def _sequence_flow_problems(doc: SourceDocument) -> list[Problem]:
    problems = []
    for flow in doc.tree.iter(f"{{{BPMN}}}sequenceFlow"):
        flow_id = flow.get("id") or "(no id)"
        container = flow.getparent()
        siblings = {child.get("id") for child in container if isinstance(child.tag, str)} - {None}
        where = f"{_kind(container)} {container.get('id') or '(no id)'}"
        for attribute in ("sourceRef", "targetRef"):
            ref = flow.get(attribute)
            if ref is None:
                message = f"bpmn:sequenceFlow is missing the required attribute '{attribute}'"
                problems.append(_problem(doc, flow, flow.get("id"), message))
            elif ref not in siblings:
                problems.append(_problem(doc, flow, flow.get("id"),
                                         f"sequence flow {flow_id} has {attribute} '{ref}', which names no element in {where}"))
        condition = flow.find(f"{{{BPMN}}}conditionExpression")
        if _text(condition):
            error = _expression_error(_text(condition))
            if error:
                problems.append(_problem(doc, condition, flow.get("id"),
                                         f"condition of sequence flow {flow_id} does not compile: {error}"))
    return problems


def _expression_error(text: str) -> str | None:
    try:
        compile_expression(text)
    except SandboxViolation as exc:
        return str(exc)
    return None


def _script_problems(doc: SourceDocument) -> list[Problem]:
    problems = []
    for task in doc.tree.iter(f"{{{BPMN}}}scriptTask"):
        task_id = task.get("id") or "(no id)"
        script = task.find(f"{{{BPMN}}}script")
        if script is None or not _text(script):
            problems.append(_problem(doc, task, task.get("id"), f"script task {task_id} has no script"))
            continue
        try:
            compile_script(script.text)
        except SandboxViolation as exc:
            problems.append(_problem(doc, script, task.get("id"), f"script of script task {task_id} does not compile: {exc}"))
    return problems


def _timer_problems(doc: SourceDocument) -> list[Problem]:
    problems = []
    for definition in doc.tree.iter(f"{{{BPMN}}}timerEventDefinition"):
        event = definition.getparent()
        event_id = owner_id(event)
        label = f"timer of {_kind(event)} {event_id or '(no id)'}"
        values = [child for child in definition if isinstance(child.tag, str) and _kind(child) in TIMER_KINDS]
        if not values:
            problems.append(_problem(doc, definition, event_id, f"{label} has no timeDate, timeDuration or timeCycle"))
        for node in values:
            name, text = _kind(node), _text(node)
            message = _timer_value_error(name, text)
            if message:
                problems.append(_problem(doc, node, event_id, f"{label}: {message}"))
    return problems


def _timer_value_error(name: str, text: str) -> str | None:
    if not text:
        return f"{name} is empty"
    if is_bare_iso(text):
        kind = TIMER_KINDS[name]
        try:
            check_iso(kind, text, TIMER_ZONE)
        except Exception as exc:  # SpiffWorkflow raises a bare Exception for a bad duration
            return f"{name} '{text}' is not a valid ISO 8601 {kind}: {exc}"
        return None
    error = _expression_error(text)
    return f"{name} expression '{text}' does not compile: {error}" if error else None


def _message_and_call_problems(doc: SourceDocument, messages: set[str | None]) -> list[Problem]:
    problems = []
    referrers = (f"{{{BPMN}}}messageEventDefinition", f"{{{BPMN}}}receiveTask", f"{{{BPMN}}}sendTask")
    for node in doc.tree.iter(*referrers):
        ref = node.get("messageRef")
        # A QName reference may carry a prefix ("tns:Message_1"); ids never contain a colon.
        if ref is not None and ref not in messages and ref.rpartition(":")[2] not in messages:
            owner = node.getparent() if _kind(node) == "messageEventDefinition" else node
            owner_ref = owner_id(owner)
            problems.append(_problem(doc, node, owner_ref,
                                     f"{_kind(owner)} {owner_ref} refers to message '{ref}', which names no bpmn:message"))
    for call in doc.tree.iter(f"{{{BPMN}}}callActivity"):
        if not (call.get("calledElement") or "").strip():
            problems.append(_problem(doc, call, call.get("id"), f"call activity {call.get('id')} has no calledElement"))
    return problems


def _lanes_by_node(process: Any) -> dict[str, Any]:
    """Map flow node ids to their innermost lane (child lanes follow their parent's refs)."""
    lanes: dict[str, Any] = {}
    for ref in process.iter(f"{{{BPMN}}}flowNodeRef"):
        lanes[_text(ref)] = ref.getparent()
    return lanes


def _lane_of(task: Any, lanes: dict[str, Any]) -> Any:
    """Return the lane SpiffWorkflow gives the task: that of its outermost ancestor in a lane."""
    chain = [task]
    parent = task.getparent()
    while parent is not None and parent.tag != f"{{{BPMN}}}process":
        chain.append(parent)
        parent = parent.getparent()
    for node in reversed(chain):
        if node.get("id") in lanes:
            return lanes[node.get("id")]
    return None


def _lane_problems(doc: SourceDocument, task: Any, lanes: dict[str, Any], known_groups: set[str]) -> list[Problem]:
    if not lanes:
        return []
    task_id, kind = task.get("id"), HUMAN_TASKS[task.tag]
    groups = ", ".join(sorted(known_groups)) or "(none)"
    lane = _lane_of(task, lanes)
    if lane is None:
        return [_problem(doc, task, task_id, f"{kind} {task_id} is in no lane, but its process has lanes; "
                                             f"put it in a lane named after a group ({groups})")]
    name = lane.get("name")
    if name in known_groups:
        return []
    shown = f"'{name}'" if name is not None else f"{lane.get('id')} (no name)"
    return [_problem(doc, task, task_id, f"{kind} {task_id} is in lane {shown}, which names no group; known groups: {groups}")]


def _form_key_problems(doc: SourceDocument, task: Any, has_lanes: bool, form_keys: set[str]) -> list[Problem]:
    task_id, key = task.get("id"), task.get(f"{{{CAMUNDA}}}formKey")
    if key is None or not key.strip():
        # A task without a form is allowed (it is completed with a plain button); a form key
        # in another vendor's namespace is almost surely a mistake the designer wants to hear about.
        foreign = [name for name in task.attrib if etree.QName(name).localname == "formKey"]
        if not foreign:
            return []
        message = f"user task {task_id} has {foreign[0]}, but the engine reads formKey in namespace {CAMUNDA}"
        return [_problem(doc, task, task_id, message)]
    if key in form_keys:
        return []
    return [_problem(doc, task, task_id, f"form key '{key}' names no form in forms/")]


def _dmn_problems(doc: SourceDocument) -> list[Problem]:
    namespace = etree.QName(doc.tree).namespace
    problems = []
    for decision in doc.tree.iter(f"{{{namespace}}}decision"):
        decision_id = decision.get("id")
        if not decision_id:
            problems.append(_problem(doc, decision, None, f"decision '{decision.get('name') or ''}' has no id"))
        for table in decision.iter(f"{{{namespace}}}decisionTable"):
            if not table.get("id"):
                problems.append(_problem(doc, table, decision_id, f"decision table of decision {decision_id} has no id"))
            problems += _decision_table_problems(doc, table, namespace)
    return problems


def _decision_table_problems(doc: SourceDocument, table: Any, namespace: str) -> list[Problem]:
    """Check input expressions and rule entries; "-" and empty entries mean "any" and are skipped."""
    problems = []
    for node in table.iter(f"{{{namespace}}}text"):
        parent, text = etree.QName(node.getparent()).localname, _text(node)
        if parent not in ("inputExpression", "inputEntry", "outputEntry") or text in ("", "-"):
            continue
        error = _input_entry_error(text) if parent == "inputEntry" else _expression_error(text)
        if error:
            owner = owner_id(node)
            what = {"inputExpression": "input expression", "inputEntry": "input entry", "outputEntry": "output entry"}[parent]
            problems.append(_problem(doc, node, owner, f"{what} {owner} '{text}' does not compile: {error}"))
    return problems


def _input_entry_error(text: str) -> str | None:
    """Check a rule's input entry as SpiffWorkflow reads it: a value, or an operator applied to the input."""
    text = _DMN_PLACEHOLDER.sub("dmninputexpr", text)
    error = _expression_error(text)
    if error is None or "dmninputexpr" in text:
        return error
    # "> 5" or "in ('a', 'b')" are completed with the input expression on the left.
    return None if _expression_error(f"dmninputexpr {text}") is None else error

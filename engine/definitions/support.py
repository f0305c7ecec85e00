"""What the engine runs: executable processes only, Python expressions only, no element that would wait forever.

Files from other tools carry Java/JUEL (``${…}``, ``#{…}``) and FEEL (``=…``) expressions and
elements this engine has no way to trigger (signals, conditions, compensation…). Each is refused
at deploy with a message naming it, never accepted to fail later or to wait in silence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from engine.definitions.messages import local_name, problem
from engine.errors import Problem
from engine.runtime import SourceDocument
from engine.runtime.sandbox import SandboxViolation, compile_expression

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
# Flow elements and event definitions SpiffWorkflow could parse but nothing here would ever drive.
UNSUPPORTED_ELEMENTS = {"complexGateway", "adHocSubProcess", "dataStoreReference"}
UNSUPPORTED_EVENTS = {"signalEventDefinition", "conditionalEventDefinition", "compensateEventDefinition"}
# Expression-bearing texts, where a leading "=" is FEEL (Zeebe) and "${…}" is JUEL.
EXPRESSION_TEXTS = {"conditionExpression", "timeDate", "timeDuration", "timeCycle", "completionCondition",
                    "loopCardinality", "condition"}
EXPRESSION_ATTRIBUTES = {"dueDate", "followUpDate", "priority", "assignee", "candidateGroups", "candidateUsers",
                         "resultVariable", "collection", "elementVariable", "calledElement", "decisionRef"}
PASS_THROUGH = {"task", "manualTask"}
# SpiffWorkflow splits only at gateways and start events; BPMN's implicit split after anything else is refused.
_SINGLE_EXIT = {"task", "manualTask", "userTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                "businessRuleTask", "callActivity", "subProcess", "transaction", "intermediateCatchEvent",
                "intermediateThrowEvent", "boundaryEvent"}
# Camunda 7 extensions this engine would otherwise ignore in silence: message id per element.
_CAMUNDA_UNSUPPORTED = {f"{{{CAMUNDA}}}{tag}": code for tag, code in (
    ("executionListener", "camunda_listener"), ("taskListener", "camunda_listener"), ("inputOutput", "camunda_io"),
    ("formData", "camunda_form_data"), ("in", "camunda_call_mapping"), ("out", "camunda_call_mapping"))}
_JUEL = re.compile(r"[$#]\{")
_JAVA_CALL = re.compile(r"\)\s*\.\s*\w+\(|\b[a-z]+[A-Z]\w*\(")
_DATE_HINT = "add_working_days(today(), 2) or now() + timedelta(days=2)"
_JUEL_WORDS = ((r"&&", " and "), (r"\|\|", " or "), (r"!(?!=)", " not "), (r"\bnull\b", "None"), (r"\btrue\b", "True"),
               (r"\bfalse\b", "False"), (r"\beq\b", "=="), (r"\bne\b", "!="), (r"\bempty\s+", "not "))


def is_executable(process: Any) -> bool:
    """Return True unless the process says ``isExecutable="false"`` (absent counts as executable, as in SpiffWorkflow)."""
    return str(process.get("isExecutable", "true")).strip().lower() != "false"


def executable_processes(doc: SourceDocument) -> list[Any]:
    """Return the document's executable ``bpmn:process`` elements."""
    return [p for p in doc.tree.iter(f"{{{BPMN}}}process") if is_executable(p)]


def decision_ids(doc: SourceDocument) -> set[str]:
    """Return the ids of a DMN file's decisions (none for a BPMN file)."""
    if doc.kind != "dmn":
        return set()
    return {str(d.get("id")) for d in doc.tree.iter(f"{{{etree.QName(doc.tree).namespace}}}decision") if d.get("id")}


def decision_refs(doc: SourceDocument) -> set[str]:
    """Return the decision ids a BPMN file's business rule tasks use."""
    if doc.kind != "bpmn":
        return set()
    refs = {(t.get(f"{{{CAMUNDA}}}decisionRef") or "").strip() for t in doc.tree.iter(f"{{{BPMN}}}businessRuleTask")}
    return refs - {""}


def documentation_only(doc: SourceDocument) -> bool:
    """Return True for a BPMN file whose processes are all ``isExecutable="false"`` (a drawing, not a program)."""
    processes = list(doc.tree.iter(f"{{{BPMN}}}process"))
    return doc.kind == "bpmn" and bool(processes) and not any(is_executable(p) for p in processes)


def foreign_expression(text: str | None) -> str | None:
    """Return "juel" or "feel" when the text is another engine's expression language, else None."""
    if not text:
        return None
    stripped = text.strip()
    if _JUEL.search(stripped):
        return "juel"
    if stripped.startswith("="):
        return "feel"
    return None


def python_suggestion(text: str) -> str | None:
    """Guess the Python form of a simple JUEL/FEEL expression (``${amount > 1000}`` → ``amount > 1000``), if it compiles."""
    stripped = text.strip()
    match = re.fullmatch(r"[$#]\{(.*)\}", stripped, re.DOTALL)
    inner = match.group(1) if match else stripped.removeprefix("=")
    for pattern, words in _JUEL_WORDS:
        inner = re.sub(pattern, words, inner)
    inner = " ".join(inner.split())
    if not inner or _JAVA_CALL.search(inner):
        return None  # a Java method chain has no word-for-word Python form
    try:
        compile_expression(inner)
    except SandboxViolation:
        return None
    return inner


def expression_problems(doc: SourceDocument, process: Any) -> list[Problem]:
    """Refuse JUEL/FEEL in any attribute or expression of an executable process, suggesting the Python form."""
    problems = []
    for node in _elements(process):
        if _owned_elsewhere(node):
            continue
        for attribute, value in node.attrib.items():
            local = etree.QName(attribute).localname
            if local in ("id", "name") or etree.QName(attribute).namespace in (None, BPMN) and local not in EXPRESSION_ATTRIBUTES:
                continue
            kind = foreign_expression(value)
            if kind == "feel" and local not in EXPRESSION_ATTRIBUTES and etree.QName(attribute).namespace != ZEEBE:
                kind = None  # a value that merely starts with "=" is not an expression here
            if kind:
                prefix = "camunda:" if etree.QName(attribute).namespace == CAMUNDA else ""
                problems.append(_foreign(doc, node, f"{prefix}{local}", value, kind))
        if local_name(node) in EXPRESSION_TEXTS or etree.QName(node).namespace == CAMUNDA and local_name(node) in (
                "inputParameter", "outputParameter"):
            kind = foreign_expression(node.text)
            if kind:
                problems.append(_foreign(doc, node, local_name(node), node.text or "", kind))
    return problems


def _foreign(doc: SourceDocument, node: Any, attribute: str, text: str, kind: str) -> Problem:
    owner = node
    while owner is not None and (not owner.get("id") or local_name(owner) in EXPRESSION_TEXTS):
        owner = owner.getparent()
    python = python_suggestion(text)
    if python is None and attribute.endswith(("dueDate", "followUpDate")):
        python = _DATE_HINT
    suggestion, suggestion_zh = (f", e.g. {python}", f"，例如 {python}") if python else ("", "")
    shown = " ".join(text.split())
    return problem(doc.filename, node, owner, kind, attribute=attribute, element=owner.get("id") if owner is not None else "",
                   text=shown[:80], suggestion=suggestion, suggestion_zh=suggestion_zh)


def _association_problems(doc: SourceDocument, process: Any, node: Any) -> list[Problem]:
    """A data association must name a data object reference whose data object exists (as SpiffWorkflow resolves it)."""
    end = "sourceRef" if local_name(node) == "dataInputAssociation" else "targetRef"
    ref_node = node.find(f"{{{BPMN}}}{end}")
    ref = (ref_node.text or "").strip() if ref_node is not None else ""
    references = {r.get("id"): r for r in process.iter(f"{{{BPMN}}}dataObjectReference")}
    objects = {o.get("id") for o in process.iter(f"{{{BPMN}}}dataObject")}
    target = references.get(ref)
    if target is not None and target.get("dataObjectRef") in objects:
        return []
    owner = node.getparent()
    return [problem(doc.filename, ref_node if ref_node is not None else node, owner, "data_association",
                    element=owner.get("id"), ref=ref or "(none)")]


def _owned_elsewhere(node: Any) -> bool:
    """Service tasks (their Java attributes, connectors, listeners) are checked by the external-task rules."""
    for ancestor in (node, *node.iterancestors()):
        if ancestor.tag == f"{{{BPMN}}}serviceTask" or ancestor.tag == f"{{{CAMUNDA}}}connector":
            return True
        if ancestor.tag in _CAMUNDA_UNSUPPORTED and ancestor is not node:
            return True  # reported once, as the whole extension
    return False


def unsupported_problems(doc: SourceDocument, process: Any) -> list[Problem]:
    """Name elements the engine cannot run, Camunda extensions it would otherwise ignore, and endless waits."""
    problems = []
    pass_through = {n.get("id") for n in process.iter(*(f"{{{BPMN}}}{k}" for k in PASS_THROUGH))}
    for node in _elements(process):
        local = local_name(node)
        if node.tag in _CAMUNDA_UNSUPPORTED and not _owned_elsewhere(node.getparent()):
            owner = node
            while owner is not None and not owner.get("id"):
                owner = owner.getparent()
            problems.append(problem(doc.filename, node, owner, _CAMUNDA_UNSUPPORTED[node.tag],
                                    element=owner.get("id") if owner is not None else ""))
            continue
        if etree.QName(node).namespace != BPMN:
            continue
        if local in UNSUPPORTED_ELEMENTS:
            problems.append(problem(doc.filename, node, node, "unsupported_element", kind=local))
        elif local in UNSUPPORTED_EVENTS and local_name(node.getparent()) != "intermediateThrowEvent":
            event = node.getparent()
            problems.append(problem(doc.filename, node, event, "unsupported_event", kind=local_name(event),
                                    element=event.get("id"), definition=local))
        elif local == "receiveTask" and not (node.get("messageRef") or "").strip():
            problems.append(problem(doc.filename, node, node, "receive_no_message", element=node.get("id")))
        elif local == "intermediateCatchEvent" and not any(
                isinstance(c.tag, str) and c.tag.endswith("EventDefinition") for c in node):
            problems.append(problem(doc.filename, node, node, "catch_no_definition", element=node.get("id")))
        elif local in _SINGLE_EXIT and len(node.findall(f"{{{BPMN}}}outgoing")) > 1:
            problems.append(problem(doc.filename, node, node, "multiple_outgoing", element=node.get("id"), kind=local,
                                    count=len(node.findall(f"{{{BPMN}}}outgoing"))))
        elif local in ("dataInputAssociation", "dataOutputAssociation"):
            problems += _association_problems(doc, process, node)
        elif local == "boundaryEvent" and node.get("attachedToRef") in pass_through:
            problems.append(problem(doc.filename, node, node, "pass_through_boundary", element=node.get("id"),
                                    task=node.get("attachedToRef")))
    return problems


def _elements(process: Any) -> Iterator[Any]:
    yield from process.iter(etree.Element)

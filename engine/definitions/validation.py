"""Validation of BPMN/DMN documents before deploy (XSD, references, conditions, who may act, form keys).

Every problem is reported, not just the first. A problem names the file, the line of the XML
node at fault (the ``conditionExpression``, ``script`` or ``timeDate`` node itself when the
text is what is wrong), the id and name of the BPMN/DMN element that owns it, and says what to
do, in English and Chinese (engine.definitions.messages).

The XSD and sequence-flow references are checked in every process; execution rules (expressions,
scripts, timers, messages, who may act, forms, unsupported elements) only in executable ones: a
file whose processes are all ``isExecutable="false"`` is documentation (see ``documentation_only``).

Who may act (only when ``known_groups`` is given) follows engine.definitions.people: candidate
groups/users, an assignee, or a lane naming a group by id or display name; a user task naming nobody
is refused. Form keys (only when ``form_keys`` is given) must name a form in forms/.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from engine.definitions.messages import problem, readable_error
from engine.definitions.people import attribute_problems, form_key_problems, message_form_problems, people_problems
from engine.definitions.service_tasks import service_task_problems
from engine.definitions.support import (
    documentation_only,
    executable_processes,
    expression_problems,
    foreign_expression,
    unsupported_problems,
)
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
# A DMN input entry may use "?" for the input value; SpiffWorkflow substitutes it outside quotes.
_DMN_PLACEHOLDER = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def validate_documents(
    documents: list[SourceDocument], *, known_groups: Mapping[str, tuple[str, str]] | set[str] | None = None,
    form_keys: set[str] | None = None,
) -> list[Problem]:
    """Return every problem found in the documents (empty when they are deployable).

    ``known_groups``: group ids, or group ids with their (English, Chinese) display names, which lanes may use too.
    """
    groups = _group_names(known_groups)
    messages = {m.get("id") for doc in documents if doc.kind == "bpmn" for m in doc.tree.iter(f"{{{BPMN}}}message")}
    problems: list[Problem] = []
    for doc in documents:
        if doc.kind == "bpmn":
            found = [] if documentation_only(doc) else xsd_problems(doc) + _bpmn_problems(doc, messages, groups, form_keys)
        else:
            found = _dmn_problems(doc)
        problems.extend(sorted(_unique(found), key=lambda p: p.line or 0))
    return problems


def _group_names(known: Mapping[str, tuple[str, str]] | set[str] | None) -> dict[str, tuple[str, str]] | None:
    if known is None:
        return None
    if isinstance(known, Mapping):
        return {str(k): (v[0], v[1]) for k, v in known.items()}
    return {group: ("", "") for group in known}


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    """Drop repeats of one message at one place (the XSD and a reference check may word a missing attribute alike)."""
    return list({(p.file, p.line, p.element_id, p.message): p for p in reversed(list(problems))}.values())[::-1]


def _bpmn_problems(
    doc: SourceDocument, messages: set[str | None], groups: dict[str, tuple[str, str]] | None, form_keys: set[str] | None,
) -> list[Problem]:
    problems = _sequence_flow_problems(doc)
    for process in executable_processes(doc):
        problems += _condition_problems(doc, process) + _script_problems(doc, process) + _timer_problems(doc, process)
        problems += _message_and_call_problems(doc, process, messages)
        problems += expression_problems(doc, process) + unsupported_problems(doc, process) + attribute_problems(doc, process)
        problems += service_task_problems(doc, process)
        if groups is not None:
            problems += people_problems(doc, process, groups)
        if form_keys is not None:
            problems += form_key_problems(doc, process, form_keys)
    if form_keys is not None and executable_processes(doc):
        problems += message_form_problems(doc, form_keys)
    return problems


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
                problems.append(problem(doc.filename, flow, flow, "flow_missing_ref", attribute=attribute))
            elif ref not in siblings:
                problems.append(problem(doc.filename, flow, flow, "flow_bad_ref", flow=flow_id, attribute=attribute,
                                        ref=ref, where=where))
    return problems


def _condition_problems(doc: SourceDocument, process: Any) -> list[Problem]:
    problems = []
    for flow in process.iter(f"{{{BPMN}}}sequenceFlow"):
        condition = flow.find(f"{{{BPMN}}}conditionExpression")
        text = _text(condition)
        language = (condition.get("language") or "").strip() if condition is not None else ""
        if text and language and "python" not in language.lower():
            problems.append(problem(doc.filename, condition, flow, "condition_language", flow=flow.get("id"), language=language))
        elif text and not foreign_expression(text):
            error = _expression_error(text)
            if error:
                problems.append(problem(doc.filename, condition, flow, "condition_compile", flow=flow.get("id"), error=error))
    return problems


def _expression_error(text: str) -> str | None:
    try:
        compile_expression(text)
    except SandboxViolation as exc:
        return readable_error(str(exc))
    return None


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _script_problems(doc: SourceDocument, process: Any) -> list[Problem]:
    problems = []
    for task in process.iter(f"{{{BPMN}}}scriptTask"):
        task_id = task.get("id") or "(no id)"
        script_format = (task.get("scriptFormat") or "python").strip()
        if script_format.lower() not in ("python", "python3", "py", "text/x-python", "application/x-python"):
            problems.append(problem(doc.filename, task, task, "script_format", task=task_id, format=script_format))
            continue
        resource = task.get(f"{{{CAMUNDA}}}resource")
        if resource:
            problems.append(problem(doc.filename, task, task, "script_resource", task=task_id, resource=resource))
            continue
        script = task.find(f"{{{BPMN}}}script")
        if script is None or not _text(script):
            problems.append(problem(doc.filename, task, task, "script_empty", task=task_id))
            continue
        result = task.get(f"{{{CAMUNDA}}}resultVariable")
        if result is not None:
            if not _IDENTIFIER.fullmatch(result.strip()):
                problems.append(problem(doc.filename, task, task, "result_variable_name", task=task_id, name=result))
            else:
                error = _expression_error(_text(script))
                if error:
                    problems.append(problem(doc.filename, script, task, "result_variable_expression", task=task_id,
                                            name=result.strip(), error=error))
            continue
        try:
            compile_script(script.text)
        except SandboxViolation as exc:
            problems.append(problem(doc.filename, script, task, "script_compile", task=task_id, error=readable_error(str(exc))))
    return problems


def _timer_problems(doc: SourceDocument, process: Any) -> list[Problem]:
    problems = []
    for definition in process.iter(f"{{{BPMN}}}timerEventDefinition"):
        event = definition.getparent()
        labels = {"kind": _kind(event), "event": owner_id(event) or "(no id)"}
        values = [child for child in definition if isinstance(child.tag, str) and _kind(child) in TIMER_KINDS]
        if not values:
            problems.append(problem(doc.filename, definition, event, "timer_no_value", **labels))
        for node in values:
            name, text = _kind(node), _text(node)
            if foreign_expression(text):
                continue
            found = _timer_value_error(name, text)
            if found:
                code, params = found
                problems.append(problem(doc.filename, node, event, code, **labels, field=name, text=text, **params))
    return problems


def _timer_value_error(name: str, text: str) -> tuple[str, dict[str, str]] | None:
    if not text:
        return "timer_empty", {}
    if is_bare_iso(text):
        kind = TIMER_KINDS[name]
        try:
            check_iso(kind, text, TIMER_ZONE)
        except Exception as exc:  # SpiffWorkflow raises a bare Exception for a bad duration
            return "timer_bad_iso", {"iso": kind, "error": readable_error(str(exc))}
        return None
    error = _expression_error(text)
    return ("timer_compile", {"error": error}) if error else None


def _message_and_call_problems(doc: SourceDocument, process: Any, messages: set[str | None]) -> list[Problem]:
    problems = []
    referrers = (f"{{{BPMN}}}messageEventDefinition", f"{{{BPMN}}}receiveTask", f"{{{BPMN}}}sendTask")
    for node in process.iter(*referrers):
        ref = node.get("messageRef")
        # A QName reference may carry a prefix ("tns:Message_1"); ids never contain a colon.
        if ref is not None and ref not in messages and ref.rpartition(":")[2] not in messages:
            owner = node.getparent() if _kind(node) == "messageEventDefinition" else node
            problems.append(problem(doc.filename, node, owner, "message_missing", kind=_kind(owner),
                                    element=owner_id(owner), ref=ref))
    for task in process.iter(f"{{{BPMN}}}businessRuleTask"):
        if not (task.get(f"{{{CAMUNDA}}}decisionRef") or "").strip() and task.get(f"{{{CAMUNDA}}}type") != "external":
            problems.append(problem(doc.filename, task, task, "decision_missing", element=task.get("id")))
    for call in process.iter(f"{{{BPMN}}}callActivity"):
        if not (call.get("calledElement") or "").strip():
            problems.append(problem(doc.filename, call, call, "call_empty", element=call.get("id")))
    return problems


def _dmn_problems(doc: SourceDocument) -> list[Problem]:
    namespace = etree.QName(doc.tree).namespace
    problems = []
    for decision in doc.tree.iter(f"{{{namespace}}}decision"):
        decision_id = decision.get("id")
        if not decision_id:
            problems.append(problem(doc.filename, decision, None, "dmn_decision_no_id", name=decision.get("name") or ""))
        for table in decision.iter(f"{{{namespace}}}decisionTable"):
            if not table.get("id"):
                problems.append(problem(doc.filename, table, decision, "dmn_table_no_id", decision=decision_id))
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
            what, what_zh = _DMN_PARTS[parent]
            problems.append(problem(doc.filename, node, node, "dmn_entry", what=what, what_zh=what_zh, element=owner_id(node),
                                    text=text, error=error))
    return problems


_DMN_PARTS = {"inputExpression": ("input expression", "输入表达式"), "inputEntry": ("input entry", "输入条目"),
              "outputEntry": ("output entry", "输出条目")}


def _input_entry_error(text: str) -> str | None:
    """Check a rule's input entry as SpiffWorkflow reads it: a value, or an operator applied to the input."""
    text = _DMN_PLACEHOLDER.sub("dmninputexpr", text)
    error = _expression_error(text)
    if error is None or "dmninputexpr" in text:
        return error
    # "> 5" or "in ('a', 'b')" are completed with the input expression on the left.
    return None if _expression_error(f"dmninputexpr {text}") is None else error

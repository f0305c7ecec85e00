"""Turn safely parsed BPMN/DMN trees into SpiffWorkflow specs, reporting problems per element."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import Problem
from engine.runtime.dialect import prepare_tree
from engine.runtime.event_subprocesses import NON_INTERRUPTING
from engine.runtime.external import ExternalServiceTask, ExternalTaskParser, mark_external_tasks
from engine.runtime.joins import JOIN_CLASSES
from engine.runtime.messages import EngineMessage
from engine.runtime.timers import TIMER_CLASSES, EngineStartCycle, translate_expression

ENGINE_CLASSES: dict[type, type] = {**TIMER_CLASSES, EngineMessage.__mro__[1]: EngineMessage, BaseMessageEventDefinition: EngineMessage}

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
TIMER_TAGS = tuple(f"{{{BPMN_NS}}}{tag}" for tag in ("timeDate", "timeDuration", "timeCycle"))


def translate_timers(tree: Any) -> None:
    """Quote bare ISO 8601 timer expressions in place (SpiffWorkflow wants Python expressions)."""
    for node in tree.iter(*TIMER_TAGS):
        if node.text and node.text.strip():
            node.text = translate_expression(node.text)


@dataclass(frozen=True)
class SourceDocument:
    """One BPMN or DMN file: its name, text and safely parsed tree."""

    filename: str
    text: str
    tree: Any  # lxml root element
    kind: str  # "bpmn" | "dmn"


@dataclass
class ParsedProcess:
    """A process spec with the specs of every process it calls."""

    process_id: str
    name: str
    filename: str
    spec: Any
    subprocess_specs: dict[str, Any] = field(default_factory=dict)
    called_processes: list[str] = field(default_factory=list)


def _adopt_engine_classes(spec: Any) -> None:
    """Swap SpiffWorkflow's parallel gateway, timer and message definitions for ours (same attributes)."""
    for task_spec in spec.task_specs.values():
        join = JOIN_CLASSES.get(type(task_spec))
        if join is not None:
            task_spec.__class__ = join
        definition = getattr(task_spec, "event_definition", None)
        if definition is None:
            continue
        definitions = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        top_level_start = isinstance(task_spec, StartEvent)
        for item in definitions:
            replacement = ENGINE_CLASSES.get(type(item))
            if top_level_start and replacement is TIMER_CLASSES[CycleTimerEventDefinition]:
                replacement = EngineStartCycle
            if replacement is EngineMessage and not hasattr(item, "result_var"):
                item.expression, item.result_var = None, None  # a receive task's plain message
            if replacement is not None:
                item.__class__ = replacement


def _problem_from(exc: SpiffWorkflowException, documents: list[SourceDocument]) -> Problem:
    element_id = getattr(exc, "id", None) or None
    filename = getattr(exc, "file_name", "") or ""
    line = getattr(exc, "line_number", None)
    if not isinstance(line, int) or line <= 0:
        line = None
    node = None
    for doc in documents:
        if element_id and (not filename or doc.filename == filename):
            found = doc.tree.xpath("//*[@id=$id]", id=element_id)
            if found:
                node, filename = found[0], doc.filename
                line = line or found[0].sourceline
                break
    raw = _ELEMENT_REPR.sub(lambda m: f"'{m.group(1)}'", " ".join(str(exc).split())).strip().rstrip(".")
    if raw.startswith("Multiple outgoing flows are not supported"):
        outgoing = len(node.findall(f"{{{BPMN_NS}}}outgoing")) if node is not None else 2
        en = (f"{element_id} has {outgoing} outgoing sequence flows, and the engine does not split after a task or event; "
              "add a parallel gateway after it (an exclusive gateway when the flows have conditions)")
        zh = (f"{element_id} 有 {outgoing} 条流出顺序流，本引擎不会在任务或事件之后分支；请在其后添加并行网关"
              "（若顺序流带条件，请用排他网关）")
    elif (missing := re.match(r'No DMN Diagram available with id "([^"]*)"', raw)) is not None:
        en = (f"{element_id} uses decision '{missing.group(1)}', which no deployed or given DMN file defines; deploy the "
              "DMN file with it, or fix camunda:decisionRef")
        zh = f"{element_id} 使用的决策 '{missing.group(1)}' 不在任何已部署或本次给出的 DMN 文件中；请一同部署该 DMN 文件，或修正 camunda:decisionRef"
    else:
        en, zh = f"the process cannot be built: {raw}", f"无法构建流程：{raw}"
    name = " ".join((node.get("name") or "").split()) or None if node is not None else None
    return Problem(filename or (documents[0].filename if documents else "?"), line, element_id, en, name, (("zh", zh),))


_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>")


def _python_problem(exc: Exception, documents: list[SourceDocument]) -> Problem:
    """Word a plain Python error SpiffWorkflow raised on a malformed model, without class names or reprs."""
    text = str(exc).strip("'\"")
    missing = re.fullmatch(r"\{([^}]*)\}(\w+)", text)
    if isinstance(exc, KeyError) and missing:
        prefix = "camunda:" if "camunda" in missing.group(1) else ""
        en = f"the process cannot be built: an element needs the attribute {prefix}{missing.group(2)}; add it"
        zh = f"无法构建流程：某个元素缺少属性 {prefix}{missing.group(2)}；请补上"
    else:
        detail = _ELEMENT_REPR.sub(lambda m: f"'{m.group(1)}'", " ".join(text.split())) or "an element is malformed"
        en, zh = f"the process cannot be built: {detail}", f"无法构建流程：{detail}"
    return Problem(documents[0].filename if documents else "?", None, None, en, None, (("zh", zh),))


def _non_interrupting_starts(documents: list[SourceDocument]) -> set[str]:
    """Return the ids of event subprocess start events with ``isInterrupting="false"`` in the BPMN documents."""
    found: set[str] = set()
    for doc in documents:
        if doc.kind == "bpmn":
            found.update(str(i) for i in doc.tree.xpath(
                "//bpmn:subProcess[@triggeredByEvent='true']/bpmn:startEvent[@isInterrupting='false']/@id",
                namespaces={"bpmn": BPMN_NS}))
    return found


def _mark_non_interrupting(spec: Any, ids: set[str]) -> None:
    # SpiffWorkflow 3.2 does not read isInterrupting on a start event; the mark rides in the spec's extensions,
    # which its serializer keeps, so a stored spec still knows it (engine.runtime.event_subprocesses reads it).
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and getattr(task_spec, "bpmn_id", None) in ids:
            task_spec.extensions = {**(getattr(task_spec, "extensions", None) or {}), NON_INTERRUPTING: "true"}


class EngineParser(CamundaParser):  # type: ignore[misc]
    """Camunda's parser, with service tasks read as external tasks (the only kind deploy lets through)."""

    OVERRIDE_PARSER_CLASSES = {**CamundaParser.OVERRIDE_PARSER_CLASSES,
                               f"{{{BPMN_NS}}}serviceTask": (ExternalTaskParser, ExternalServiceTask)}


def parse_documents(documents: list[SourceDocument], *, wanted: set[str] | None = None) -> dict[str, ParsedProcess]:
    """Parse the executable processes in the documents (only ``wanted`` ids when given); raise ProblemsFound on failure.

    The trees are rewritten in place (engine.runtime.dialect, timer expressions): pass copies.
    """
    parser = EngineParser()
    try:
        for doc in documents:
            if doc.kind == "dmn":
                parser.add_dmn_xml(doc.tree, filename=doc.filename)
        for doc in documents:
            if doc.kind == "bpmn":
                prepare_tree(doc.tree)
                mark_external_tasks(doc.tree)
                translate_timers(doc.tree)
                parser.add_bpmn_xml(etree.ElementTree(doc.tree), filename=doc.filename)
        non_interrupting = _non_interrupting_starts(documents)
        result: dict[str, ParsedProcess] = {}
        for process_id in parser.get_process_ids():
            if wanted is not None and process_id not in wanted:
                continue
            process_parser = parser.get_process_parser(process_id)
            if not getattr(process_parser, "process_executable", True):
                continue
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
            for item in [spec, *subprocess_specs.values()]:
                _adopt_engine_classes(item)
                _mark_non_interrupting(item, non_interrupting)
            result[process_id] = ParsedProcess(
                process_id=process_id,
                name=process_parser.get_name() or process_id,
                filename=process_parser.filename or "",
                spec=spec,
                subprocess_specs=subprocess_specs,
                called_processes=sorted(subprocess_specs),
            )
        return result
    except SpiffWorkflowException as exc:
        raise ProblemsFound([_problem_from(exc, documents)]) from exc
    except (KeyError, AttributeError, TypeError, ValueError, IndexError) as exc:
        # SpiffWorkflow reports some malformed models only as Python errors.
        raise ProblemsFound([_python_problem(exc, documents)]) from exc


class ProblemsFound(Exception):
    """Parsing found problems; ``problems`` lists them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))

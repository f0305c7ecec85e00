"""Lean workflow documents: task tree and data only; the spec is stored once per definition version.

SpiffWorkflow's registry reads any dict with a ``typename`` key as a type tag. Data comes from
outside (start, task and message data, data fixes) and is plain JSON, so a user's
``{"typename": "date", "value": "x"}`` must never be read as one: every plain dict that carries
the key is written wrapped in an engine-owned tag (``bpm:dict``) and unwrapped on load, so any
JSON value round-trips exactly. Documents written before the wrapping (``bpm-1``) load tolerantly:
a tag that cannot be restored is kept as the plain dict it was.
"""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import date
from decimal import Decimal
from importlib.metadata import version
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.task import Task

from engine.runtime.joins import JOIN_CLASSES, JOIN_CONVERTERS
from engine.runtime.messages import EngineMessage
from engine.runtime.timers import EngineCycle, EngineDuration, EngineStartCycle, EngineTimeDate

DOCUMENT_VERSION = "bpm-2"
# Documents written before user dicts were wrapped; they may hold user dicts that look like tags.
LEGACY_DOCUMENTS = frozenset({None, "bpm-1"})
TAG = "typename"
_NESTED = (dict, list)
ESCAPED = "bpm:dict"


class _EscapedDict:
    """Placeholder class under which the registry knows the ``bpm:dict`` tag (never instantiated)."""


class EngineRegistry(DefaultRegistry):  # type: ignore[misc]
    """SpiffWorkflow's registry, with plain dicts that carry ``typename`` wrapped so they stay data."""

    def __init__(self) -> None:
        super().__init__()
        self.tolerant = False
        self.register(_EscapedDict, lambda v: {}, self._unwrap, typename=ESCAPED)

    def convert(self, obj: Any, **kwargs: Any) -> Any:
        """Convert like SpiffWorkflow, wrapping every plain dict that has a ``typename`` key."""
        if self._encoder_mode:
            return self._convert_for_encoder(obj)
        if type(obj) is dict and TAG in obj:
            return {TAG: ESCAPED, "items": {k: self.convert(v, **kwargs) for k, v in self.clean(obj).items()}}
        return super().convert(obj, **kwargs)

    def _convert_for_encoder(self, obj: Any) -> Any:
        typename = self.typenames.get(obj.__class__)
        if typename in self.convert_to_dict:
            return self.convert_to_dict[typename](obj)
        if isinstance(obj, dict):
            return self.escape(self.clean(obj))
        return self.escape(obj)

    def escape(self, value: Any) -> Any:
        """Return ``value`` with every plain dict that has a ``typename`` key wrapped (shares unchanged parts)."""
        kind = type(value)
        if kind is dict:
            if TAG not in value and not any(type(v) in _NESTED for v in value.values()):
                return value  # flat data (most task data): nothing in it to wrap
            items = {k: self.escape(v) for k, v in value.items()}
            if TAG in value:
                return {TAG: ESCAPED, "items": items}
            return value if all(items[k] is v for k, v in value.items()) else items
        if kind is list:
            escaped = [self.escape(v) for v in value]
            return value if all(a is b for a, b in zip(escaped, value, strict=True)) else escaped
        return value

    def _unwrap(self, dct: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {k: self.restore(v, **kwargs) for k, v in dct["items"].items()}

    def restore(self, val: Any, **kwargs: Any) -> Any:
        """Restore like SpiffWorkflow; in a legacy document a tag that cannot be restored stays a plain dict."""
        if not self.tolerant or type(val) is not dict or TAG not in val:
            return super().restore(val, **kwargs)
        if val[TAG] in self.convert_from_dict:
            try:
                return super().restore(val, **kwargs)
            except Exception:  # noqa: BLE001, S110 - user data written before wrapping, e.g. {"typename": "date", "value": "x"}
                pass
        return {k: self.restore(v, **kwargs) for k, v in val.items()}


class EngineTaskConverter(TaskConverter):  # type: ignore[misc]
    """SpiffWorkflow's task converter, whose raw data and data delta get the same wrapping."""

    def to_dict(self, task: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(task)
        dct["data"] = self.registry.escape(dct["data"])
        delta = dct.get("delta")
        if delta:
            dct["delta"] = {**delta, "updates": self.registry.escape(delta.get("updates", {}))}
        return dct


class LeanWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Serialize a workflow without its specs; restore it onto specs the caller already holds."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = workflow_to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec = dct.pop("spec")
        subprocess_specs = dct.pop("subprocess_specs", {})
        if isinstance(spec, dict):  # a full document, e.g. written by plain SpiffWorkflow
            spec = self.registry.restore(spec)
            subprocess_specs = self.mapping_from_dict(subprocess_specs)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class LeanSubWorkflowConverter(BpmnSubWorkflowConverter):  # type: ignore[misc]
    """SpiffWorkflow's subprocess converter, whose task tree is written by the same fast path."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = workflow_to_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct


def workflow_to_dict(converter: Any, workflow: Any) -> dict[str, Any]:
    """``WorkflowConverter.to_dict``, with the task tree written by :func:`_tasks_for_encoder` when encoding."""
    registry = converter.registry
    if not registry._encoder_mode or not FAST_TASKS:
        return WorkflowConverter.to_dict(converter, workflow)  # type: ignore[no-any-return]
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": _tasks_for_encoder(registry, workflow.tasks),
        "root": str(workflow.task_tree.id),
    }


def _tasks_for_encoder(registry: EngineRegistry, tasks: dict[Any, Task]) -> dict[str, Any]:
    """The task tree as ``mapping_to_dict`` writes it through EngineTaskConverter, key for key, in one loop.

    A save writes every task of the tree; the registry's generic dispatch, SpiffWorkflow's ``parent`` property
    (a dict look-up per use) and a converter call for empty internal data made a quarter of a document's dump
    (bench_flow: 157 → 115 µs). A task of another class (none today) still goes through the registry. It follows
    SpiffWorkflow 3.2's TaskConverter field by field; tests/engine/test_document_fast_path.py compares the two.
    """
    escape = registry.escape
    clean = registry.clean
    out: dict[str, Any] = {}
    for key, task in tasks.items():
        if task.__class__ is not Task:
            out[str(key)] = registry.convert(task)
            continue
        parent = tasks.get(task._parent) if task.workflow.tasks is tasks else task.parent
        internal = task.internal_data
        if type(internal) is dict:
            internal = escape(clean(internal)) if internal else {}
        else:
            internal = registry.convert(internal)
        if parent is None:
            data, delta = escape(task.data), {}
        else:
            before, after = parent.data, task.data
            data = {}
            delta = {"updates": escape({k: v for k, v in after.items() if k not in before or v != before[k]}),
                     "deletions": [k for k in before if k not in after]}
        out[str(key)] = {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": internal,
            "data": data,
            "delta": delta,
            "typename": _TASK_TYPENAME,
        }
    return out


_TASK_TYPENAME = "Task"
# The fast path copies SpiffWorkflow 3.2's TaskConverter.to_dict; another release writes through its own converter.
FAST_TASKS = version("SpiffWorkflow").startswith("3.2.")


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def _registry() -> EngineRegistry:
    config = deepcopy(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = LeanWorkflowConverter
    config[Task] = EngineTaskConverter
    config[BpmnSubWorkflow] = LeanSubWorkflowConverter
    for cls in (EngineTimeDate, EngineDuration, EngineCycle, EngineStartCycle):
        config[cls] = TimerConditionalEventDefinitionConverter
    config[EngineMessage] = MessageEventDefinitionConverter
    for base, ours in JOIN_CLASSES.items():  # same typename: specs stored before read as ours
        del config[base]
        config[ours] = JOIN_CONVERTERS[ours]
    registry: EngineRegistry = BpmnWorkflowSerializer.configure(config, EngineRegistry())
    # Task data keeps money as Decimal and calendar dates as date across save/restore.
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    return registry


class DocumentSerializer:
    """Turns workflows into lean JSON documents and back; specs go in and out separately."""

    def __init__(self) -> None:
        self.registry = _registry()
        self.serializer = BpmnWorkflowSerializer(self.registry)

    def dump_workflow(self, workflow: BpmnWorkflow) -> str:
        """Return the workflow's state as JSON, without its spec."""
        self.registry._encoder_mode = True
        try:
            dct = self.registry.convert(workflow)
        finally:
            self.registry._encoder_mode = False
        dct["serializer_version"] = self.serializer.VERSION
        dct["document"] = DOCUMENT_VERSION
        return json.dumps(dct, cls=self.serializer._encoder_cls, separators=(",", ":"))

    def load_workflow(self, document: str, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        """Restore a workflow from its document onto already-loaded specs."""
        dct = json.loads(document)
        legacy = dct.pop("document", None) in LEGACY_DOCUMENTS
        dct["spec"] = spec
        dct["subprocess_specs"] = subprocess_specs
        dct.pop("serializer_version", None)
        self.registry.tolerant = legacy
        try:
            return self.registry.restore(dct)
        finally:
            self.registry.tolerant = False

    def dump_spec(self, spec: Any) -> dict[str, Any]:
        """Return a process spec as a JSON-ready dict."""
        return self.registry.convert(spec)  # type: ignore[no-any-return]

    def load_spec(self, dct: dict[str, Any]) -> Any:
        """Restore a process spec from its dict."""
        return self.registry.restore(deepcopy(dct))

    def dump_data(self, data: Any) -> Any:
        """Convert task data (Decimal, date, datetime …) to JSON-ready values with type tags."""
        return self.registry.convert(self.registry.clean(data))

    def load_data(self, data: Any) -> Any:
        """Restore task data written by ``dump_data``."""
        return self.registry.restore(data)

"""Lean workflow documents: task tree and data only; the spec is stored once per definition version."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.serializer.event_definition import MessageEventDefinitionConverter

from engine.runtime.joins import JOIN_CLASSES, JOIN_CONVERTERS
from engine.runtime.messages import EngineMessage
from engine.runtime.timers import EngineCycle, EngineDuration, EngineStartCycle, EngineTimeDate

DOCUMENT_VERSION = "bpm-1"


class LeanWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Serialize a workflow without its specs; restore it onto specs the caller already holds."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
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


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def _registry() -> DefaultRegistry:
    config = deepcopy(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = LeanWorkflowConverter
    for cls in (EngineTimeDate, EngineDuration, EngineCycle, EngineStartCycle):
        config[cls] = TimerConditionalEventDefinitionConverter
    config[EngineMessage] = MessageEventDefinitionConverter
    for base, ours in JOIN_CLASSES.items():  # same typename: specs stored before read as ours
        del config[base]
        config[ours] = JOIN_CONVERTERS[ours]
    registry = BpmnWorkflowSerializer.configure(config)
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
        dct.pop("document", None)
        dct["spec"] = spec
        dct["subprocess_specs"] = subprocess_specs
        dct.pop("serializer_version", None)
        return self.registry.restore(dct)

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

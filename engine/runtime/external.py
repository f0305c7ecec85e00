"""External service tasks: a service task an outside worker does (Camunda 7's ``camunda:type="external"``).

The task waits, like a user task, until the engine completes it for a worker; the worker finds it
through the ``external_task`` row the engine writes (engine.services.external_tasks), never here.
A send task or business rule task marked external is the same thing under another shape.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.serializer.helpers.spec import TaskSpecConverter
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
# Shapes Camunda Modeler lets a designer mark as external ("Implementation: External").
EXTERNAL_SHAPES = ("serviceTask", "sendTask", "businessRuleTask")


class ExternalServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task done by an outside worker: it stays ready until a worker's completion runs it."""

    def __init__(self, wf_spec: Any, bpmn_id: str, topic: str = "", **kwargs: Any):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.topic = topic
        self.manual = True  # do_engine_steps leaves manual tasks alone: this is what makes the instance wait

    def _run_hook(self, task: Any) -> bool:
        # The worker did the work; running the task only records it (None would leave it STARTED forever).
        return True


class ExternalTaskParser(CamundaTaskParser):  # type: ignore[misc]
    """Read ``camunda:topic`` into the spec."""

    def create_task(self) -> ExternalServiceTask:
        topic = (self.node.get(f"{{{CAMUNDA}}}topic") or "").strip()
        return ExternalServiceTask(self.spec, self.bpmn_id, topic=topic, **self.bpmn_attributes)


class ExternalTaskConverter(TaskSpecConverter):  # type: ignore[misc]
    """Store an external service task spec with its topic."""

    def to_dict(self, spec: ExternalServiceTask) -> dict[str, Any]:
        dct: dict[str, Any] = self.get_default_attributes(spec)
        dct["topic"] = spec.topic
        return dct

    def from_dict(self, dct: dict[str, Any]) -> ExternalServiceTask:
        spec: ExternalServiceTask = self.task_spec_from_dict(dct)
        return spec


def register_external_tasks(registry: Any) -> None:
    """Teach a serializer registry the external service task spec."""
    ExternalTaskConverter(ExternalServiceTask, registry)


def is_external(node: Any) -> bool:
    """Return True for a task element marked ``camunda:type="external"``."""
    return (node.get(f"{{{CAMUNDA}}}type") or "").strip() == "external"


def mark_external_tasks(tree: Any) -> None:
    """Give external send and business rule tasks the service task shape (in place, on a private copy)."""
    for node in list(tree.iter(*(f"{{{BPMN}}}{shape}" for shape in EXTERNAL_SHAPES[1:]))):
        if is_external(node):
            node.tag = f"{{{BPMN}}}serviceTask"

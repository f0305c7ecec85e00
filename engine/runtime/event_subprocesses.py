"""Event subprocesses started by a message: SpiffWorkflow keeps them as triggers of the process start, not as
waiting tasks, so the engine lists them itself (a subscription for as long as the instance runs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.util.task import TaskIterator, TaskState
from SpiffWorkflow.workflow import Workflow

# The extension key that marks a non-interrupting event subprocess start (SpiffWorkflow keeps no such attribute).
NON_INTERRUPTING = "bpm:nonInterrupting"


def message_starts(workflow: BpmnWorkflow) -> Iterator[tuple[Any, MessageEventDefinition]]:
    """Yield the message start events of the top-level event subprocesses (start event spec, its definition)."""
    if workflow.completed:
        return
    for name in getattr(workflow.spec.start, "trigger_specs", []):
        subprocess_spec = workflow.subprocess_specs.get(name)
        for start in getattr(subprocess_spec, "bpmn_start_events", []) if subprocess_spec is not None else []:
            if isinstance(start.event_definition, MessageEventDefinition):
                yield start, start.event_definition


def is_interrupting(start: Any) -> bool:
    """Return False for an event subprocess start marked ``isInterrupting="false"`` (engine.runtime.parsing)."""
    return (getattr(start, "extensions", None) or {}).get(NON_INTERRUPTING) != "true"


def subscription_id(workflow: BpmnWorkflow, start: Any) -> str:
    """Return a stable id (36 characters) for an event subprocess's message start in this instance."""
    root = workflow.task_tree.id if isinstance(workflow.task_tree.id, UUID) else uuid5(NAMESPACE_URL, str(workflow.task_tree.id))
    return str(uuid5(root, f"event-subprocess:{start.bpmn_id}"))


def interrupt(workflow: BpmnWorkflow) -> None:
    """Cancel everything the instance is doing, for an interrupting event subprocess about to start.

    SpiffWorkflow runs an event subprocess beside the process; BPMN says an interrupting one replaces it. Once the
    event subprocess ends, nothing is left unfinished, so the instance completes.
    """
    for task in list(TaskIterator(workflow.task_tree, state=TaskState.NOT_FINISHED_MASK)):
        if task.has_state(TaskState.NOT_FINISHED_MASK):
            task.cancel()
    for sub_id, sub in list(workflow.subprocesses.items()):
        owner = workflow.get_task_from_id(sub_id)
        if owner is not None and owner.has_state(TaskState.CANCELLED) and not sub.completed:
            Workflow.cancel(sub)
    for task_id, task in list(workflow.event_manager.tasks.items()):
        if not task.has_state(TaskState.WAITING):
            workflow.event_manager.tasks.pop(task_id, None)


def finish_with_event_subprocess(workflow: BpmnWorkflow, start: Any) -> None:
    """Make the data of the event subprocess that ended the instance its end data (the process's own end did not run)."""
    for sub in workflow.subprocesses.values():
        if start.bpmn_id in {t.task_spec.bpmn_id for t in sub.get_tasks()} and sub.last_task is not None:
            workflow.data.update(sub.last_task.data)

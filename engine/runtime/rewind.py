"""Taking a workflow back to an earlier step: send back (退回) and withdraw (撤回).

Both reset a completed user task to ready with SpiffWorkflow's ``reset_from_task_id``: everything that ran after it
on its path (tasks, timers, subprocesses, parallel branches split after it) is dropped, and the task itself becomes
ready again under the same id. Branches that split off before it are not its descendants and keep running.

Only a task on the path that led to the current one can be the target: a step on a parallel branch beside it, or in an
event subprocess that interrupted it, is not "earlier" in a sense a person could follow, so it is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import Conflict, WorkflowError
from engine.runtime.external import ExternalServiceTask

# What ran after a step and cannot be undone by resetting the workflow: a person's or a worker's finished work,
# and anything that left the instance (messages thrown to other instances, a called process's own steps).
_PEOPLE = (UserTask, ManualTask)


@dataclass(frozen=True)
class EarlierStep:
    """A completed user task on the path to an open one: where it may be sent back to."""

    task_id: str
    element_id: str
    title: str


@dataclass(frozen=True)
class Successor:
    """Something that ran or waits after a completed task, as withdraw needs to judge it."""

    task_id: str
    element_id: str
    kind: str  # "person" (user/manual task), "worker" (external task), "message" (thrown), "other"
    open: bool


def find(workflow: BpmnWorkflow, task_id: str) -> Any:
    """Return the SpiffWorkflow task with this id (in subprocesses too) or raise WorkflowError."""
    try:
        task = workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        task = None
    if task is None:
        raise WorkflowError(f"task {task_id} is not part of this instance")
    return task


def _ancestors(workflow: BpmnWorkflow, task: Any) -> Iterator[Any]:
    """Yield the tasks on the path that led to ``task``, nearest first, climbing out of and into subprocesses."""
    current = task.parent
    while True:
        while current is not None:
            yield current
            yield from _inside(workflow, current)
            current = current.parent
        parent_id = task.workflow.parent_task_id
        if parent_id is None:
            return
        task = workflow.get_task_from_id(parent_id)
        yield task
        current = task.parent


def _inside(workflow: BpmnWorkflow, task: Any) -> Iterator[Any]:
    """Yield the path through a finished subprocess that ``task`` ran, from its end back to its start."""
    sub = workflow.subprocesses.get(task.id)
    if sub is None or task.state != TaskState.COMPLETED:
        return
    end = next((t for t in sub.get_tasks(state=TaskState.COMPLETED) if t.task_spec.name == "End"), None)
    current = end.parent if end is not None else None
    while current is not None:
        yield current
        yield from _inside(workflow, current)
        current = current.parent


def earlier_steps(workflow: BpmnWorkflow, task_id: str) -> list[EarlierStep]:
    """Return the completed user tasks on the path to open task ``task_id``, nearest first, one per element."""
    seen: set[str] = set()
    steps = []
    for task in _ancestors(workflow, find(workflow, task_id)):
        spec = task.task_spec
        if isinstance(spec, _PEOPLE) and task.state == TaskState.COMPLETED and spec.bpmn_id not in seen:
            seen.add(spec.bpmn_id)
            steps.append(EarlierStep(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id))
    return steps


def earlier_step(workflow: BpmnWorkflow, task_id: str, element_id: str) -> EarlierStep:
    """Return the latest run of user task ``element_id`` on the path to ``task_id``, or raise Conflict saying why not."""
    for step in earlier_steps(workflow, task_id):
        if step.element_id == element_id:
            return step
    ran = any(t.task_spec.bpmn_id == element_id and t.state == TaskState.COMPLETED for t in workflow.get_tasks())
    if ran:
        raise Conflict(f"step {element_id!r} did not lead to this task (it ran on another branch); "
                       "send the task back to a step on its own path",
                       zh=f"步骤 {element_id!r} 不在通向此任务的路径上（它在另一个分支上运行）；请退回到此任务所在路径上的步骤")
    raise Conflict(f"step {element_id!r} has not run in this instance; a task can only be sent back to an earlier "
                   "user task that already ran", zh=f"步骤 {element_id!r} 在此实例中还没有运行过；只能退回到已经办理过的用户任务")


def _kind(task: Any) -> str:
    spec = task.task_spec
    if isinstance(spec, _PEOPLE):
        return "person"
    if isinstance(spec, ExternalServiceTask):
        return "worker"
    definition = getattr(spec, "event_definition", None)
    if type(spec).__name__ in ("IntermediateThrowEvent", "EndEvent", "SendTask") and definition is not None \
            and type(definition).__name__ == "MessageEventDefinition":
        return "message"
    if type(spec).__name__ == "CallActivity":
        return "call"
    return "other"


def successors(workflow: BpmnWorkflow, task_id: str) -> list[Successor]:
    """Return what ran or waits after completed task ``task_id``: its descendants that are not mere predictions."""
    top = find(workflow, task_id)
    result = []
    for task in top:
        if task is top or task.state & TaskState.PREDICTED_MASK:
            continue
        if task.state not in (TaskState.COMPLETED, TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            continue
        result.append(Successor(str(task.id), task.task_spec.bpmn_id, _kind(task),
                                task.state != TaskState.COMPLETED))
        if task.id in workflow.subprocesses:
            for inner in workflow.subprocesses[task.id].get_tasks():
                if inner.state in (TaskState.COMPLETED, TaskState.READY, TaskState.WAITING, TaskState.STARTED) \
                        and inner.task_spec.bpmn_id:
                    result.append(Successor(str(inner.id), inner.task_spec.bpmn_id, _kind(inner),
                                            inner.state != TaskState.COMPLETED))
    return result


def reset_to(workflow: BpmnWorkflow, task_id: str, data: dict[str, Any] | None) -> None:
    """Make completed task ``task_id`` ready again with ``data`` (None: the data it had before it ran)."""
    task = find(workflow, task_id)
    if task.state != TaskState.COMPLETED:
        raise Conflict(f"task {task_id} has not completed (state {TaskState.get_name(task.state)})")
    kept = deepcopy(data)  # SpiffWorkflow merges the parent's data into the dict it is given, in place
    try:
        workflow.reset_from_task_id(task.id, data=deepcopy(data))
    except SpiffWorkflowException as exc:
        raise WorkflowError(f"task {task_id} could not be reopened: {exc}") from exc
    _forget_dropped_waits(workflow)
    if kept is not None:
        task.data = kept  # becoming ready merged the parent's (older) data over what was given
        # The instance's data is read from the latest task (InstanceRun.data): make that the reopened one, which
        # carries the kept data, not its parent, which holds the data as it was before the step first ran.
        task.workflow.last_task = task
    if task.state != TaskState.READY:
        raise WorkflowError(f"task {task_id} could not be reopened (state {TaskState.get_name(task.state)})")


def _forget_dropped_waits(workflow: BpmnWorkflow) -> None:
    """Drop waits (timers, message catches) whose tasks the reset removed: SpiffWorkflow's reset leaves them behind."""
    live = [workflow, *workflow.subprocesses.values()]
    for key, task in list(workflow.event_manager.tasks.items()):
        if task.parent is None or key not in task.workflow.tasks or not any(task.workflow is w for w in live):
            workflow.event_manager.tasks.pop(key, None)

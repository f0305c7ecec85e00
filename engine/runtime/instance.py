"""One running workflow, behind our own small API: tasks, timers and messages as plain views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway  # noqa: F401
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import Conflict, EngineError, LimitExceeded, ScriptError, WorkflowError
from engine.runtime import rewind
from engine.runtime.event_subprocesses import (
    finish_with_event_subprocess,
    interrupt,
    is_interrupting,
    message_starts,
    subscription_id,
)
from engine.runtime.external import ExternalServiceTask
from engine.runtime.messages import from_outside
from engine.runtime.sandbox import SandboxViolation
from engine.runtime.timers import CalendarUse, Rescheduled, calendar_use, cycle_due, reschedule_timers


@dataclass(frozen=True)
class ReadyTask:
    """A user or manual task waiting for a person."""

    id: str
    element_id: str
    title: str
    lane: str | None
    form_key: str | None
    process_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class WaitingTimer:
    """A timer the workflow is waiting on, with its due time as stored in the workflow."""

    task_id: str
    element_id: str
    name: str
    kind: str  # intermediate | boundary_interrupting | boundary_non_interrupting | event_gateway | start
    due_at: datetime | None
    cycle: bool
    attached_to: str | None
    calendar: CalendarUse | None = None


@dataclass(frozen=True)
class FiredTimer:
    """A timer that fired during the current command."""

    task_id: str
    element_id: str
    kind: str
    due_at: datetime | None
    fired_at: datetime


@dataclass(frozen=True)
class WaitingMessage:
    """A message catch event the workflow is waiting on."""

    task_id: str
    element_id: str
    message_name: str


@dataclass(frozen=True)
class WaitingExternalTask:
    """An external service task waiting for an outside worker, with the data it hands the worker."""

    task_id: str
    element_id: str
    title: str
    topic: str
    data: dict[str, Any]


def _definitions(event_definition: Any) -> list[Any]:
    if isinstance(event_definition, MultipleEventDefinition):
        return list(event_definition.event_definitions)
    return [event_definition]


def _timer_kind(task: Any) -> tuple[str, str | None]:
    spec = task.task_spec
    if isinstance(spec, BoundaryEvent):
        attached = task.parent.parent.task_spec.bpmn_id if task.parent and task.parent.parent else None
        # The boundary split's first child is the guarded activity itself.
        for sibling in task.parent.children if task.parent else []:
            if not isinstance(sibling.task_spec, BoundaryEvent):
                attached = sibling.task_spec.bpmn_id
        return ("boundary_interrupting" if spec.cancel_activity else "boundary_non_interrupting"), attached
    if isinstance(spec, StartEvent):
        return "start", None
    parent_spec = task.parent.task_spec if task.parent else None
    if parent_spec is not None and type(parent_spec).__name__ == "EventBasedGateway":
        return "event_gateway", None
    return "intermediate", None


def translate_errors(exc: Exception) -> Exception:
    """Turn SpiffWorkflow/sandbox errors into engine errors that name the task."""
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    where = None
    if spec is not None:
        where = spec.bpmn_id or spec.name
        if getattr(spec, "bpmn_name", None):
            where = f"{where} ({spec.bpmn_name})"
    cause = exc.__cause__ or exc.__context__ or getattr(exc, "exception", None)
    inner = getattr(exc, "exception", None) or cause
    text = str(exc)
    if isinstance(inner, LimitExceeded) or isinstance(exc, LimitExceeded):
        return LimitExceeded(f"limit exceeded: {inner or exc}".strip().rstrip("."), task=where)
    if isinstance(inner, SandboxViolation) or isinstance(exc, SandboxViolation):
        text = f"sandbox violation: {inner or exc}"
    elif inner is not None and not isinstance(inner, SpiffWorkflowException):
        text = f"{type(inner).__name__}: {inner}"
    return ScriptError(text.strip().rstrip("."), task=where)


class InstanceRun:
    """A SpiffWorkflow workflow plus the operations a command performs on it."""

    def __init__(self, workflow: BpmnWorkflow):
        self.workflow = workflow

    # -- commands ---------------------------------------------------------
    def advance(self) -> None:
        """Run engine steps (gateways, scripts, due timers) until only waits remain."""
        try:
            self.workflow.do_engine_steps()
        except (SpiffWorkflowException, SandboxViolation) as exc:
            raise translate_errors(exc) from exc
        except EngineError:
            raise
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow sometimes fails with plain Python errors
            raise ScriptError(f"{type(exc).__name__}: {exc}") from exc

    def set_start_data(self, data: dict[str, Any]) -> None:
        """Put start data into the workflow before its first step."""
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.set_data(**data)

    def complete(self, task_id: str, data: dict[str, Any]) -> ReadyTask:
        """Complete a ready user/manual task with data and advance the workflow."""
        task = self._task(task_id)
        if task.state != TaskState.READY or not isinstance(task.task_spec, (UserTask, ManualTask)):
            raise Conflict(f"task {task_id} is not open (state {TaskState.get_name(task.state)})")
        view = self._ready_view(task)
        try:
            task.set_data(**data)
            task.run()
        except (SpiffWorkflowException, SandboxViolation) as exc:
            raise translate_errors(exc) from exc
        self.advance()
        return view

    def complete_external(self, task_id: str, data: dict[str, Any]) -> None:
        """Complete a waiting external service task with the worker's variables and advance the workflow."""
        task = self._task(task_id)
        if task.state != TaskState.READY or not isinstance(task.task_spec, ExternalServiceTask):
            raise Conflict(f"external task {task_id} is not waiting (state {TaskState.get_name(task.state)})")
        try:
            task.set_data(**data)  # the same path as a user task's completion data
            task.run()
        except (SpiffWorkflowException, SandboxViolation) as exc:
            raise translate_errors(exc) from exc
        self.advance()

    def catch_message(self, name: str, payload: dict[str, Any], sender: str | None = None) -> bool:
        """Deliver a message (from ``sender``) to this workflow; return False if nothing waits for it."""
        for task in list(self.workflow.event_manager.tasks.values()):
            for definition in _definitions(task.task_spec.event_definition):
                if isinstance(definition, MessageEventDefinition) and definition.name == name:
                    event = BpmnEvent(definition, payload=from_outside(payload, sender))
                    try:
                        self.workflow.catch(event)
                    except (SpiffWorkflowException, SandboxViolation) as exc:
                        raise translate_errors(exc) from exc
                    self.advance()
                    return True
        for start, definition in message_starts(self.workflow):
            if definition.name == name:
                # workflow.catch starts the event subprocess that this message starts (SpiffWorkflow's trigger).
                # The event subprocess is started from the process's root task: give it the instance's data as of now.
                self.workflow.task_tree.data.update(self.data())
                try:
                    if is_interrupting(start):
                        interrupt(self.workflow)
                    self.workflow.catch(BpmnEvent(definition, payload=from_outside(payload, sender)))
                except (SpiffWorkflowException, SandboxViolation) as exc:
                    raise translate_errors(exc) from exc
                self.advance()
                if self.workflow.is_completed():
                    finish_with_event_subprocess(self.workflow, start)
                return True
        return False

    def fire_timers(self) -> None:
        """Re-check every waiting timer against the engine clock and run what follows."""
        try:
            self.workflow.refresh_timers()
        except (SpiffWorkflowException, SandboxViolation) as exc:
            raise translate_errors(exc) from exc
        self.advance()

    def update_data(self, changes: dict[str, Any]) -> None:
        """Set variables on every waiting and ready task (an operator's data fix)."""
        for task in self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
            task.set_data(**changes)
        if self.workflow.last_task is not None:
            self.workflow.last_task.set_data(**changes)

    def reopen(self, task_id: str, data: dict[str, Any] | None = None) -> None:
        """Make a completed user task ready again, dropping what ran after it (None data: its data before it ran)."""
        rewind.reset_to(self.workflow, task_id, data)
        self.advance()

    def earlier_steps(self, task_id: str) -> list[rewind.EarlierStep]:
        """Return the completed user tasks on the path to open task ``task_id``, nearest first."""
        return rewind.earlier_steps(self.workflow, task_id)

    def earlier_step(self, task_id: str, element_id: str) -> rewind.EarlierStep:
        """Return the latest run of ``element_id`` on the path to ``task_id`` (Conflict if it never led there)."""
        return rewind.earlier_step(self.workflow, task_id, element_id)

    def successors(self, task_id: str) -> list[rewind.Successor]:
        """Return what ran or waits after completed task ``task_id``."""
        return rewind.successors(self.workflow, task_id)

    def cancel(self) -> None:
        """Cancel the whole workflow."""
        self.workflow.cancel()

    # -- views ------------------------------------------------------------
    @property
    def completed(self) -> bool:
        """Return True when the workflow has reached its end."""
        return bool(self.workflow.completed)

    def open_tasks(self) -> list[Any]:
        """Return the ready and waiting tasks, in subprocesses too, in tree order: one walk of the task tree, which
        ``ready_tasks``, ``waiting_external_tasks`` and ``data`` can share while the workflow does not change."""
        return list(self.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING))

    def _ready(self, open_tasks: list[Any] | None) -> list[Any]:
        if open_tasks is None:
            return list(self.workflow.get_tasks(state=TaskState.READY))
        return [t for t in open_tasks if t.state == TaskState.READY]

    def ready_tasks(self, open_tasks: list[Any] | None = None) -> list[ReadyTask]:
        """Return every ready user/manual task, in subprocesses too (from ``open_tasks`` when given)."""
        return [self._ready_view(t) for t in self._ready(open_tasks) if isinstance(t.task_spec, (UserTask, ManualTask))]

    def waiting_external_tasks(self, open_tasks: list[Any] | None = None) -> list[WaitingExternalTask]:
        """Return every external service task waiting for a worker, in subprocesses too (from ``open_tasks``)."""
        return [
            WaitingExternalTask(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name or t.task_spec.bpmn_id,
                                t.task_spec.topic, dict(t.data))
            for t in self._ready(open_tasks)
            if isinstance(t.task_spec, ExternalServiceTask)
        ]

    def waiting_timers(self) -> list[WaitingTimer]:
        """Return every timer the workflow is waiting on with its stored due time."""
        result = []
        for task in self.workflow.event_manager.tasks.values():
            spec = task.task_spec
            for index, definition in enumerate(_definitions(spec.event_definition)):
                if not isinstance(definition, TimerEventDefinition):
                    continue
                value = task._get_internal_data("event_value")
                cycle = isinstance(definition, CycleTimerEventDefinition)
                due = cycle_due(value) if cycle else (datetime.fromisoformat(value) if value else None)
                kind, attached = _timer_kind(task)
                element = spec
                if type(spec).__name__ == "EventBasedGateway" and index < len(spec.outputs):
                    # The gateway holds its branches' event definitions, in the order of its outputs.
                    element, kind = spec.outputs[index], "event_gateway"
                name = element.bpmn_name or element.bpmn_id
                result.append(WaitingTimer(str(task.id), element.bpmn_id, name, kind, due, cycle, attached,
                                           calendar_use(task._get_internal_data("event_calendar"))))
        return result

    def reschedule_timers(self, changed: set[date], now: datetime) -> list[Rescheduled]:
        """Recompute the waiting timers whose due time was computed over one of ``changed`` days (not those already due)."""
        return reschedule_timers(self.workflow, changed, now)

    def fired_timers(self) -> list[FiredTimer]:
        """Return (and forget) the timers that fired since the last call, in order."""
        fired = self.workflow.__dict__.pop("_bpm_fired_timers", [])
        result = []
        for task, definition, due, at in fired:
            spec = task.task_spec
            kind, _attached = _timer_kind(task)
            element = spec
            if type(spec).__name__ == "EventBasedGateway":
                items = _definitions(spec.event_definition)
                index = next((i for i, d in enumerate(items) if d is definition), -1)
                if 0 <= index < len(spec.outputs):
                    element, kind = spec.outputs[index], "event_gateway"
            result.append(FiredTimer(str(task.id), element.bpmn_id, kind, due, at))
        return result

    def waiting_messages(self) -> list[WaitingMessage]:
        """Return every message catch event the workflow is waiting on."""
        result = []
        for task in self.workflow.event_manager.tasks.values():
            for definition in _definitions(task.task_spec.event_definition):
                if isinstance(definition, MessageEventDefinition):
                    result.append(WaitingMessage(str(task.id), task.task_spec.bpmn_id, definition.name))
        for start, definition in message_starts(self.workflow):
            result.append(WaitingMessage(subscription_id(self.workflow, start), start.bpmn_id, definition.name))
        return result

    def data(self, open_tasks: list[Any] | None = None) -> dict[str, Any]:
        """Return the instance's current data: the end data, or the latest completed task's (``open_tasks``: as
        ``open_tasks()`` returned them, if the workflow has not changed since)."""
        if self.workflow.completed:
            return dict(self.workflow.data)
        # Parallel branches each carry their own copy of the data: overlay the open branches'
        # data (oldest first) on the latest completed task's, so every branch's values show.
        last = self.workflow.last_task
        merged = dict(last.data if last is not None else self.workflow.task_tree.data)
        if open_tasks is None:
            open_tasks = self.open_tasks()
        for task in sorted(open_tasks, key=lambda t: t.last_state_change):
            merged.update(task.data)
        if last is not None:
            merged.update(last.data)
        return merged

    def task_data(self, task_id: str) -> dict[str, Any]:
        """Return the data a task sees."""
        return dict(self._task(task_id).data)

    def task_is_open(self, task_id: str) -> bool:
        """Return True if the task exists and waits for a person."""
        task = self.workflow.get_task_from_id(UUID(task_id))
        return task is not None and task.state == TaskState.READY

    # -- helpers ----------------------------------------------------------
    def _task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError):
            task = None
        if task is None:
            raise WorkflowError(f"task {task_id} is not part of this instance")
        return task

    @staticmethod
    def _ready_view(task: Any) -> ReadyTask:
        spec = task.task_spec
        form = getattr(spec, "form", None)
        form_key = getattr(form, "key", None) or None
        return ReadyTask(
            id=str(task.id),
            element_id=spec.bpmn_id,
            title=spec.bpmn_name or spec.bpmn_id,
            lane=spec.lane,
            form_key=form_key,
            process_id=task.workflow.spec.name,
            data=task.data,
        )

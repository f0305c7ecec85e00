"""Moving a running workflow onto another version of its process (SpiffWorkflow has no migration of its own).

The workflow keeps its task tree and task ids; each task is re-pointed at the task spec of the new version with the
same (or the mapped) BPMN id. What the old version merely predicted (FUTURE/LIKELY/MAYBE tasks below open ones) is
dropped and predicted again from the new version, so the instance goes on along the new paths. A finished step whose
element is gone from the new version is cut out of the history tree (its children hang from its parent): the document
can only name specs the version has. Nothing runs during a migration; waiting timers get their due time recomputed
from the new definition, as of when they began waiting.

Refused (the workflow stays as it is): an open step whose element is gone and unmapped, or mapped to an element of
another kind; a waiting event whose event changed kind (timer → message …); an open activity whose boundary events
changed; a subprocess or call activity whose process is missing from, or changed name in, the new version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState

from engine.clock import clock_at
from engine.runtime.timers import EngineCycle, _DueTimerMixin, compute_due, next_working_occurrence, parse_cycle

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PREDICTED = TaskState.FUTURE | TaskState.LIKELY | TaskState.MAYBE
SPLIT = ".BoundaryEventSplit"


@dataclass(frozen=True)
class Blocked:
    """Why a workflow cannot move: a code, the element concerned, other facts, and the reason in English."""

    code: str  # gone | mapped_missing | kind | mapped_kind | event_kind | boundary | subprocess_missing | subprocess_changed
    element: str
    text: str
    facts: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class MovedTimer:
    """A waiting timer whose due time was computed again from the new version."""

    task_id: str
    element_id: str
    old: datetime | None
    new: datetime | None


def target_name(name: str, mapping: dict[str, str]) -> str:
    """Return the new version's spec name for an old spec name (``check.BoundaryEventSplit`` follows ``check``)."""
    if name in mapping:
        return mapping[name]
    head, dot, tail = name.partition(".")
    if dot and head in mapping:
        return f"{mapping[head]}.{tail}"
    return name


def element_ids(bundle: Any) -> set[str]:
    """Return every BPMN element id of a spec bundle (the process and the processes it runs inside)."""
    ids: set[str] = set()
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        ids.update(s.bpmn_id for s in spec.task_specs.values() if getattr(s, "bpmn_id", None))
    return ids


def element_kinds(bundle: Any) -> dict[str, str]:
    """Return each BPMN element id of a spec bundle with its kind in words ("user task" …)."""
    kinds: dict[str, str] = {}
    for spec in (bundle.spec, *bundle.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            if getattr(task_spec, "bpmn_id", None):
                kinds.setdefault(task_spec.bpmn_id, _kind(task_spec))
    return kinds


def _kind(spec: Any) -> str:
    """Return a spec's kind in words ("user task", "timer intermediate catch event")."""
    described = getattr(spec, "description", None)
    return str(described or re.sub(r"(?<!^)(?=[A-Z])", " ", type(spec).__name__)).lower()


def _label(spec: Any) -> str:
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def _event_kinds(spec: Any) -> list[str]:
    definition = getattr(spec, "event_definition", None)
    if definition is None:
        return []
    items = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
    return [_event_word(d) for d in items]


def _event_word(definition: Any) -> str:
    if isinstance(definition, TimerEventDefinition):
        return "timer"
    return re.sub(r"^Engine|EventDefinition$", "", type(definition).__name__).lower() or "event"


def _is_open(task: Any) -> bool:
    if task.has_state(OPEN):
        return True
    # A FUTURE task under a finished parent is about to run, not a prediction.
    return bool(task.has_state(TaskState.FUTURE) and (task.parent is None or task.parent.has_state(TaskState.FINISHED_MASK)))


def _workflows(workflow: Any) -> Iterator[tuple[Any, Any | None]]:
    """Yield the top workflow and each subworkflow with its parent task (None for the top)."""
    yield workflow, None
    for parent_id, sub in workflow.subprocesses.items():
        yield sub, workflow.get_task_from_id(parent_id)


def _new_spec_of(workflow: Any, sub: Any, parent: Any | None, new: Any,
                 mapping: dict[str, str]) -> tuple[Any | None, Blocked | None]:
    """Return the new version's spec for a (sub)workflow, or None with why not."""
    if parent is None:
        return new.spec, None
    new_parent = _spec_in(parent.workflow, parent.task_spec.name, new, mapping)
    name = getattr(new_parent, "spec", None) if new_parent is not None else None
    if name is None or name not in new.subprocess_specs:
        return None, Blocked("subprocess_missing", _label(parent.task_spec),
                             f"subprocess {_label(parent.task_spec)}: its process {sub.spec.name!r} is not part of the "
                             "new version", (("process", sub.spec.name),))
    if name != sub.spec.name:
        return None, Blocked("subprocess_changed", _label(parent.task_spec),
                             f"{_label(parent.task_spec)} now runs {name!r} instead of {sub.spec.name!r}; not supported",
                             (("process", sub.spec.name), ("new_process", name)))
    return new.subprocess_specs[name], None


def _spec_in(workflow: Any, name: str, new: Any, mapping: dict[str, str]) -> Any | None:
    """Return the new spec of a task spec named ``name`` in ``workflow`` (top or sub), or None."""
    top = workflow.top_workflow if hasattr(workflow, "top_workflow") and workflow.top_workflow is not None else workflow
    if workflow is top:
        return new.spec.task_specs.get(target_name(name, mapping))
    new_sub = new.subprocess_specs.get(workflow.spec.name)
    return new_sub.task_specs.get(target_name(name, mapping)) if new_sub is not None else None


def open_elements(workflow: Any) -> list[str]:
    """Return the BPMN ids of the steps an instance stands on (ready, waiting or started; not the boundary events)."""
    seen: list[str] = []
    for sub, _parent in _workflows(workflow):
        for task in sub.tasks.values():
            if not task.has_state(OPEN) or isinstance(task.task_spec, BoundaryEvent):
                continue
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id and bpmn_id not in seen:
                seen.append(bpmn_id)
    return seen


def blocked_reason(workflow: Any, new: Any, mapping: dict[str, str]) -> Blocked | None:
    """Return why ``workflow`` cannot move onto spec bundle ``new`` with ``mapping``, or None if it can."""
    for sub, parent in _workflows(workflow):
        if parent is not None and parent.has_state(TaskState.FINISHED_MASK):
            continue  # a finished subprocess is history
        new_spec, why = _new_spec_of(workflow, sub, parent, new, mapping)
        if why:
            return why
        for task in list(sub.tasks.values()):
            if not _is_open(task):
                continue
            reason = _task_reason(task, sub.spec, new_spec, mapping)
            if reason:
                return reason
    return None


def _task_reason(task: Any, old_spec: Any, new_spec: Any, mapping: dict[str, str]) -> Blocked | None:
    spec = task.task_spec
    name = target_name(spec.name, mapping)
    candidate = new_spec.task_specs.get(name)
    label = _label(spec)
    mapped = spec.name in mapping or (getattr(spec, "bpmn_id", None) in mapping)
    if candidate is None:
        if mapped:
            return Blocked("mapped_missing", label, f"{label} is mapped to {name!r}, which is not in the new version",
                           (("target", name),))
        return Blocked("gone", label, f"current step {label} is gone from the new version and not mapped")
    if type(candidate) is not type(spec):
        if mapped:
            return Blocked("mapped_kind", label, f"{label} ({_kind(spec)}) is mapped to {_label(candidate)} "
                           f"({_kind(candidate)}), an element of another kind", (("target", _label(candidate)),))
        return Blocked("kind", label, f"current step {label} changed kind: {_kind(spec)} → {_kind(candidate)}")
    if task.has_state(TaskState.WAITING) and _event_kinds(spec) != _event_kinds(candidate):
        old_kind = "/".join(_event_kinds(spec)) or "event"
        new_kind = "/".join(_event_kinds(candidate)) or "none"
        what = "waiting timer" if "timer" in _event_kinds(spec) else "waiting event"
        return Blocked("event_kind", label, f"{what} {label} changed kind: {old_kind} → {new_kind}",
                       (("old", old_kind), ("new", new_kind)))
    if task.has_state(TaskState.READY | TaskState.STARTED) and getattr(spec, "bpmn_id", None):
        old_split = old_spec.task_specs.get(spec.name + SPLIT)
        new_split = new_spec.task_specs.get(candidate.name + SPLIT)
        before = sorted(target_name(o.name, mapping) for o in old_split.outputs if o.name != spec.name) if old_split else []
        after = sorted(o.name for o in new_split.outputs if o.name != candidate.name) if new_split else []
        if before != after:
            return Blocked("boundary", label, f"the boundary events on current step {label} changed "
                           f"({', '.join(before) or 'none'} → {', '.join(after) or 'none'}); not supported")
    return None


def migrate_workflow(workflow: Any, new: Any, mapping: dict[str, str],
                     basis: Callable[[str], datetime | None]) -> list[MovedTimer]:
    """Move ``workflow`` onto spec bundle ``new`` in place (check ``blocked_reason`` first); return the timers recomputed.

    ``basis`` tells, per waiting timer task id, when it began waiting (None: now); its due time is computed as of then.
    """
    if (reason := blocked_reason(workflow, new, mapping)) is not None:
        raise ValueError(str(reason))
    plan = []
    for sub, parent in list(_workflows(workflow)):
        new_spec, _why = _new_spec_of(workflow, sub, parent, new, mapping)
        plan.append((sub, parent, new_spec))
    workflow.spec = new.spec
    workflow.subprocess_specs = new.subprocess_specs
    for sub, parent, new_spec in plan:
        if parent is not None and parent.id not in workflow.subprocesses:
            continue  # dropped along with its gone parent step
        if new_spec is None:
            workflow.delete_subprocess(parent)  # a finished subprocess of a process the new version no longer has
            continue
        _move(workflow, sub, new_spec, mapping)
    return _recompute_timers(workflow, basis)


def _move(top: Any, workflow: Any, new_spec: Any, mapping: dict[str, str]) -> None:
    """Re-point one (sub)workflow's tasks at ``new_spec``: drop predictions, cut out gone history, predict again."""
    open_tasks = [t for t in list(workflow.tasks.values()) if _is_open(t)]
    for task in open_tasks:
        if task.children and all(c.has_state(PREDICTED) for c in task.children):
            for child in list(task.children):
                workflow._remove_task(child.id)
    workflow.spec = new_spec
    for task in list(workflow.tasks.values()):
        if task.id not in workflow.tasks:
            continue
        candidate = new_spec.task_specs.get(target_name(task.task_spec.name, mapping))
        if candidate is not None:
            task.task_spec = candidate
        elif task.has_state(PREDICTED):
            workflow._remove_task(task.id)
        else:
            _cut_out(top, workflow, task)
    for task in open_tasks:
        if task.id in workflow.tasks and not task.children:
            task.task_spec._predict(task, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE | task.state)


def _cut_out(top: Any, workflow: Any, task: Any) -> None:
    """Remove a finished task whose element is gone, keeping its children under its parent."""
    parent = task.parent
    if task.id in top.subprocesses:
        top.delete_subprocess(task)
    if parent is None:
        raise ValueError(f"the first step of the workflow ({task.task_spec.name}) is gone")
    at = parent._children.index(task.id)
    parent._children[at:at + 1] = list(task._children)
    for child in task.children:
        child._parent = parent.id
    del workflow.tasks[task.id]
    if workflow.last_task is task:
        workflow.last_task = parent


def _recompute_timers(workflow: Any, basis: Callable[[str], datetime | None]) -> list[MovedTimer]:
    """Compute each waiting timer's due time again from its (new) expression, as of when it began waiting."""
    engine = workflow.script_engine
    moved = []
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        items = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        timer = next((d for d in items if isinstance(d, (EngineCycle, _DueTimerMixin))), None)
        if timer is None:
            continue
        old = task._get_internal_data("event_value")
        when = basis(str(task.id)) or engine.now()
        if isinstance(timer, EngineCycle):
            # A cycle starts again from now: its repetitions are those of the new definition.
            now = engine.now()
            state = parse_cycle(engine.evaluate(task, timer.expression), now, engine.tz)
            if state.get("at"):
                state["next"] = next_working_occurrence(task, now, state["at"]).isoformat()
            task._set_internal_data(event_value=state, event_fired=False)
            moved.append(MovedTimer(str(task.id), task.task_spec.bpmn_id, _due(old), _due(state)))
            continue
        with clock_at(engine.clock, when):
            due = compute_due(task, timer.expression)
        task._set_internal_data(event_value=due.isoformat())
        moved.append(MovedTimer(str(task.id), task.task_spec.bpmn_id, _due(old), due))
    return moved


def _due(value: Any) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    if isinstance(value, dict) and value.get("next"):
        return datetime.fromisoformat(value["next"])
    return None

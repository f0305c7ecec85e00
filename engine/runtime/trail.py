"""Where one workflow has been: the elements it finished, the steps it moved along, where it waits now.

Read from the task tree of the workflow document (one instance's page; never for lists). SpiffWorkflow puts
bookkeeping tasks between BPMN elements (boundary-event splits and joins, the start and end tasks); a step runs
from a finished element through those to the next element that was reached. Subprocesses drawn in the same
file are walked too; a called process from another file is not (its element ids mean nothing in this diagram).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.util.task import TaskState

REACHED = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass(frozen=True)
class Trail:
    """Element ids a workflow finished or now waits at, and the (source, target) steps it took between elements."""

    finished: frozenset[str]
    reached: frozenset[str]
    waiting_events: frozenset[str]
    steps: frozenset[tuple[str, str]]
    finished_count: dict[str, int]


def _element(task: Any) -> str | None:
    bpmn_id = getattr(task.task_spec, "bpmn_id", None)
    return str(bpmn_id) if bpmn_id else None


def _arrived(task: Any) -> bool:
    """Return True if the token got to ``task``: it ran or runs, or it is a join branch another branch finished."""
    if task.has_state(TaskState.COMPLETED | REACHED):
        return True
    # A parallel join keeps one task per arriving branch and cancels all but the one that fires.
    return task.has_state(TaskState.CANCELLED) and isinstance(task.task_spec, Join)


def _next_elements(task: Any) -> list[Any]:
    """Return the element tasks reached from ``task``, looking through bookkeeping tasks that finished."""
    found, stack = [], list(task.children)
    while stack:
        child = stack.pop()
        if not _arrived(child):
            continue
        if _element(child):
            found.append(child)
        elif child.has_state(TaskState.COMPLETED):
            stack.extend(child.children)
    return found


def _trees(workflow: BpmnWorkflow) -> list[Any]:
    top_file = getattr(workflow.spec, "file", None)
    trees = [workflow]
    for sub in workflow.subprocesses.values():
        if getattr(sub.spec, "file", None) == top_file:
            trees.append(sub)
    return trees


def walk_trail(workflow: BpmnWorkflow) -> Trail:
    """Return where ``workflow`` (and the subprocesses drawn in its file) has been and where it is now."""
    finished: set[str] = set()
    reached: set[str] = set()
    waiting: set[str] = set()
    steps: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    for tree in _trees(workflow):
        stack = [tree.task_tree]
        while stack:  # iterative: a long-running loop makes a deep tree
            task = stack.pop()
            stack.extend(task.children)
            element = _element(task)
            if element is None:
                continue
            if task.has_state(TaskState.COMPLETED):
                finished.add(element)
                counts[element] = counts.get(element, 0) + 1
                steps.update((element, target) for target in filter(None, map(_element, _next_elements(task))))
            elif task.has_state(REACHED):
                reached.add(element)
                if task.has_state(TaskState.WAITING) and isinstance(task.task_spec, CatchingEvent):
                    waiting.add(element)
    return Trail(frozenset(finished), frozenset(reached), frozenset(waiting), frozenset(steps), counts)

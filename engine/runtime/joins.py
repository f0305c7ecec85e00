"""Joining parallel branches without losing what a branch wrote.

SpiffWorkflow gives every branch its own copy of the data. At a parallel join it
merges the other branches' copies and then lays the arriving branch's copy on top, so a
variable one branch changed is overwritten by the stale value the arriving branch still
carries from before the split; in a loop, branches of earlier passes are merged in too. A
process variable changed in one branch would silently revert — not what anyone who draws
a parallel gateway (or knows Camunda's process variables) expects.

Our parallel join merges three-way: for each branch that arrived in this activation of the join
(oldest first), the variables it changed since the split it forked at are applied; the
arriving branch's own changes win over the others'. Branches of earlier passes are left out.
(Inclusive gateways keep SpiffWorkflow's merge; none of the shipped processes uses one.)
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.task_spec import ParallelGatewayConverter
from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway
from SpiffWorkflow.util.task import TaskState


def merge_branches(spec: Any, my_task: Any) -> None:
    """Give ``my_task`` (the join task that fires) the data of all branches of this activation."""
    previous = my_task.find_ancestor(spec.name)  # this join's last activation on my path, if it looped
    arrived = [t for t in my_task.workflow.tasks.values()
               if t.task_spec is spec and t is not my_task and t.has_state(TaskState.FINISHED_MASK)
               and not my_task.is_descendant_of(t) and (previous is None or t.is_descendant_of(previous))]
    mine = my_task.parent.data
    lineage = _ancestor_ids(my_task)
    merged = deepcopy(mine)
    for other in sorted(arrived, key=lambda t: t.last_state_change):
        base = _fork(other, lineage).data
        for key, value in other.parent.data.items():
            changed_there = key not in base or base[key] != value
            changed_here = key in mine and (key not in base or base[key] != mine[key])
            if changed_there and not changed_here:
                merged[key] = deepcopy(value)
        if other.has_state(TaskState.COMPLETED):
            other._drop_children(force=True)  # as SpiffWorkflow does: a completed twin must not run on
    my_task.data = merged


def _ancestor_ids(task: Any) -> set[Any]:
    ids, current = set(), task.parent
    while current is not None:
        ids.add(current.id)
        current = current.parent
    return ids


def _fork(task: Any, lineage: set[Any]) -> Any:
    """Return the nearest ancestor of ``task`` that is also an ancestor of the joining task (where they forked)."""
    current = task.parent
    while current.id not in lineage:
        current = current.parent
    return current


class EngineParallelGateway(ParallelGateway):  # type: ignore[misc]
    """A parallel gateway whose join keeps every branch's changes."""

    def _run_hook(self, my_task: Any) -> bool:
        merge_branches(self, my_task)
        return True


JOIN_CLASSES: dict[type, type] = {ParallelGateway: EngineParallelGateway}


class _ParallelGatewayConverter(ParallelGatewayConverter):  # type: ignore[misc]
    """Stores our parallel gateway under SpiffWorkflow's name, so specs saved before and after read the same."""

    def __init__(self, target_class: type, registry: Any, typename: str | None = None):
        super().__init__(target_class, registry, "ParallelGateway")


JOIN_CONVERTERS: dict[type, type] = {EngineParallelGateway: _ParallelGatewayConverter}

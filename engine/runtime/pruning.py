"""Keep a looping workflow's task tree from growing with every pass.

SpiffWorkflow appends each pass of a loop below the previous one, so an instance that has
gone round a loop a thousand times drags a thousand passes of finished tasks through every
step, save and load. The audit trail already holds that history; the task tree only needs
what can still matter.

The rule: follow the tree from the root along the tasks whose subtree still has something
unsettled (ready, waiting, started, future). Where that path runs through finished tasks
only, and a task spec comes round again on it, the tasks after its first occurrence up to
and including the repeat are cut out, and the repeat's continuation is hung under the first
occurrence — which has the same spec, so the tree stays a valid path through the diagram.
A cut-out task takes along its side branches, which are settled by construction (completed,
cancelled, or mere predictions), and the finished subprocesses they ran. Nothing waiting,
ready or running is touched, nor any task a live one could still look back to: a parallel
split whose branches are not all done is never on a cut, because it has two unsettled children.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

SETTLED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.PREDICTED_MASK


def prune_history(workflow: BpmnWorkflow) -> int:
    """Cut repeated finished passes out of the workflow and its subprocesses; return how many tasks were removed."""
    removed = _prune_tree(workflow, workflow)
    for key in list(workflow.subprocesses):
        subprocess = workflow.subprocesses.get(key)
        if subprocess is not None:  # a cut above may have removed it
            removed += _prune_tree(workflow, subprocess)
    return removed


def _prune_tree(top: BpmnWorkflow, tree: Any) -> int:
    if not _completed_spec_repeats(tree):
        return 0
    unsettled = _unsettled_subtrees(tree)
    return sum(_cut_repeats(top, tree, corridor, continuation) for corridor, continuation in _corridors(tree.task_tree, unsettled))


def _completed_spec_repeats(tree: Any) -> bool:
    """Whether two completed tasks of the tree share a spec: a cut needs two on one corridor (which holds completed
    tasks only), so without such a pair there is nothing to cut, and the walks below are skipped (most saves)."""
    seen: set[Any] = set()
    for task in tree.tasks.values():
        if task.state == TaskState.COMPLETED:
            if task.task_spec in seen:
                return True
            seen.add(task.task_spec)
    return False


def _unsettled_subtrees(tree: Any) -> set[Any]:
    """Return the ids of tasks whose subtree holds a task that is not settled (iteratively: trees can be deep)."""
    order, stack = [], [tree.task_tree]
    while stack:
        task = stack.pop()
        order.append(task)
        stack.extend(task.children)
    unsettled: set[Any] = set()
    for task in reversed(order):  # children before parents
        if not task.has_state(SETTLED) or any(child_id in unsettled for child_id in task._children):
            unsettled.add(task.id)
    return unsettled


def _corridors(root: Any, unsettled: set[Any]) -> list[tuple[list[Any], Any]]:
    """Return each run of completed tasks of which every one has exactly one unsettled child (the next), with the
    task the run leads to."""
    corridors: list[tuple[list[Any], Any]] = []
    starts = [root] if root.id in unsettled else []
    while starts:
        task, run = starts.pop(), []
        while task.state == TaskState.COMPLETED:
            open_children = [c for c in task.children if c.id in unsettled]
            if len(open_children) != 1:
                break
            run.append(task)
            task = open_children[0]
        if len(run) > 1:
            corridors.append((run, task))
        starts.extend(c for c in task.children if c.id in unsettled)
    return corridors


def _cut_repeats(top: BpmnWorkflow, tree: Any, corridor: list[Any], continuation: Any) -> int:
    """Keep each spec's first occurrence on the corridor; cut from after it through its repeat.

    The first occurrence takes over the repeat's data (what its successor inherited), and its
    place as the workflow's last completed task.
    """
    kept: list[Any] = []
    position: dict[Any, int] = {}
    doomed: list[Any] = []
    for task in corridor:
        first = position.get(task.task_spec)
        if first is None:
            position[task.task_spec] = len(kept)
            kept.append(task)
            continue
        survivor = kept[first]
        survivor.data, survivor.last_state_change = task.data, task.last_state_change
        if tree.last_task is task:
            tree.last_task = survivor
        doomed += [*kept[first + 1:], task]
        for later in kept[first + 1:]:
            del position[later.task_spec]
        del kept[first + 1:]
    if not doomed:
        return 0
    doomed_ids = {t.id for t in doomed}
    chain = [*kept, continuation]
    for parent, child in pairwise(chain):
        if child._parent != parent.id:
            parent._children = [child.id if c in doomed_ids else c for c in parent._children]
            child._parent = parent.id
    return sum(_drop(top, tree, task) for task in doomed)


def _drop(top: BpmnWorkflow, tree: Any, task: Any) -> int:
    """Remove a cut-out task with its side branches (settled) and the finished subprocesses they ran."""
    count, stack = 0, [task]
    while stack:
        current = stack.pop()
        stack.extend(c for c in (tree.tasks.get(i) for i in current._children) if c is not None and c._parent == current.id)
        if current.id in top.subprocesses:
            top.delete_subprocess(current)
        if tree.tasks.pop(current.id, None) is not None:
            count += 1
        if tree.last_task is current:
            tree.last_task = None
    return count

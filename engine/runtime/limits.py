"""Lift SpiffWorkflow's task-iterator depth cap, which silently stalls long-looping instances.

Every pass through a loop adds its tasks below the previous pass in the task tree, and
``TaskIterator`` stops descending at depth 1,000: a 4-task loop then stops seeing its ready
task after ~250 passes — the instance stays "running" with no open task and no error
(measured by bench/growth.py). The iterator walks the tree with an explicit list, not by
recursion, so a larger cap costs nothing until a tree is that deep.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator

MAX_TREE_DEPTH = 1_000_000


def lift_depth_cap() -> None:
    """Make the default ``max_depth`` of SpiffWorkflow's task iterators effectively unlimited."""
    for cls in (TaskIterator, BpmnTaskIterator):
        defaults = list(cls.__init__.__defaults__ or ())
        # Both signatures: (self, task, end_at_spec=None, max_depth=1000, ...)
        if len(defaults) >= 2 and defaults[1] != MAX_TREE_DEPTH:
            defaults[1] = MAX_TREE_DEPTH
            cls.__init__.__defaults__ = tuple(defaults)

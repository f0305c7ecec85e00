"""Rewrite a validated BPMN tree (a private copy) into what SpiffWorkflow runs the way we mean it.

- processes marked ``isExecutable="false"`` are drawings: they are removed before parsing, so
  nothing in them (data stores, empty timers…) can stop the executable ones from deploying;
- a plain ``bpmn:task`` and a ``bpmn:manualTask`` pass straight through (BPMN's abstract-task
  meaning): SpiffWorkflow would leave them ready for someone to complete, which here nobody
  could, so they become none intermediate throw events with the same id and name;
- a script task with ``camunda:resultVariable`` stores its expression's value in that variable.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
_KEEP = {f"{{{BPMN}}}{tag}" for tag in ("incoming", "outgoing", "documentation", "extensionElements")}


def is_executable(process: Any) -> bool:
    """Return True unless the process says ``isExecutable="false"``."""
    return str(process.get("isExecutable", "true")).strip().lower() != "false"


def prepare_tree(tree: Any) -> None:
    """Apply the rewrites above to ``tree`` in place."""
    removed = set()
    for process in list(tree.iter(f"{{{BPMN}}}process")):
        if not is_executable(process):
            removed.add(process.get("id"))
            process.getparent().remove(process)
    if removed:  # their pools and message flows go too; the engine correlates messages itself
        for collaboration in list(tree.iter(f"{{{BPMN}}}collaboration")):
            collaboration.getparent().remove(collaboration)
    for node in list(tree.iter(f"{{{BPMN}}}task", f"{{{BPMN}}}manualTask")):
        node.tag = f"{{{BPMN}}}intermediateThrowEvent"
        for child in list(node):
            if child.tag not in _KEEP:
                node.remove(child)
    for task in tree.iter(f"{{{BPMN}}}scriptTask"):
        variable = (task.get(f"{{{CAMUNDA}}}resultVariable") or "").strip()
        script = task.find(f"{{{BPMN}}}script")
        if variable and script is not None and (script.text or "").strip():
            script.text = f"{variable} = ({script.text.strip()})"


def finished_elements(workflow: Any, element_ids: set[str]) -> list[tuple[str, str]]:
    """Return ``(task id, element id)`` of the workflow's finished tasks of the given elements, oldest first."""
    if not element_ids:
        return []
    tasks = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id in element_ids]
    return [(str(t.id), str(t.task_spec.bpmn_id)) for t in sorted(tasks, key=lambda t: t.last_state_change)]


def passed_data(workflow: Any, task_id: str) -> dict[str, Any]:
    """Return the data a finished task (one of :func:`finished_elements`) held when it finished."""
    try:
        return dict(workflow.get_task_from_id(UUID(task_id)).data)
    except TaskNotFoundException:
        return {}

"""Step helpers shared by the process scenario tests: find, check and complete tasks; read timers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import Engine


def open_tasks(engine: Engine, instance_id: int) -> dict[str, Any]:
    """Return the instance's open tasks by element id (each element at most once)."""
    tasks = engine.tasks(instance_id=instance_id)
    by_element = {t.element_id: t for t in tasks}
    assert len(by_element) == len(tasks), tasks
    undated = [t.element_id for t in tasks if t.due_at is None]
    assert not undated, f"no due date: {undated}"  # every human step has a deadline
    return by_element


def only_task(engine: Engine, instance_id: int, element_id: str, group: str) -> Any:
    """Assert the instance has exactly this one open task and return it."""
    tasks = engine.tasks(instance_id=instance_id)
    assert [(t.element_id, t.group) for t in tasks] == [(element_id, group)], tasks
    assert tasks[0].due_at is not None, f"{element_id} has no due date"  # every human step has a deadline
    return tasks[0]


def complete(engine: Engine, instance_id: int, element_id: str, group: str, data: dict, user: str) -> Any:
    """Complete the instance's only open task, checking which task it is."""
    task = only_task(engine, instance_id, element_id, group)
    engine.complete(task.id, data, user)
    return task


def timers(engine: Engine, instance_id: int) -> list[tuple[str, str, datetime]]:
    """Return the instance's pending timers as (element id, kind, due)."""
    return [(t.element_id, t.kind, t.due_at) for t in engine.timers(instance_id=instance_id)]

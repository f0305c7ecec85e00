"""Recompute deadlines after a calendar change: timers and task due dates computed over the changed days.

Every timer and task due date remembers the calendar days its computation consulted (and as of
which instant it was computed). When days change — typically an official year replacing the
provisional estimate — the deadlines computed over them are evaluated again from their
expressions, as of that same instant, one instance per transaction, each move audited
(``timer_rescheduled`` / ``due_rescheduled`` with the old and new time). A deadline that has
already passed stays where it is: a due timer is not moved back into the future.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.clock import clock_at
from engine.persistence import HumanTask, ProcessDefinition, Timer
from engine.runtime import evaluate_due_traced
from engine.services import audit
from engine.services.context import context_of, now
from engine.services.loading import load_instance, save_instance
from engine.services.projections import timer_calendar_columns
from engine.services.timers import start_due

ACTOR = "calendar"


@dataclass(frozen=True)
class Rescheduled:
    """One deadline that moved: a timer (of an instance, or a process's start schedule) or a task's due date."""

    instance_id: int | None
    process_key: str
    kind: str  # timer | task | start_timer
    element_id: str
    old: datetime
    new: datetime

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"instance_id": self.instance_id, "process_key": self.process_key, "kind": self.kind,
                "element_id": self.element_id, "old": self.old.isoformat(), "new": self.new.isoformat()}


def _overlaps(first: InstrumentedAttribute[date | None], last: InstrumentedAttribute[date | None],
              changed: set[date]) -> ColumnElement[bool]:
    return and_(first <= max(changed), last >= min(changed))


def affected_instances(session: Session, changed: set[date]) -> list[int]:
    """Return the running instances with a waiting timer or open task computed over the range of ``changed``."""
    if not changed:
        return []
    timers = select(Timer.instance_id).where(
        Timer.status == "waiting", Timer.instance_id.is_not(None),
        _overlaps(Timer.due_calendar_from, Timer.due_calendar_to, changed))
    tasks = select(HumanTask.instance_id).where(
        HumanTask.status == "open", _overlaps(HumanTask.due_calendar_from, HumanTask.due_calendar_to, changed))
    ids = set(session.scalars(timers)) | set(session.scalars(tasks))
    return sorted(i for i in ids if i is not None)


def reschedule_start_timers(session: Session, changed: set[date], actor: str = ACTOR) -> list[Rescheduled]:
    """Recompute the start schedules (timer-start processes) computed over ``changed`` days."""
    if not changed:
        return []
    at, moved = now(session), []
    rows = session.scalars(select(Timer).where(
        Timer.instance_id.is_(None), Timer.status == "waiting", Timer.due_basis_at.is_not(None),
        _overlaps(Timer.due_calendar_from, Timer.due_calendar_to, changed)))
    for row in rows:
        definition = session.get(ProcessDefinition, row.definition_id)
        if row.due_at <= at or definition is None or not definition.start_timer or row.due_basis_at is None:
            continue
        if not _in_range(row.due_calendar_from, row.due_calendar_to, changed):
            continue
        old = row.due_at
        start_due(session, row, definition.start_timer, row.due_basis_at)
        if row.due_at != old:
            moved.append(Rescheduled(None, row.process_key, "start_timer", row.element_id, old, row.due_at))
            audit.record(session, "timer_rescheduled", actor, process_key=row.process_key,
                         data={"element_id": row.element_id, "kind": "start", "old": old, "new": row.due_at})
    session.flush()
    return moved


def reschedule_instance(session: Session, instance_id: int, changed: set[date], actor: str = ACTOR) -> list[Rescheduled]:
    """Recompute one instance's timers and task due dates computed over ``changed`` days (one transaction)."""
    instance, info, run = load_instance(session, instance_id)
    if instance.status != "running":
        return []
    ctx, at, moved = context_of(session), now(session), []
    recomputed = run.reschedule_timers(changed, at)
    for item in recomputed:
        if item.new != item.old:
            moved.append(Rescheduled(instance.id, instance.process_key, "timer", item.element_id, item.old, item.new))
            audit.record(session, "timer_rescheduled", actor, instance_id=instance.id, process_key=instance.process_key,
                         data={"element_id": item.element_id, "old": item.old, "new": item.new})
    tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "open"))
    for task in tasks:
        expression = (info.element_info or {}).get(task.element_id, {}).get("due")
        if not expression or task.due_at is None or task.due_at <= at:
            continue
        if not _in_range(task.due_calendar_from, task.due_calendar_to, changed):
            continue
        with clock_at(ctx.clock, task.created_at):
            due, trace = evaluate_due_traced(ctx.runtime, expression, run.task_data(task.id))
        old = task.due_at
        task.due_at, task.due_at_provisional = due, trace.provisional
        task.due_calendar_from, task.due_calendar_to = trace.first, trace.last
        if due != old:
            moved.append(Rescheduled(instance.id, instance.process_key, "task", task.element_id, old, due))
            audit.record(session, "due_rescheduled", actor, instance_id=instance.id, task_id=task.id,
                         process_key=instance.process_key, data={"element_id": task.element_id, "old": old, "new": due})
    if recomputed:
        save_instance(session, instance, info, run, actor)
        # The save rewrites rows whose due time moved; a confirmed estimate keeps its time but is no longer provisional.
        ids = {item.task_id for item in recomputed}
        for timer in run.waiting_timers():
            if timer.task_id in ids:
                session.execute(update(Timer).where(Timer.instance_id == instance.id, Timer.task_id == timer.task_id)
                                .values(**timer_calendar_columns(timer)))
    session.flush()
    return moved


def _in_range(first: date | None, last: date | None, changed: set[date]) -> bool:
    return first is not None and last is not None and any(first <= d <= last for d in changed)

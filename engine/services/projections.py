"""Keep the queryable rows (inbox, timers, message subscriptions, external tasks) in step with an instance's state.

The instance row's ``summary`` remembers which rows exist, so a command computes the
difference in memory and writes only what changed — no extra SELECTs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.errors import WorkflowError
from engine.persistence import ExternalTask, HumanTask, MessageSubscription, ProcessInstance, Timer
from engine.persistence.driver import send_write, session_connection
from engine.runtime import InstanceRun, WaitingTimer
from engine.runtime.dialect import finished_elements, passed_data
from engine.services import audit
from engine.services.candidates import (
    add_candidate_rows,
    assignee_from_data,
    candidates_for,
    drop_candidate_rows,
    evaluate_date,
    group_from_data,
)
from engine.services.context import context_of, now, plain
from engine.services.texts import process_texts
from engine.services.users import get_user, group_names

SCALAR_TYPES = (str, int, bool)
_TASKS = cast(Table, HumanTask.__table__)
_TIMERS = cast(Table, Timer.__table__)
_SUBSCRIPTIONS = cast(Table, MessageSubscription.__table__)
# Plain Core statements, built once: an ORM bulk UPDATE/DELETE would first work out which objects in the session it
# changes (about 1 ms a fire); the few rows a session holds are kept in step by hand (_mapped) instead.
_INSERT_TASKS = insert(_TASKS)
_CANCEL_TASKS = (update(_TASKS).where(_TASKS.c.id.in_(bindparam("ids", expanding=True)), _TASKS.c.status == "open")
                 .values(status="cancelled", completed_at=bindparam("at")))
_DROP_TIMERS = delete(_TIMERS).where(_TIMERS.c.instance_id == bindparam("instance_id"),
                                     _TIMERS.c.task_id.in_(bindparam("task_ids", expanding=True)))
_DROP_SUBSCRIPTIONS = delete(_SUBSCRIPTIONS).where(_SUBSCRIPTIONS.c.instance_id == bindparam("instance_id"),
                                                   _SUBSCRIPTIONS.c.task_id.in_(bindparam("task_ids", expanding=True)))


def _mapped(session: Session, kind: type, test: Callable[[Any], bool]) -> list[Any]:
    """The objects of ``kind`` the session holds (loaded earlier in the transaction) that pass ``test``."""
    return [o for o in list(session.identity_map.values()) if isinstance(o, kind) and test(o)]


def _drop(session: Session, statement: Any, kind: type, instance_id: int, task_ids: list[str]) -> None:
    """Delete an instance's rows of ``kind`` for ``task_ids``; the session forgets its objects of them."""
    session.execute(statement, {"instance_id": instance_id, "task_ids": task_ids})
    for row in _mapped(session, kind, lambda r: r.instance_id == instance_id and r.task_id in task_ids):
        session.expunge(row)


def _correlation_values(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if isinstance(v, SCALAR_TYPES) and not (isinstance(v, str) and len(v) > 200)}


def timer_calendar_columns(timer: WaitingTimer) -> dict[str, Any]:
    """Return the timer row's calendar columns: the days its due time was computed over, provisional or not."""
    use = timer.calendar
    return {"due_at_provisional": bool(use and use.provisional), "due_calendar_from": use.first if use else None,
            "due_calendar_to": use.last if use else None, "due_basis_at": use.basis if use else None}


def sync_projections(
    session: Session, instance: ProcessInstance, definition: Any, run: InstanceRun, actor: str,
    *, finished_task_id: str | None = None, reopened: dict[str, str | None] | None = None,
) -> NewTasks:
    """Insert, update or delete human-task, timer and subscription rows to match ``run``; return the new task rows
    for the caller to insert once the instance row is written.

    ``reopened`` maps completed tasks made ready again (send back, withdraw) to whom they go: their rows are reused.
    """
    ctx = context_of(session)
    at = now(session)
    summary = dict(instance.summary or {})
    info = definition.element_info or {}
    open_tasks = run.open_tasks()  # one walk of the task tree for the data, the human and the external tasks
    data = run.data(open_tasks)

    # Human tasks
    known_tasks: list[str] = list(summary.get("tasks", []))
    ready = {t.id: t for t in run.ready_tasks(open_tasks)}
    gone = [tid for tid in known_tasks if tid not in ready and tid != finished_task_id]
    if gone:
        session.execute(_CANCEL_TASKS, {"ids": gone, "at": at})
        for row in _mapped(session, HumanTask, lambda r: r.id in gone and r.status == "open"):
            set_committed_value(row, "status", "cancelled")
            set_committed_value(row, "completed_at", at)
        drop_candidate_rows(session, gone)
        for tid in gone:
            audit.record(session, "task_cancelled", actor, instance_id=instance.id, task_id=tid, process_key=instance.process_key)
    customer = data.get("customer") if isinstance(data.get("customer"), str) else None
    texts = process_texts(session, definition.id)
    new_tasks: list[dict[str, Any]] = []
    candidate_rows: list[tuple[str, Any]] = []
    for tid, task in ready.items():
        if tid in known_tasks:
            continue
        element = info.get(task.element_id, {})
        due_at, trace, follow_up_at = None, None, None
        if element.get("due"):
            due_at, trace = evaluate_date(ctx.runtime, element["due"], task.data, task.element_id, "due date")
        if element.get("follow_up"):
            follow_up_at, _ = evaluate_date(ctx.runtime, element["follow_up"], task.data, task.element_id, "follow-up date")
        people = group_from_data(candidates_for(element, task.lane), element, task.data, lambda: group_names(session))
        people = assignee_from_data(people, element, task.data, lambda name: _active_user(session, name))
        if reopened and tid in reopened:
            _reopen_row(session, tid, reopened[tid], people, at, due_at, trace, follow_up_at)
            continue
        new_tasks.append(dict(
            id=tid, instance_id=instance.id, process_key=instance.process_key, element_id=task.element_id,
            title=task.title, titles=texts.element_names(task.element_id, task.title),
            candidate_group=people.group, assignee=people.assignee, form_key=task.form_key, status="open",
            candidates=people.as_json(), follow_up_at=follow_up_at,
            priority=int(element.get("priority", 50)), business_key=instance.business_key, customer=customer,
            created_at=at, due_at=due_at, due_at_provisional=bool(trace and trace.provisional),
            due_calendar_from=trace.first if trace else None, due_calendar_to=trace.last if trace else None,
        ))
        candidate_rows.append((tid, people))
        audit.record(session, "task_created", actor, instance_id=instance.id, task_id=tid, process_key=instance.process_key,
                     data={"element_id": task.element_id, "title": task.title, "group": people.group,
                           "candidates": people.as_json(), "assignee": people.assignee,
                           "due_at": due_at.isoformat() if due_at else None})
    summary["tasks"] = list(ready)
    _record_passes(session, instance, info, run, actor, summary)

    # Timers
    known_timers: dict[str, str | None] = dict(summary.get("timers", {}))
    waiting = {t.task_id: t for t in run.waiting_timers()}
    stale = [tid for tid in known_timers if tid not in waiting]
    if stale:
        _drop(session, _DROP_TIMERS, Timer, instance.id, stale)
    for tid, timer in waiting.items():
        due = timer.due_at.isoformat() if timer.due_at else None
        if tid in known_timers:
            if known_timers[tid] != due and timer.due_at is not None:
                session.execute(
                    update(Timer).where(Timer.instance_id == instance.id, Timer.task_id == tid)
                    .values(due_at=timer.due_at, run_at=timer.due_at, attempts=0, status="waiting", last_error=None,
                            **timer_calendar_columns(timer))
                )
            continue
        if timer.due_at is None:
            continue
        session.add(Timer(
            instance_id=instance.id, definition_id=definition.id, process_key=instance.process_key, task_id=tid,
            element_id=timer.element_id, kind=timer.kind, due_at=timer.due_at, run_at=timer.due_at,
            status="waiting", attempts=0, created_at=at, **timer_calendar_columns(timer),
        ))
    summary["timers"] = {tid: (t.due_at.isoformat() if t.due_at else None) for tid, t in waiting.items()}

    # Message subscriptions
    known_subs: list[str] = list(summary.get("messages", []))
    subs = {m.task_id: m for m in run.waiting_messages()}
    stale_subs = [tid for tid in known_subs if tid not in subs]
    if stale_subs:
        _drop(session, _DROP_SUBSCRIPTIONS, MessageSubscription, instance.id, stale_subs)
    for tid, sub in subs.items():
        if tid not in known_subs:
            session.add(MessageSubscription(
                message_name=sub.message_name, instance_id=instance.id, task_id=tid, element_id=sub.element_id,
                business_key=instance.business_key, correlation=_correlation_values(data)))
    summary["messages"] = list(subs)
    _sync_external_tasks(session, instance, run, summary, open_tasks)

    if customer:
        summary["customer"] = customer
    # Written by save_instance's UPDATE with the state; set as committed so the ORM sees nothing left to flush.
    set_committed_value(instance, "summary", summary)
    return NewTasks(new_tasks, candidate_rows)


@dataclass
class NewTasks:
    """The task rows a command creates, inserted only after its instance UPDATE won the version check: two commands
    racing on one instance create the same task ids, and the loser must meet a Conflict, not a duplicate key."""

    rows: list[dict[str, Any]]
    candidates: list[tuple[str, Any]]

    def insert(self, session: Session) -> None:
        """One Core INSERT for them all (no unit of work); their candidate rows (ORM) follow at the flush."""
        if self.rows:
            send_write(session_connection(session), _INSERT_TASKS, self.rows)
        for task_id, people in self.candidates:
            add_candidate_rows(session, task_id, people)


def _active_user(session: Session, username: str) -> bool:
    """Return True if ``username`` is an active user (a task is never assigned to someone who left)."""
    user = get_user(session, username)
    return user is not None and user.active


def _reopen_row(session: Session, task_id: str, assignee: str | None, people: Any, at: datetime, due_at: datetime | None,
                trace: Any, follow_up_at: datetime | None) -> None:
    """Open a completed task's row again for ``assignee``, with fresh candidates and deadlines."""
    row = session.get(HumanTask, task_id)
    if row is None:
        raise WorkflowError(f"task {task_id} has no row to reopen")
    row.status, row.completed_at, row.completed_by = "open", None, None
    row.assignee, row.owner, row.delegation = assignee, None, None
    row.candidate_group, row.candidates = people.group, people.as_json()
    row.created_at, row.due_at, row.follow_up_at = at, due_at, follow_up_at
    row.due_at_provisional = bool(trace and trace.provisional)
    row.due_calendar_from, row.due_calendar_to = (trace.first, trace.last) if trace else (None, None)
    add_candidate_rows(session, task_id, people)


def _sync_external_tasks(session: Session, instance: ProcessInstance, run: InstanceRun, summary: dict[str, Any],
                         open_tasks: list[Any]) -> None:
    """Write a row per external task the workflow waits on (its variables kept current); cancel rows it left."""
    known: list[str] = list(summary.get("external", []))
    waiting = {t.task_id: t for t in run.waiting_external_tasks(open_tasks)}
    stale = [tid for tid in known if tid not in waiting]
    if stale:  # a completion marked its own row; anything else left (a boundary event, a cancel) was cancelled
        session.execute(update(ExternalTask).where(ExternalTask.id.in_(stale), ExternalTask.status.in_(("open", "incident")))
                        .values(status="cancelled", lock_owner=None, lock_expires_at=None))
    for tid, task in waiting.items():
        if tid in known:
            session.execute(update(ExternalTask).where(ExternalTask.id == tid).values(variables=plain(task.data)))
            continue
        session.add(ExternalTask(id=tid, instance_id=instance.id, process_key=instance.process_key, element_id=task.element_id,
                                 title=task.title, topic=task.topic, business_key=instance.business_key,
                                 variables=plain(task.data), status="open", created_at=now(session)))
    if known or waiting:
        summary["external"] = list(waiting)


def _record_passes(session: Session, instance: ProcessInstance, info: dict[str, Any], run: InstanceRun, actor: str,
                   summary: dict[str, Any]) -> None:
    """Audit each pass through a plain or manual task (they do nothing, but the history shows they were reached)."""
    elements = {element_id for element_id, facts in info.items() if isinstance(facts, dict) and facts.get("pass_through")}
    if not elements:
        return
    known = set(summary.get("passed", []))
    passed = finished_elements(run.workflow, elements)
    for task_id, element_id in passed:
        if task_id not in known:
            data = {"element_id": element_id, "title": info[element_id].get("title") or element_id,
                    "kind": info[element_id]["pass_through"]}
            if info[element_id].get("record"):  # the variables its recordFields property names, as they were then
                values = passed_data(run.workflow, task_id)
                data["data"] = plain({name: values[name] for name in info[element_id]["record"] if name in values})
            audit.record(session, "task_passed", actor, instance_id=instance.id, task_id=task_id,
                         process_key=instance.process_key, data=data)
    summary["passed"] = [task_id for task_id, _ in passed]

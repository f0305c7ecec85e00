"""What lists show beside each instance (its customer, its current steps) and people's display names.

Read from the projections (``process_instance.summary``, ``human_task``, ``users``): a list never loads a workflow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, MessageSubscription, ProcessInstance, Timer, User
from engine.services.tasks import task_view
from engine.services.views import TaskView


@dataclass(frozen=True)
class InstanceOverview:
    """An instance's customer, the tasks open in it now (its current steps) and who started it, by name."""

    customer: str | None = None
    open_tasks: list[TaskView] = field(default_factory=list)
    started_by_name: str | None = None
    # With no task open, a running case waits on timers (their element ids, soonest first), else on messages.
    waiting_on: list[str] = field(default_factory=list)


def instance_overviews(session: Session, instance_ids: Iterable[int]) -> dict[int, InstanceOverview]:
    """Return the customer, open tasks, timers (or awaited messages) and starter's name of each instance, in a fixed
    number of queries whatever their number."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    customers, starters = {}, {}
    for i, summary, started_by in session.execute(select(ProcessInstance.id, ProcessInstance.summary,
                                                         ProcessInstance.started_by).where(ProcessInstance.id.in_(ids))):
        customers[i], starters[i] = (summary or {}).get("customer"), started_by
    names = display_names(session, starters.values())
    tasks: dict[int, list[TaskView]] = {i: [] for i in ids}
    rows = session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(ids), HumanTask.status == "open")
                           .order_by(HumanTask.created_at, HumanTask.id))
    for row in rows:
        tasks[row.instance_id].append(task_view(row))
    timers: dict[int, list[str]] = {i: [] for i in ids}
    for instance_id, element_id in session.execute(
            select(Timer.instance_id, Timer.element_id).where(Timer.instance_id.in_(ids)).order_by(Timer.due_at)):
        if instance_id is not None and element_id not in timers[instance_id]:
            timers[instance_id].append(element_id)
    # A case with no timer waits on messages only (a payment, a write-off): name those events instead.
    quiet = [i for i in ids if not timers[i]]
    if quiet:
        for instance_id, element_id in session.execute(
                select(MessageSubscription.instance_id, MessageSubscription.element_id)
                .where(MessageSubscription.instance_id.in_(quiet)).order_by(MessageSubscription.id)):
            if element_id not in timers[instance_id]:
                timers[instance_id].append(element_id)
    return {i: InstanceOverview(customers.get(i) if isinstance(customers.get(i), str) else None, tasks[i],
                                names.get(starters.get(i) or ""), timers[i]) for i in ids}


def display_names(session: Session, usernames: Iterable[str]) -> dict[str, str]:
    """Return the display name of each known user among ``usernames`` (unknown names are left out)."""
    names = sorted({u for u in usernames if u})
    if not names:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(names)))
    return {username: display or username for username, display in rows}

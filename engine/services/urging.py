"""Urge (催办) whoever holds an open task: a notification, at most once an hour per task and person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import STATUS_ZH, Conflict, InvalidInput, NotAllowed, NotFound
from engine.persistence import HumanTask, Notification, User, membership
from engine.services import audit
from engine.services.candidates import candidate_groups, candidate_users
from engine.services.context import now
from engine.services.instances import may_see_instance
from engine.services.users import active_groups

URGE_EVERY = timedelta(hours=1)
MAX_NOTE = 500


@dataclass(frozen=True)
class UrgeResult:
    """Who was urged, and when the task may be urged again."""

    task_id: str
    instance_id: int
    recipients: list[str]
    next_allowed_at: datetime

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {"task_id": self.task_id, "instance_id": self.instance_id, "recipients": self.recipients,
                "next_allowed_at": self.next_allowed_at.isoformat()}


def urge_recipients(session: Session, row: HumanTask) -> tuple[list[str], list[str]]:
    """Return who an urge reaches (the assignee, else the candidate users and groups' members) and the groups."""
    if row.assignee:
        return [row.assignee], []
    groups = list(candidate_groups(row))
    people = set(candidate_users(row))
    if groups:
        people |= set(session.scalars(select(User.username).join(membership, membership.c.user_id == User.id)
                                      .where(membership.c.group_id.in_(groups), User.active.is_(True))))
    return sorted(people), groups


def may_urge(session: Session, row: HumanTask, actor: str) -> bool:
    """Anyone who may see the instance may urge an open task, except the person holding it."""
    return (row.status == "open" and row.assignee != actor and active_groups(session, actor) is not None
            and may_see_instance(session, row.instance_id, actor))


def urge_task(session: Session, task_id: str, actor: str, note: str = "") -> UrgeResult:
    """Urge the holder (or the candidates) of an open task; Conflict (with when) if they were urged within the hour."""
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found", zh=f"任务 {task_id} 不存在")
    if row.status != "open":
        raise Conflict(f"task {task_id} is {row.status}: only an open task can be urged",
                       zh=f"任务 {task_id} 当前状态为“{STATUS_ZH.get(row.status, row.status)}”：只能催办待办的任务")
    if row.assignee == actor:
        raise NotAllowed(f"task {task_id} is yours: you cannot urge yourself", zh=f"任务 {task_id} 由您办理：不能催办自己")
    if not may_urge(session, row, actor):
        raise NotAllowed(f"{actor} may not urge task {task_id}: only people who may see its case may",
                         zh=f"{actor} 不能催办任务 {task_id}：只有能查看该案件的人可以催办")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters", zh=f"留言不能超过 {MAX_NOTE} 个字符")
    people, groups = urge_recipients(session, row)
    people = [p for p in people if p != actor]
    if not people:
        raise Conflict(f"task {task_id} has nobody to urge (no assignee and no other candidate)",
                       zh=f"任务 {task_id} 没有可催办的人（没有办理人，也没有其他候选人）")
    at = now(session)
    recent = dict(session.execute(
        select(Notification.recipient, func.max(Notification.created_at))
        .where(Notification.task_id == task_id, Notification.kind == "task_urged", Notification.recipient.in_(people),
               Notification.created_at > at - URGE_EVERY).group_by(Notification.recipient)).all())
    fresh = [p for p in people if p not in recent]
    if not fresh:
        again = min(recent.values()) + URGE_EVERY
        raise Conflict(f"task {task_id} was urged within the hour; it may be urged again at "
                       f"{again.isoformat(timespec='minutes')}")
    audit.record(session, "task_urged", actor, instance_id=row.instance_id, task_id=row.id, process_key=row.process_key,
                 data={"element_id": row.element_id, "recipients": fresh, "groups": groups, "note": note or None})
    session.flush()
    return UrgeResult(row.id, row.instance_id, fresh, at + URGE_EVERY)

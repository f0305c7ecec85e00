"""What staff do with tasks beyond claim and complete: transfer (转办), delegate (委派), look back at what they did (已办).

Who may transfer a task: its assignee; for an unclaimed task, any of its candidates; a cs_head or admin always.
The task keeps its instance, form and deadline; only who holds it changes, with a reason in the audit trail.
Who may delegate: its assignee. The delegate's "complete" returns the filled form to the owner (see
engine.services.tasks.return_delegated_task), who completes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotAllowed
from engine.persistence import Group, HumanTask, ProcessInstance
from engine.services import audit
from engine.services.candidates import candidate_groups, drop_candidate_rows, is_candidate
from engine.services.tasks import require_known_user, require_open, task_row, task_view
from engine.services.users import active_groups
from engine.services.views import TaskView
from engine.services.worklist import like_pattern

SUPERVISORS = {"cs_head", "admin"}
MAX_REASON = 1000


def transfer_task(session: Session, task_id: str, actor: str, *, to_user: str | None = None,
                  to_group: str | None = None, reason: str = "") -> TaskView:
    """Hand a task on to a user (who then holds it) or to a group (unclaimed in its queue), with a reason."""
    if (to_user is None) == (to_group is None):
        raise InvalidInput("transfer to exactly one user or one group", zh="转办给且只能给一个用户或一个组")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give a reason for the transfer", zh="请填写转办原因")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters", zh=f"原因不能超过 {MAX_REASON} 个字符")
    row = task_row(session, task_id)
    groups = require_known_user(session, actor)
    require_open(row)
    holder = row.assignee == actor or (row.assignee is None and is_candidate(row, actor, groups))
    if not holder and not groups & SUPERVISORS:
        raise NotAllowed(f"{actor} may not transfer task {task_id}: only its holder or a cs_head/admin may",
                         zh=f"{actor} 不能转办任务 {task_id}：只有任务的办理人或客服部负责人/管理员可以转办")
    before = {"assignee": row.assignee, "groups": list(candidate_groups(row))}
    if to_user is not None:
        if active_groups(session, to_user) is None:
            raise InvalidInput(f"no active user {to_user!r}", zh=f"没有在职用户 {to_user!r}")
        if to_user == row.assignee:
            raise InvalidInput(f"task {task_id} is already {to_user}'s", zh=f"任务 {task_id} 已经由 {to_user} 办理")
        row.assignee = to_user
    else:
        if session.get(Group, to_group) is None:
            raise InvalidInput(f"no group {to_group!r}", zh=f"没有组 {to_group!r}")
        drop_candidate_rows(session, [row.id])
        row.assignee, row.candidate_group = None, to_group
        row.candidates = {"groups": [to_group], "users": []}
    row.owner, row.delegation = None, None  # a transfer ends any delegation: the new holder owns the task
    audit.record(session, "task_transferred", actor, instance_id=row.instance_id, task_id=row.id,
                 process_key=row.process_key,
                 data={"element_id": row.element_id, "from": before, "to_user": to_user, "to_group": to_group,
                       "reason": reason})
    session.flush()
    return task_view(row)


def delegate_task(session: Session, task_id: str, actor: str, to_user: str) -> TaskView:
    """Let a colleague fill a task I hold (委派): they complete the form, and it comes back to me to confirm."""
    row = task_row(session, task_id)
    require_known_user(session, actor)
    require_open(row)
    if row.assignee != actor:
        raise NotAllowed(f"{actor} may not delegate task {task_id}: claim it first (only its assignee may delegate)",
                         zh=f"{actor} 不能委派任务 {task_id}：请先认领（只有办理人可以委派）")
    if row.delegation == "pending":
        raise Conflict(f"task {task_id} is already delegated to {row.assignee}",
                       zh=f"任务 {task_id} 已委派给 {row.assignee}")
    if to_user == actor or active_groups(session, to_user) is None:
        raise InvalidInput(f"no active user {to_user!r} other than you", zh=f"除您以外没有在职用户 {to_user!r}")
    row.owner, row.assignee, row.delegation = actor, to_user, "pending"
    audit.record(session, "task_delegated", actor, instance_id=row.instance_id, task_id=row.id,
                 process_key=row.process_key, data={"element_id": row.element_id, "delegate": to_user})
    session.flush()
    return task_view(row)


@dataclass(frozen=True)
class DoneTask:
    """A task someone completed, with where its instance stands now."""

    task: TaskView
    instance_status: str

    def to_json(self) -> dict[str, object]:
        """Return the ``bpm done --json`` shape: the task's fields plus ``instance_status``."""
        return {**self.task.to_json(), "instance_status": self.instance_status}


def done_tasks(session: Session, user: str, *, query: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[DoneTask], int]:
    """Return the tasks ``user`` completed, latest first, optionally matching a customer, business key or title."""
    stmt = (select(HumanTask, ProcessInstance.status).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(HumanTask.completed_by == user, HumanTask.status == "completed"))
    if query and query.strip():
        pattern = like_pattern(query.strip())
        stmt = stmt.where(or_(HumanTask.customer.ilike(pattern, escape="\\"),
                              HumanTask.business_key.ilike(pattern, escape="\\"),
                              HumanTask.title.ilike(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(HumanTask.completed_at.desc(), HumanTask.id).limit(limit).offset(offset))
    return [DoneTask(task_view(task), status) for task, status in rows], int(total)

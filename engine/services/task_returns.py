"""Taking work back: send back (退回) to an earlier step, withdraw (撤回) my last completed task.

Send back: the holder of an open task (or a cs_head/admin) sends it back to a user task that already ran on the path
that led to it, with a reason. The process continues from that step: the open task and whatever else ran or waits
after that step (tasks, timers, branches split after it) are cancelled; the instance's data is kept; the step's
earlier performer gets it again (their candidates, if they are no longer active) with the reason shown.

Withdraw: whoever completed a task may take it back while nothing after it was done or touched — the next tasks are
still open, unclaimed (or with the assignee they were created with), without drafts, notes or hand-overs, and no
worker or called process has run and no message has left the instance. The task is theirs again, prefilled with
what they submitted; the next tasks disappear; the data is as it was before they completed it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import STATUS_ZH, Conflict, InvalidInput, NotAllowed
from engine.persistence import AuditEvent, ExternalTask, HumanTask, TaskComment
from engine.runtime.rewind import EarlierStep
from engine.services import audit
from engine.services.candidates import is_candidate
from engine.services.context import now, plain
from engine.services.loading import load_instance, require_running, save_instance
from engine.services.tasks import require_known_user, require_open, task_row, task_view
from engine.services.users import active_groups
from engine.services.views import TaskView

SUPERVISORS = {"cs_head", "admin"}
MAX_REASON = 1000
# Events on a next task that do not count as someone having touched it.
UNTOUCHED = {"task_created"}


def _reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"give a reason for sending the task back{what}", zh=f"请填写退回原因{what}")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason is longer than {MAX_REASON} characters", zh=f"原因不能超过 {MAX_REASON} 个字符")
    return reason


def _require_holder(row: HumanTask, actor: str, groups: set[str], verb: str) -> None:
    if row.delegation == "pending" and row.assignee == actor:
        raise NotAllowed(f"{actor} may not {verb} task {row.id}: it is delegated to you to fill in; "
                         f"hand it back to {row.owner}, who decides",
                         zh=f"{actor} 不能退回任务 {row.id}：这是委派给您填写的任务，请交还给 {row.owner} 决定")
    holder = row.assignee == actor or (row.assignee is None and is_candidate(row, actor, groups))
    if not holder and not groups & SUPERVISORS:
        raise NotAllowed(f"{actor} may not {verb} task {row.id}: only its holder or a cs_head/admin may",
                         zh=f"{actor} 不能退回任务 {row.id}：只有办理人或客服部负责人/管理员可以")


def send_back_targets(session: Session, task_id: str) -> list[tuple[EarlierStep, str | None]]:
    """Return the earlier steps open task ``task_id`` may be sent back to, nearest first, with who did each."""
    row = task_row(session, task_id)
    require_open(row)
    _instance, _info, run = load_instance(session, row.instance_id, for_update=False)
    steps = run.earlier_steps(task_id)
    performers = dict(session.execute(
        select(HumanTask.id, HumanTask.completed_by).where(HumanTask.id.in_([s.task_id for s in steps]))).all())
    return [(step, performers.get(step.task_id)) for step in steps]


def send_back_task(session: Session, task_id: str, actor: str, to_element: str, reason: str) -> TaskView:
    """Send an open task back to earlier user task ``to_element``, with a reason; return the reopened task."""
    reason = _reason(reason, "")
    row = task_row(session, task_id)
    groups = require_known_user(session, actor)
    require_open(row)
    _require_holder(row, actor, groups, "send back")
    instance, info, run = load_instance(session, row.instance_id)
    require_running(instance)
    if not run.task_is_open(task_id):
        raise Conflict(f"task {task_id} is no longer open in instance {instance.id}",
                       zh=f"任务 {task_id} 在实例 {instance.id} 中已不再待办")
    step = run.earlier_step(task_id, to_element)
    target = session.get(HumanTask, step.task_id)
    if target is None or target.completed_by is None:
        raise Conflict(f"step {to_element!r} has no recorded performer in instance {instance.id}",
                       zh=f"步骤 {to_element!r} 在实例 {instance.id} 中没有记录办理人")
    performer: str | None = target.completed_by
    if performer is not None and active_groups(session, performer) is None:
        performer = None  # no longer here: the step's candidates get it
    run.reopen(step.task_id, run.data())
    at = now(session)
    audit.record(session, "task_sent_back", actor, instance_id=instance.id, task_id=row.id,
                 process_key=instance.process_key,
                 data={"element_id": row.element_id, "to_element": to_element, "to_task_id": step.task_id,
                       "to_user": performer, "reason": reason})
    save_instance(session, instance, info, run, actor, reopened={step.task_id: performer})
    target.returned = {"kind": "sent_back", "by": actor, "reason": reason, "at": at.isoformat(),
                       "from_element": row.element_id, "from_titles": row.titles or {"en": row.title}}
    session.flush()
    return task_view(target)


def _submitted(session: Session, row: HumanTask) -> dict[str, Any]:
    """Return what was submitted when ``row`` completed (the latest completion in its instance's history)."""
    data = session.scalar(
        select(AuditEvent.data).where(AuditEvent.instance_id == row.instance_id, AuditEvent.type == "task_completed",
                                      AuditEvent.task_id == row.id).order_by(AuditEvent.seq.desc()).limit(1))
    submitted = (data or {}).get("submitted")
    return dict(submitted) if isinstance(submitted, dict) else {}


def _require_untouched(session: Session, instance_id: int, open_ids: list[str], worker_ids: list[str]) -> None:
    if not open_ids and not worker_ids:
        return
    rows = session.scalars(select(HumanTask).where(HumanTask.id.in_(open_ids))).all()
    touched = {r.id: r for r in rows if r.status != "open" or r.draft or r.owner or r.returned}
    events = session.execute(
        select(AuditEvent.task_id, AuditEvent.type, AuditEvent.actor)
        .where(AuditEvent.instance_id == instance_id, AuditEvent.task_id.in_(open_ids),
               AuditEvent.type.notin_(UNTOUCHED))).all()
    noted = session.scalars(select(TaskComment.task_id).where(TaskComment.task_id.in_(open_ids))).all()
    by_id = {r.id: r for r in rows}
    if events or touched or noted:
        task_id = str(events[0][0] if events else next(iter(touched), None) or noted[0])
        found = by_id.get(task_id)
        name = found.title if found is not None else task_id
        who = f" by {events[0][2]}" if events else ""
        raise Conflict(f"the next step ({name}) was already claimed or worked on{who}; the task can no longer be "
                       "withdrawn — ask its holder to send it back", zh=f"下一步（{name}）已被认领或处理{who}；任务不能再撤回，请让其办理人退回")
    locked = session.scalars(select(ExternalTask.id).where(ExternalTask.id.in_(worker_ids),
                                                           ExternalTask.lock_owner.is_not(None))).first()
    if locked is not None:
        raise Conflict("a worker has already picked up the next step; the task can no longer be withdrawn",
                       zh="下一步已被外部工作程序领取；任务不能再撤回")


def withdraw_task(session: Session, task_id: str, actor: str) -> TaskView:
    """Take back a task ``actor`` completed while the next steps are untouched: it is theirs again."""
    row = task_row(session, task_id)
    require_known_user(session, actor)
    if row.status != "completed":
        raise Conflict(f"task {task_id} is {row.status}; only a completed task can be withdrawn",
                       zh=f"任务 {task_id} 当前状态为“{STATUS_ZH.get(row.status, row.status)}”：只能撤回已完成的任务")
    if row.completed_by != actor:
        raise NotAllowed(f"{actor} may not withdraw task {task_id}: only who completed it ({row.completed_by}) may",
                         zh=f"{actor} 不能撤回任务 {task_id}：只有完成它的人（{row.completed_by}）可以撤回")
    instance, info, run = load_instance(session, row.instance_id)
    require_running(instance)
    later = run.successors(task_id)
    done = [s for s in later if not s.open and s.kind in ("person", "worker", "message", "call")]
    if done:
        what = {"person": "the next step was already completed", "worker": "a worker already did the next step",
                "message": "a message was already sent to another process",
                "call": "a called process already ran"}[done[0].kind]
        raise Conflict(f"task {task_id} can no longer be withdrawn: {what} ({done[0].element_id})")
    open_people = [s.task_id for s in later if s.open and s.kind == "person"]
    open_workers = [s.task_id for s in later if s.open and s.kind == "worker"]
    _require_untouched(session, instance.id, open_people, open_workers)
    submitted = _submitted(session, row)
    run.reopen(task_id, None)
    audit.record(session, "task_withdrawn", actor, instance_id=instance.id, task_id=row.id,
                 process_key=instance.process_key,
                 data={"element_id": row.element_id, "cancelled": open_people + open_workers})
    save_instance(session, instance, info, run, actor, reopened={task_id: actor})
    row.draft = plain(submitted) or None
    row.returned = {"kind": "withdrawn", "by": actor, "at": now(session).isoformat()}
    session.flush()
    return task_view(row)

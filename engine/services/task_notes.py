"""What people keep on a task besides completing it: a draft of the form, and comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import STATUS_ZH, Conflict, InvalidInput, NotAllowed, NotFound
from engine.persistence import HumanTask, TaskComment
from engine.services import audit
from engine.services.context import now, plain
from engine.services.tasks import may_work_on
from engine.services.users import active_groups

MAX_COMMENT = 4000


@dataclass(frozen=True)
class CommentView:
    """A comment on a task."""

    id: int
    task_id: str
    author: str
    body: str
    created_at: datetime


def _task_row(session: Session, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found", zh=f"任务 {task_id} 不存在")
    return row


def get_draft(session: Session, task_id: str) -> dict[str, Any] | None:
    """Return the draft saved on a task, if any."""
    return _task_row(session, task_id).draft


def save_draft(session: Session, task_id: str, data: dict[str, Any], actor: str) -> None:
    """Keep unfinished form input on an open task; only who may complete it may save a draft."""
    if not isinstance(data, dict):
        raise InvalidInput("a draft must be an object", zh="草稿必须是一个对象")
    row = _task_row(session, task_id)
    if row.status != "open":
        raise Conflict(f"task {task_id} is already {row.status}",
                       zh=f"任务 {task_id} 已经{STATUS_ZH.get(row.status, row.status)}")
    groups = active_groups(session, actor)
    if groups is None or not may_work_on(row, actor, groups):
        raise NotAllowed(f"{actor} may not work on task {task_id}", zh=f"{actor} 不能办理任务 {task_id}")
    row.draft = plain(data)
    session.flush()


def add_comment(session: Session, task_id: str, body: str, actor: str) -> CommentView:
    """Add a comment to a task; it is also written to the audit trail."""
    text = (body or "").strip()
    if not text or len(text) > MAX_COMMENT:
        raise InvalidInput(f"a comment must be 1–{MAX_COMMENT} characters", zh=f"评论须为 1–{MAX_COMMENT} 个字符")
    row = _task_row(session, task_id)
    if active_groups(session, actor) is None:
        raise NotAllowed(f"unknown or inactive user {actor!r}", zh=f"用户 {actor!r} 不存在或已停用")
    comment = TaskComment(task_id=row.id, author=actor, body=text, created_at=now(session))
    session.add(comment)
    audit.record(session, "task_commented", actor, instance_id=row.instance_id, task_id=row.id,
                 process_key=row.process_key, data={"body": text})
    session.flush()
    return CommentView(comment.id, comment.task_id, comment.author, comment.body, comment.created_at)


def list_comments(session: Session, task_id: str) -> list[CommentView]:
    """Return a task's comments, oldest first."""
    rows = session.scalars(select(TaskComment).where(TaskComment.task_id == task_id)
                           .order_by(TaskComment.created_at, TaskComment.id))
    return [CommentView(c.id, c.task_id, c.author, c.body, c.created_at) for c in rows]

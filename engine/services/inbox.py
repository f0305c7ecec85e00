"""Read-side queries for people's work lists: the inbox, the instances a person may see,
task drafts and comments. Each list is one indexed query; none loads a workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.persistence import Group, HumanTask, ProcessInstance, TaskComment, User, membership
from engine.services import audit
from engine.services.context import context_of, now, plain
from engine.services.instances import instance_view
from engine.services.tasks import may_work_on, task_view
from engine.services.users import get_user, groups_of
from engine.services.views import InstanceView, TaskView
from engine.services.worklist import Worklist, like_pattern

DUE_FILTERS = ("today", "overdue")
MAX_COMMENT = 4000


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox is narrowed to: a process, a candidate group, a due window, a text."""

    process_key: str | None = None
    group: str | None = None
    due: str | None = None  # "today" | "overdue"
    text: str | None = None
    scope: str = "inbox"  # "inbox" | "mine" (assigned to me) | "group" (unclaimed in my groups)


@dataclass(frozen=True)
class InboxPage:
    """One page of the inbox and how many tasks match in all."""

    tasks: list[TaskView]
    total: int


@dataclass(frozen=True)
class InboxCounts:
    """The numbers the navigation shows: tasks assigned to me, unclaimed in my groups, overdue of those."""

    mine: int
    group: int
    overdue: int

    @property
    def total(self) -> int:
        """Return every open task in the inbox."""
        return self.mine + self.group


@dataclass(frozen=True)
class InstanceFilter:
    """Filters of the instance list."""

    process_key: str | None = None
    status: str | None = None
    business_key: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


@dataclass(frozen=True)
class InstancePage:
    """One page of instances and how many match in all."""

    instances: list[InstanceView]
    total: int


@dataclass(frozen=True)
class CommentView:
    """A comment on a task."""

    id: int
    task_id: str
    author: str
    body: str
    created_at: datetime


def _worklist(session: Session, username: str, filters: InboxFilter | None = None) -> Worklist:
    """The worklist of ``username`` narrowed by the inbox filters."""
    filters = filters or InboxFilter()
    due_from = due_before = None
    if filters.due == "overdue":
        due_before = now(session)
    elif filters.due == "today":
        due_from, due_before = _today(session)
    return Worklist(username, frozenset(groups_of(session, username)), filters.scope, process_key=filters.process_key or None,
                    group=filters.group or None, due_from=due_from, due_before=due_before,
                    text=(filters.text or "").strip() or None)


def _today(session: Session) -> tuple[datetime, datetime]:
    tz = ZoneInfo(context_of(session).config.timezone)
    local = now(session).astimezone(tz)
    start = datetime.combine(local.date(), time(0), tzinfo=tz)
    return start, start + timedelta(days=1)


def inbox(session: Session, username: str, filters: InboxFilter | None = None, *, limit: int = 25,
          offset: int = 0) -> InboxPage:
    """Return a page of ``username``'s inbox: overdue first (earliest due), then by due date and priority."""
    worklist = _worklist(session, username, filters)
    statement, params = worklist.page(session.get_bind().dialect.name, limit=limit, offset=offset)
    tasks = [task_view(row) for row in session.scalars(statement, params)]
    if not offset and len(tasks) < limit:
        return InboxPage(tasks, len(tasks))
    statement, params = worklist.counts()
    return InboxPage(tasks, sum(session.execute(statement, params).one()))


def inbox_counts(session: Session, username: str) -> InboxCounts:
    """Count the inbox: mine, my groups' unclaimed, and overdue among them (index-only counts)."""
    statement, params = _worklist(session, username).counts(overdue_at=now(session))
    counts = list(session.execute(statement, params).one())
    totals, overdue = counts[0::2], counts[1::2]
    return InboxCounts(mine=totals[0], group=sum(totals[1:]), overdue=sum(overdue))


def inbox_processes(session: Session, username: str) -> list[str]:
    """Return the process keys that occur in ``username``'s inbox (for the filter menu)."""
    statement, params = _worklist(session, username).process_keys()
    return list(session.scalars(statement, params))


def group_members(session: Session, group: str) -> list[str]:
    """Return the active users of ``group`` by name (for assigning a task)."""
    stmt = (select(User.username).join(membership, membership.c.user_id == User.id)
            .where(membership.c.group_id == group, User.active.is_(True)).order_by(User.username))
    return list(session.scalars(stmt))


def group_names(session: Session) -> dict[str, tuple[str, str]]:
    """Return every group id with its English and Chinese name."""
    return {g.id: (g.name_en, g.name_zh) for g in session.scalars(select(Group).order_by(Group.id))}


def find_instances(
    session: Session, filters: InstanceFilter | None = None, *, participant: str | None = None,
    limit: int = 25, offset: int = 0,
) -> InstancePage:
    """List instances newest first; with ``participant``, only those they started or have a task in.

    "Have a task in" means a task assigned to or completed by them, or one in any of their groups.
    """
    filters = filters or InstanceFilter()
    conditions: list[ColumnElement[bool]] = []
    if filters.process_key:
        conditions.append(ProcessInstance.process_key == filters.process_key)
    if filters.status:
        conditions.append(ProcessInstance.status == filters.status)
    if filters.business_key and filters.business_key.strip():
        conditions.append(ProcessInstance.business_key.ilike(like_pattern(filters.business_key), escape="\\"))
    if filters.started_after:
        conditions.append(ProcessInstance.started_at >= filters.started_after)
    if filters.started_before:
        conditions.append(ProcessInstance.started_at < filters.started_before)
    if participant is not None:
        groups = groups_of(session, participant)
        involved = exists().where(
            HumanTask.instance_id == ProcessInstance.id,
            or_(HumanTask.assignee == participant, HumanTask.completed_by == participant,
                HumanTask.candidate_group.in_(groups)),
        )
        conditions.append(or_(ProcessInstance.started_by == participant, involved))
    stmt = (select(ProcessInstance, func.count().over().label("total")).where(*conditions)
            .order_by(ProcessInstance.id.desc()).limit(limit).offset(offset))
    rows = session.execute(stmt).all()
    total = int(rows[0].total) if rows else 0
    if not rows and offset:
        total = int(session.scalar(select(func.count()).select_from(ProcessInstance).where(*conditions)) or 0)
    return InstancePage([instance_view(r[0]) for r in rows], total)


def may_see_instance(session: Session, instance_id: int, username: str) -> bool:
    """Return True if ``username`` started the instance or has (had) a task in it, as ``find_instances`` says."""
    groups = groups_of(session, username)
    started = select(ProcessInstance.id).where(ProcessInstance.id == instance_id, ProcessInstance.started_by == username)
    involved = select(HumanTask.id).where(
        HumanTask.instance_id == instance_id,
        or_(HumanTask.assignee == username, HumanTask.completed_by == username, HumanTask.candidate_group.in_(groups)),
    )
    return session.scalar(select(exists(started) | exists(involved))) is True


def _task_row(session: Session, task_id: str) -> HumanTask:
    row = session.get(HumanTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} not found")
    return row


def get_draft(session: Session, task_id: str) -> dict[str, Any] | None:
    """Return the draft saved on a task, if any."""
    return _task_row(session, task_id).draft


def save_draft(session: Session, task_id: str, data: dict[str, Any], actor: str) -> None:
    """Keep unfinished form input on an open task; only who may complete it may save a draft."""
    if not isinstance(data, dict):
        raise InvalidInput("a draft must be an object")
    row = _task_row(session, task_id)
    if row.status != "open":
        raise Conflict(f"task {task_id} is already {row.status}")
    if get_user(session, actor) is None or not may_work_on(row, actor, groups_of(session, actor)):
        raise NotAllowed(f"{actor} may not work on task {task_id}")
    row.draft = plain(data)
    session.flush()


def add_comment(session: Session, task_id: str, body: str, actor: str) -> CommentView:
    """Add a comment to a task; it is also written to the audit trail."""
    text = (body or "").strip()
    if not text or len(text) > MAX_COMMENT:
        raise InvalidInput(f"a comment must be 1–{MAX_COMMENT} characters")
    row = _task_row(session, task_id)
    if get_user(session, actor) is None:
        raise NotAllowed(f"unknown user {actor!r}")
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

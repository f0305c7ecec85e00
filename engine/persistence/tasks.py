"""The inbox projection: one row per human task, queried without loading workflows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.persistence.base import Base, UTCDateTime


class HumanTask(Base):
    """A user/manual task: who may work it, by when, with which form."""

    __tablename__ = "human_task"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(255))
    element_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    # The title in every language of the version's catalogue ({"zh-CN": …, "en": …}); None before 0010.
    titles: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)
    candidate_group: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(120), nullable=True)
    form_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=50)
    business_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    customer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The calendar days the due date was computed over, and whether any was provisional (an estimate).
    due_at_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    due_calendar_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_calendar_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    completed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Everyone who may claim it, {"groups": [...], "users": [...]} (candidate_group is the first group); None on rows
    # written before candidates existed, where candidate_group alone says it.
    candidates: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Delegation (委派): who delegated the task (it comes back to them), and "pending" while the delegate works on
    # it, "resolved" once it is back with the owner to confirm.
    owner: Mapped[str | None] = mapped_column(String(120), nullable=True)
    delegation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Why a completed task is open again: sent back (退回) or withdrawn (撤回) — {"kind", "by", "reason", "at", …}.
    returned: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class HumanTaskCandidate(Base):
    """A candidate of an open task beyond its ``candidate_group``: a further group or a candidate user.

    The inbox reads these by (kind, name) for the few tasks that have them; tasks with one group need none.
    """

    __tablename__ = "human_task_candidate"
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "group" | "user"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id"), primary_key=True, index=True)


# The inbox's two kinds of part (engine.services.worklist): an equality prefix, then the inbox
# order (due_at, priority DESC, created_at, id), then process_key so the filter menu is an index-only
# scan. Unclaimed tasks get a partial index: PostgreSQL takes only "=" as a prefix that keeps the order.
_INBOX_ORDER = (HumanTask.due_at, HumanTask.priority.desc(), HumanTask.created_at, HumanTask.id, HumanTask.process_key)
_UNCLAIMED = HumanTask.assignee.is_(None)
Index("ix_task_group_inbox", HumanTask.status, HumanTask.candidate_group, *_INBOX_ORDER,
      postgresql_where=_UNCLAIMED, sqlite_where=_UNCLAIMED)
Index("ix_task_assignee_inbox", HumanTask.status, HumanTask.assignee, *_INBOX_ORDER)
# The calendar notice counts open tasks whose due date rests on a provisional calendar year; few rows, so a partial
# index keeps that count off a scan of every task (it ran on the page of every admin and cs_head).
_PROVISIONAL = HumanTask.due_at_provisional.is_(True)
Index("ix_task_provisional", HumanTask.status, postgresql_where=_PROVISIONAL, sqlite_where=_PROVISIONAL)


class TaskComment(Base):
    """A comment someone left on a task."""

    __tablename__ = "task_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id"), index=True)
    author: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

"""Read-side queries for a person's inbox: the page, its counts, its filter menu, and the
groups it names. Each is a handful of index range scans (see worklist.py); none loads a workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.persistence import Group, User, membership
from engine.services.context import context_of, now
from engine.services.tasks import task_view
from engine.services.users import groups_of
from engine.services.views import TaskView
from engine.services.worklist import Worklist

DUE_FILTERS = ("today", "overdue")


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
    """The numbers the navigation shows (tasks assigned to me, unclaimed in my groups, overdue of those) and the
    processes that occur in the inbox (its filter menu)."""

    mine: int
    group: int
    overdue: int
    processes: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Return every open task in the inbox."""
        return self.mine + self.group


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
          offset: int = 0, known_total: int | None = None) -> InboxPage:
    """Return a page of ``username``'s inbox: overdue first (earliest due), then by due date and priority.

    ``known_total``: the caller already counted these tasks (``inbox_counts(...).total`` of an unfiltered inbox).
    """
    worklist = _worklist(session, username, filters)
    statement, params = worklist.page(session.get_bind().dialect.name, limit=limit, offset=offset)
    tasks = [task_view(row) for row in session.scalars(statement, params)]
    if not offset and len(tasks) < limit:
        return InboxPage(tasks, len(tasks))
    if known_total is not None:
        return InboxPage(tasks, known_total)
    statement, params = worklist.counts()
    return InboxPage(tasks, sum(session.execute(statement, params).one()))


def inbox_counts(session: Session, username: str) -> InboxCounts:
    """Count the inbox — mine, my groups' unclaimed, overdue among them — and list its processes, in one query."""
    worklist = _worklist(session, username)
    statement, params = worklist.summary(overdue_at=now(session))
    mine = group = overdue = 0
    processes: set[str] = set()
    has_mine = worklist.scope in ("inbox", "mine")
    for row in session.execute(statement, params):
        if row.part == 0 and has_mine:
            mine += row.tasks
        else:
            group += row.tasks
        overdue += row.overdue
        processes.add(row.process_key)
    return InboxCounts(mine=mine, group=group, overdue=overdue, processes=tuple(sorted(processes)))


def group_members(session: Session, group: str) -> list[str]:
    """Return the active users of ``group`` by name (for assigning a task)."""
    stmt = (select(User.username).join(membership, membership.c.user_id == User.id)
            .where(membership.c.group_id == group, User.active.is_(True)).order_by(User.username))
    return list(session.scalars(stmt))


def group_names(session: Session) -> dict[str, tuple[str, str]]:
    """Return every group id with its English and Chinese name."""
    return {g.id: (g.name_en, g.name_zh) for g in session.scalars(select(Group).order_by(Group.id))}

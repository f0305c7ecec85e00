"""Work measures: per-person workload, group queues, cycle times; the instance lists behind each figure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.persistence import HumanTask, ProcessInstance
from engine.services.instances import instance_view
from engine.services.reports.common import Durations, Period
from engine.services.views import InstanceView

# -- workload ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonLoad:
    """One person's open tasks now and what they completed in a period (on time: by the due time)."""

    username: str
    open: int = 0
    overdue: int = 0
    completed: int = 0
    completed_with_due: int = 0
    completed_on_time: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """Return the share of completed tasks that had a due time and met it."""
        return self.completed_on_time / self.completed_with_due if self.completed_with_due else None


@dataclass(frozen=True)
class GroupQueue:
    """Open tasks of a group nobody has claimed yet."""

    group: str | None
    unclaimed: int
    overdue: int


def workload(session: Session, period: Period, at: datetime) -> list[PersonLoad]:
    """Return each person's open and overdue tasks (now) and completed tasks (in ``period``), busiest first."""
    people: dict[str, dict[str, int]] = defaultdict(dict)
    overdue = func.count(case((HumanTask.due_at < at, 1)))
    for username, total, late in session.execute(
            select(HumanTask.assignee, func.count(), overdue)
            .where(HumanTask.status == "open", HumanTask.assignee.is_not(None)).group_by(HumanTask.assignee)):
        people[str(username)].update(open=int(total), overdue=int(late))
    with_due = func.count(HumanTask.due_at)
    on_time = func.count(case((HumanTask.completed_at <= HumanTask.due_at, 1)))
    for username, total, due, kept in session.execute(
            select(HumanTask.completed_by, func.count(), with_due, on_time)
            .where(HumanTask.status == "completed", HumanTask.completed_by.is_not(None),
                   period.holds(HumanTask.completed_at))
            .group_by(HumanTask.completed_by)):
        people[str(username)].update(completed=int(total), completed_with_due=int(due), completed_on_time=int(kept))
    loads = [PersonLoad(name, **counts) for name, counts in people.items()]
    return sorted(loads, key=lambda p: (-p.open, -p.completed, p.username))


def open_queues(session: Session, at: datetime) -> list[GroupQueue]:
    """Return the unclaimed open tasks per candidate group, longest queue first."""
    overdue = func.count(case((HumanTask.due_at < at, 1)))
    rows = session.execute(select(HumanTask.candidate_group, func.count(), overdue)
                           .where(HumanTask.status == "open", HumanTask.assignee.is_(None))
                           .group_by(HumanTask.candidate_group))
    return sorted((GroupQueue(g, int(n), int(late)) for g, n, late in rows), key=lambda q: (-q.unclaimed, q.group or ""))


def open_task_instance_ids(session: Session, *, assignee: str | None = None, group: str | None = None) -> list[int]:
    """Return the instances with open tasks assigned to ``assignee``, or unclaimed in ``group`` ("" = no group)."""
    stmt = select(HumanTask.instance_id).where(HumanTask.status == "open").distinct()
    if assignee is not None:
        stmt = stmt.where(HumanTask.assignee == assignee)
    else:
        stmt = stmt.where(HumanTask.assignee.is_(None))
        stmt = stmt.where(HumanTask.candidate_group.is_(None) if group == "" else HumanTask.candidate_group == group)
    return sorted(session.scalars(stmt), reverse=True)


# -- cycle times ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleTime:
    """How long a process (``element_id`` None) or one of its steps took, started/created → ended/completed."""

    process_key: str
    element_id: str | None
    title: str
    durations: Durations


def process_cycle_times(session: Session, period: Period) -> list[CycleTime]:
    """Summarise instances completed in ``period`` per process, started → ended."""
    rows = session.execute(select(ProcessInstance.process_key, ProcessInstance.started_at, ProcessInstance.ended_at)
                           .where(ProcessInstance.status == "completed", period.holds(ProcessInstance.ended_at)))
    took: dict[str, list[timedelta]] = defaultdict(list)
    for key, started, ended in rows:
        if ended is not None:
            took[key].append(ended - started)
    return [CycleTime(key, None, key, Durations.of(values)) for key, values in sorted(took.items())]


def step_cycle_times(session: Session, period: Period) -> list[CycleTime]:
    """Summarise human tasks completed in ``period`` per process and step, created → completed."""
    rows = session.execute(select(HumanTask.process_key, HumanTask.element_id, HumanTask.title, HumanTask.created_at,
                                  HumanTask.completed_at)
                           .where(HumanTask.status == "completed", period.holds(HumanTask.completed_at)))
    took: dict[tuple[str, str], list[timedelta]] = defaultdict(list)
    titles: dict[tuple[str, str], str] = {}
    for key, element, title, created, completed in rows:
        if completed is None:
            continue
        took[(key, element)].append(completed - created)
        titles[(key, element)] = title
    return [CycleTime(k[0], k[1], titles[k], Durations.of(v)) for k, v in sorted(took.items())]


def completed_instance_ids(session: Session, period: Period, process_key: str, element_id: str | None = None) -> list[int]:
    """Return the instances behind a cycle-time figure: completed in ``period`` (or with that step completed)."""
    if element_id is None:
        stmt = select(ProcessInstance.id).where(ProcessInstance.process_key == process_key,
                                                ProcessInstance.status == "completed", period.holds(ProcessInstance.ended_at))
    else:
        stmt = select(HumanTask.instance_id).distinct().where(
            HumanTask.process_key == process_key, HumanTask.element_id == element_id, HumanTask.status == "completed",
            period.holds(HumanTask.completed_at))
    return sorted(session.scalars(stmt), reverse=True)


# -- instance lists ------------------------------------------------------------------------------------------


def instances_by_ids(session: Session, ids: Sequence[int], *, limit: int = 25, offset: int = 0) -> tuple[list[InstanceView], int]:
    """Return one page of the instances ``ids`` (newest first) and how many there are."""
    wanted = sorted(set(ids), reverse=True)
    page = wanted[offset:offset + limit]
    rows = {r.id: r for r in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(page)))}
    return [instance_view(rows[i]) for i in page if i in rows], len(wanted)


def instance_counts_by_definition(session: Session) -> dict[int, tuple[int, int]]:
    """Return, per definition version id, how many of its instances are running and how many exist."""
    running = func.count(case((ProcessInstance.status == "running", 1)))
    rows = session.execute(select(ProcessInstance.definition_id, running, func.count())
                           .group_by(ProcessInstance.definition_id))
    return {int(d): (int(r), int(n)) for d, r, n in rows}


def instances_on_definition(session: Session, definition_id: int, *, limit: int = 25,
                            offset: int = 0) -> tuple[list[InstanceView], int]:
    """Return one page of the instances running on (or finished on) a definition version, newest first."""
    condition = ProcessInstance.definition_id == definition_id
    total = int(session.scalar(select(func.count()).select_from(ProcessInstance).where(condition)) or 0)
    rows = session.scalars(select(ProcessInstance).where(condition).order_by(ProcessInstance.id.desc())
                           .limit(limit).offset(offset))
    return [instance_view(r) for r in rows], total

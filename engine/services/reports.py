"""What managers measure (DOMAIN.md), computed from rows: SLA breaches, response rates, handling and
cycle times, receivables ageing, workload; and the instance lists behind each figure.

Every measure reads projection and audit rows (``sla_breach``, ``human_task``, ``process_instance``,
``audit_event``) and never loads a workflow. Durations and ageing are computed in Python from the
fetched timestamps, so SQLite and PostgreSQL give the same numbers.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from engine.persistence import AuditEvent, HumanTask, ProcessInstance, SlaBreach
from engine.services.instances import instance_view
from engine.services.views import InstanceView

EXCEPTION_PROCESS = "exception_escalation"
RECEIVABLES_PROCESS = "receivables_collection"
FIRST_RESPONSE = "first_response"
SERIOUS = ("complaint", "accident")
SEVERITIES = ("general", "complaint", "accident")
COMPLAINT_TARGET = timedelta(hours=2)
AGEING_BUCKETS = ("not_due", "0-30", "31-60", "61-90", "90+")
# Who holds an overdue receivable says how far it escalated (DOMAIN.md process 4, steps 3-5).
ESCALATION_LEVELS = {"cs_rep": 0, "cs_head": 1, "vp": 2}


@dataclass(frozen=True)
class Period:
    """A half-open time window ``[since, until)``."""

    since: datetime
    until: datetime

    def holds(self, column: Any) -> ColumnElement[bool]:
        """Return the SQL condition "column lies in this window"."""
        return and_(column >= self.since, column < self.until)


@dataclass(frozen=True)
class Durations:
    """Summary of a set of durations (all None when the set is empty)."""

    count: int
    mean: timedelta | None
    median: timedelta | None
    longest: timedelta | None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> Durations:
        """Summarise ``values``."""
        if not values:
            return cls(0, None, None, None)
        seconds = [v.total_seconds() for v in values]
        return cls(len(values), timedelta(seconds=statistics.fmean(seconds)),
                   timedelta(seconds=statistics.median(seconds)), max(values))


# -- SLA breaches -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaCount:
    """How often one step's deadline was missed, by the group responsible for it."""

    process_key: str
    step: str
    group: str | None
    count: int


def sla_breaches(session: Session, period: Period) -> list[SlaCount]:
    """Count SLA breaches recorded in ``period`` by process, step and responsible group, most first."""
    count = func.count(SlaBreach.id)
    stmt = (select(SlaBreach.process_key, SlaBreach.step, SlaBreach.responsible_group, count)
            .where(period.holds(SlaBreach.recorded_at))
            .group_by(SlaBreach.process_key, SlaBreach.step, SlaBreach.responsible_group)
            .order_by(count.desc(), SlaBreach.process_key, SlaBreach.step))
    return [SlaCount(r[0], r[1], r[2], int(r[3])) for r in session.execute(stmt)]


def sla_breach_instance_ids(session: Session, period: Period, *, process_key: str | None = None,
                            step: str | None = None, group: str | None = None) -> list[int]:
    """Return the instances behind an SLA-breach figure (``group=""`` means "no group")."""
    stmt = select(SlaBreach.instance_id).where(period.holds(SlaBreach.recorded_at)).distinct()
    if process_key:
        stmt = stmt.where(SlaBreach.process_key == process_key)
    if step:
        stmt = stmt.where(SlaBreach.step == step)
    if group == "":
        stmt = stmt.where(SlaBreach.responsible_group.is_(None))
    elif group is not None:
        stmt = stmt.where(SlaBreach.responsible_group == group)
    return sorted(session.scalars(stmt), reverse=True)


# -- first response within 30 minutes ----------------------------------------------------------------


@dataclass(frozen=True)
class ResponseRate:
    """First responses to complaints and accidents: in time, late, or still open and not yet late."""

    ids: dict[str, list[int]]  # "met" | "missed" | "pending" → instance ids

    def count(self, outcome: str) -> int:
        """Return how many instances had ``outcome``."""
        return len(self.ids.get(outcome, []))

    @property
    def rate(self) -> float | None:
        """Return met / (met + missed), None before anything was decided."""
        decided = self.count("met") + self.count("missed")
        return self.count("met") / decided if decided else None


def first_response_rate(session: Session, period: Period) -> ResponseRate:
    """Rate first responses of exception_escalation instances whose response task was created in ``period``.

    Only complaints and accidents get a first-response task, so its rows are the denominator. A response
    is late when an SLA breach with step ``first_response`` was recorded for the instance, or when the task
    was completed after its due time (a timer fired late by the scheduler records no breach).
    """
    tasks = session.execute(
        select(HumanTask.instance_id, HumanTask.status, HumanTask.due_at, HumanTask.completed_at)
        .where(HumanTask.process_key == EXCEPTION_PROCESS, HumanTask.element_id == FIRST_RESPONSE,
               period.holds(HumanTask.created_at))
        .order_by(HumanTask.created_at)
    ).all()
    breached = set(session.scalars(
        select(SlaBreach.instance_id).where(SlaBreach.process_key == EXCEPTION_PROCESS, SlaBreach.step == FIRST_RESPONSE,
                                            SlaBreach.instance_id.in_(sorted({t.instance_id for t in tasks})))))
    outcome: dict[int, str] = {}
    for t in tasks:
        if t.instance_id in outcome:
            continue  # the first response task of an instance decides
        late = t.completed_at is not None and t.due_at is not None and t.completed_at > t.due_at
        if t.instance_id in breached or late:
            outcome[t.instance_id] = "missed"
        elif t.status == "completed":
            outcome[t.instance_id] = "met"
        elif t.status == "open":
            outcome[t.instance_id] = "pending"
    ids: dict[str, list[int]] = {"met": [], "missed": [], "pending": []}
    for instance_id, result in outcome.items():
        ids[result].append(instance_id)
    return ResponseRate({k: sorted(v, reverse=True) for k, v in ids.items()})


# -- complaint handling time ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintStats:
    """Complaints and accidents started in a period, and how long the closed ones took."""

    ids: dict[str, list[int]]  # "all" | "closed" | "within" | "over" | "open" → instance ids
    durations: Durations
    target: timedelta

    def count(self, which: str) -> int:
        """Return how many instances are in ``which``."""
        return len(self.ids.get(which, []))

    @property
    def within_rate(self) -> float | None:
        """Return the share of closed complaints handled within the target, None when none closed."""
        closed = self.count("closed")
        return self.count("within") / closed if closed else None


def start_data(session: Session, instance_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return the data each instance was started with (its ``instance_started`` audit event)."""
    wanted = list(set(instance_ids))
    found: dict[int, dict[str, Any]] = {}
    for chunk in (wanted[i:i + 500] for i in range(0, len(wanted), 500)):
        rows = session.execute(select(AuditEvent.instance_id, AuditEvent.data)
                               .where(AuditEvent.type == "instance_started", AuditEvent.instance_id.in_(chunk)))
        for instance_id, data in rows:
            payload = (data or {}).get("data")
            if instance_id is not None:
                found[int(instance_id)] = payload if isinstance(payload, dict) else {}
    return found


def severity_of(data: dict[str, Any]) -> str:
    """Return an exception's severity as the process registers it: a repeat is raised one level."""
    severity = str(data.get("severity") or "general").strip().lower()
    if severity not in SEVERITIES:
        return severity
    try:
        repeat = bool(data.get("is_repeat")) or int(data.get("repeat_count") or 0) > 0
    except (TypeError, ValueError):
        repeat = bool(data.get("is_repeat"))
    if repeat and severity != "accident":
        return SEVERITIES[SEVERITIES.index(severity) + 1]
    return severity


def complaint_handling(session: Session, period: Period, target: timedelta = COMPLAINT_TARGET) -> ComplaintStats:
    """Summarise exception_escalation complaints and accidents started in ``period``, started→ended.

    An instance counts when its start data says complaint or accident (a repeat raises the severity),
    or when it has a first-response task (the process took the complaint path).
    """
    instances = session.execute(
        select(ProcessInstance.id, ProcessInstance.status, ProcessInstance.started_at, ProcessInstance.ended_at)
        .where(ProcessInstance.process_key == EXCEPTION_PROCESS, period.holds(ProcessInstance.started_at))
    ).all()
    data = start_data(session, (i.id for i in instances))
    responded = set(session.scalars(select(HumanTask.instance_id).where(
        HumanTask.process_key == EXCEPTION_PROCESS, HumanTask.element_id == FIRST_RESPONSE,
        HumanTask.instance_id.in_([i.id for i in instances]))))
    ids: dict[str, list[int]] = {"all": [], "closed": [], "within": [], "over": [], "open": []}
    durations = []
    for inst in sorted(instances, key=lambda i: i.id, reverse=True):
        if inst.status == "cancelled":
            continue
        if severity_of(data.get(inst.id, {})) not in SERIOUS and inst.id not in responded:
            continue
        ids["all"].append(inst.id)
        if inst.status == "completed" and inst.ended_at is not None:
            took = inst.ended_at - inst.started_at
            durations.append(took)
            ids["closed"].append(inst.id)
            ids["within" if took <= target else "over"].append(inst.id)
        else:
            ids["open"].append(inst.id)
    return ComplaintStats(ids, Durations.of(durations), target)


# -- receivables -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Receivable:
    """An open receivable as the rows tell it: the invoiced amount, its due date, how far it escalated."""

    instance_id: int
    customer: str
    invoice_no: str
    amount: Decimal | None
    currency: str
    due_date: date | None
    days_overdue: int | None
    level: int | None  # 0 cs_rep chases, 1 cs_head took over, 2 the vp coordinates; None: not chased yet

    @property
    def bucket(self) -> str:
        """Return the ageing bucket: not_due, 0-30, 31-60, 61-90 or 90+ days past the due date."""
        days = self.days_overdue
        if days is None or days < 0:
            return "not_due"
        if days <= 30:
            return "0-30"
        if days <= 60:
            return "31-60"
        if days <= 90:
            return "61-90"
        return "90+"


@dataclass(frozen=True)
class AmountRow:
    """A figure of receivables: a bucket or level, one currency, how many and how much."""

    key: str
    currency: str
    count: int
    amount: Decimal
    ids: list[int] = field(default_factory=list)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def open_receivables(session: Session, today: date) -> list[Receivable]:
    """Return the running receivables_collection instances, oldest due date first.

    Amounts and due dates come from the start data; partial payments and the ledger's open amount are
    not projected into rows, so the amount is the invoiced one. The escalation level is the highest
    group that has been given a collection task (cs_rep 0, cs_head 1, vp 2).
    """
    instance_ids = list(session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.process_key == RECEIVABLES_PROCESS, ProcessInstance.status == "running")))
    data = start_data(session, instance_ids)
    levels: dict[int, int] = {}
    rows = session.execute(select(HumanTask.instance_id, HumanTask.candidate_group).where(
        HumanTask.process_key == RECEIVABLES_PROCESS, HumanTask.instance_id.in_(instance_ids),
        HumanTask.candidate_group.in_(list(ESCALATION_LEVELS))).distinct())
    for instance_id, group in rows:
        levels[instance_id] = max(levels.get(instance_id, 0), ESCALATION_LEVELS.get(group or "", 0))
    result = []
    for instance_id in instance_ids:
        start = data.get(instance_id, {})
        due = _date(start.get("due_date"))
        result.append(Receivable(
            instance_id=instance_id, customer=str(start.get("customer") or ""), invoice_no=str(start.get("invoice_no") or ""),
            amount=_decimal(start.get("amount")), currency=str(start.get("currency") or "CNY"), due_date=due,
            days_overdue=(today - due).days if due else None, level=levels.get(instance_id),
        ))
    return sorted(result, key=lambda r: (r.due_date or date.max, r.instance_id))


def _amount_rows(receivables: Iterable[Receivable], key: Any, order: Sequence[str]) -> list[AmountRow]:
    groups: dict[tuple[str, str], list[Receivable]] = defaultdict(list)
    for r in receivables:
        groups[(key(r), r.currency)].append(r)
    rows = [AmountRow(k, cur, len(items), sum((r.amount or Decimal(0) for r in items), Decimal(0)),
                      [r.instance_id for r in items]) for (k, cur), items in groups.items()]
    return sorted(rows, key=lambda row: (order.index(row.key) if row.key in order else len(order), row.currency))


def ageing(receivables: Iterable[Receivable]) -> list[AmountRow]:
    """Sum open receivables per ageing bucket and currency, in bucket order."""
    return _amount_rows(receivables, lambda r: r.bucket, AGEING_BUCKETS)


def escalation(receivables: Iterable[Receivable]) -> list[AmountRow]:
    """Sum open receivables per escalation level ("none", "0", "1", "2") and currency."""
    return _amount_rows(receivables, lambda r: "none" if r.level is None else str(r.level), ("none", "0", "1", "2"))


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
